//! Safe zip extraction into a staging directory. Invariant: nothing is ever written outside the staging
//! directory, and a hostile archive is rejected before any file is created.
// (stub: being implemented)
