//! Airlock core: the live-update engine. Invariant: no FFI types in this crate's API; every public operation is
//! synchronous, thread-safe, and leaves the previously serving bundle untouched when it fails.

// Library code never unwraps or panics on anything input-dependent (DESIGN §1); clippy enforces it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod agent;
pub mod boot;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod crypto;
mod delta;
pub mod envelope;
pub mod error;
pub mod events;
pub mod fsutil;
pub mod http;
pub mod identity;
pub mod install;
pub mod layout;
pub mod lifecycle;
pub mod release;
pub mod schedule;
pub mod segment;
pub mod semver;
pub mod source;
pub mod stats;
pub mod store;
mod treecheck;
pub mod unpack;

pub use agent::Agent;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, DeviceFacts, PluginConfig};
pub use error::{Error, ErrorKind, Result};
pub use events::{BundleInfo, BundleStatus, Cancel, Event, EventSink, Launch, NoopSink};

/// Version of the agent, reported as `getPluginVersion()` and sent to servers.
pub const PLUGIN_VERSION: &str = env!("CARGO_PKG_VERSION");
