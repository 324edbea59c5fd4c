//! release (stub)
