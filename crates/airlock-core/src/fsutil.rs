//! fsutil (stub)
