//! uniffi bindings of the Airlock agent (namespace `airlock`): the Kotlin, Swift and Python face of
//! `airlock-core`. Invariant: thin — exported types mirror the core's, every call is a one-line delegation, every
//! core error maps to one `UpdateError` variant, and nothing here keeps state of its own except the process-wide
//! log sink.

// Library code never unwraps or panics on anything input-dependent (DESIGN §1); clippy enforces it.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

uniffi::setup_scaffolding!("airlock");

mod agent;
mod callbacks;
mod error;
mod logging;
mod types;

pub use agent::Agent;
pub use callbacks::{AgentEvent, CancelToken, EventListener};
pub use error::UpdateError;
pub use logging::{LogLevel, LogSink};
pub use types::{
    ApplyMode, AutoOutcome, BundleInfo, BundleStatus, ChannelEntry, ChannelInfo, CurrentBundle, DelayCondition,
    DelayKind, DeviceFacts, DownloadRequest, FlushResult, LatestVersion, Launch, ReadyResult, Trigger,
};

/// Routes the library's logs to `sink` (replacing any earlier sink), at `max_level` and above. On a device they
/// also go to logcat / os_log. The sink is called on the thread that logs.
#[uniffi::export]
pub fn set_log_sink(sink: std::sync::Arc<dyn LogSink>, max_level: LogLevel) {
    logging::set_log_sink(sink, max_level)
}

/// Version of the agent library (JS `getPluginVersion()`).
#[uniffi::export]
pub fn plugin_version() -> String {
    airlock_core::PLUGIN_VERSION.to_string()
}
