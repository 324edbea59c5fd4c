//! Test support shared by the core tests, the CLI tests and the benchmarks. Invariant: everything here is real
//! (a real loopback HTTP server, real zips, real keys); nothing mocks what can run on this machine.

pub mod bundle;
pub mod server;
pub mod snapshot;
pub mod tmpfs;
pub mod zipcraft;
