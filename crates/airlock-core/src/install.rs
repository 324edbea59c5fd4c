//! install (stub)
