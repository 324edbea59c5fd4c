//! semver (stub)
