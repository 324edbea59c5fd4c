//! layout (stub)
