//! boot (stub)
