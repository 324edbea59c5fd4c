//! agent (stub)
