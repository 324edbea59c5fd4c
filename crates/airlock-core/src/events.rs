//! Shapes shared by the API and the shells: bundle info, launch decisions, events, cancellation.
//! Invariant: these mirror Capgo's JSON shapes (`BundleInfo`, event payloads) field for field.

use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// Id of the bundle shipped inside the app.
pub const BUILTIN_ID: &str = "builtin";

/// Capgo's `BundleStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleStatus {
    Downloading,
    Pending,
    Success,
    Error,
    Deleted,
}

impl BundleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BundleStatus::Downloading => "downloading",
            BundleStatus::Pending => "pending",
            BundleStatus::Success => "success",
            BundleStatus::Error => "error",
            BundleStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "downloading" => BundleStatus::Downloading,
            "pending" => BundleStatus::Pending,
            "success" => BundleStatus::Success,
            "error" => BundleStatus::Error,
            "deleted" => BundleStatus::Deleted,
            _ => return None,
        })
    }
}

/// Capgo's `BundleInfo`: `{id, version, downloaded, checksum, status, link?, comment?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleInfo {
    pub id: String,
    pub version: String,
    /// ISO-8601 time the bundle finished downloading (`1970-01-01T00:00:00.000Z` for builtin).
    pub downloaded: String,
    /// SHA-256 (hex) of the bundle as served.
    pub checksum: String,
    pub status: BundleStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl BundleInfo {
    pub fn is_builtin(&self) -> bool {
        self.id == BUILTIN_ID
    }
}

/// What the shell must load now: a bundle, the directory to point the WebView at, and the per-load ready token
/// the page must send back through `notifyAppReady()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Launch {
    pub bundle: BundleInfo,
    pub path: String,
    pub token: String,
}

/// Events delivered to the shell, which forwards them to JS listeners under Capgo's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Event {
    /// Download progress by bytes; `percent` is 0–100.
    Download {
        percent: u32,
        bundle: BundleInfo,
    },
    DownloadComplete {
        bundle: BundleInfo,
    },
    /// `version` is the version that failed; `reason` says why and what to do.
    DownloadFailed {
        version: String,
        reason: String,
    },
    UpdateAvailable {
        bundle: BundleInfo,
    },
    /// A bundle was applied (retained by the shell until a listener consumes it).
    Set {
        bundle: BundleInfo,
    },
    SetNext {
        bundle: BundleInfo,
    },
    /// A bundle was rolled back because it never reported ready.
    UpdateFailed {
        bundle: BundleInfo,
    },
    AppReady {
        bundle: BundleInfo,
        status: String,
    },
    /// A check found nothing to install.
    NoNeedUpdate {
        bundle: BundleInfo,
    },
    /// The outcome of every check (Capgo 8.45+), before the legacy event.
    UpdateCheckResult {
        kind: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        bundle: BundleInfo,
    },
    /// A release needs a newer native app (Capgo's `breakingAvailable`; shells also emit `majorAvailable`).
    BreakingAvailable {
        version: String,
    },
    /// `setChannel` was refused.
    ChannelPrivate {
        channel: String,
        message: String,
    },
}

impl Event {
    /// The JS event name (Capgo's).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Download { .. } => "download",
            Event::DownloadComplete { .. } => "downloadComplete",
            Event::DownloadFailed { .. } => "downloadFailed",
            Event::UpdateAvailable { .. } => "updateAvailable",
            Event::Set { .. } => "set",
            Event::SetNext { .. } => "setNext",
            Event::UpdateFailed { .. } => "updateFailed",
            Event::AppReady { .. } => "appReady",
            Event::NoNeedUpdate { .. } => "noNeedUpdate",
            Event::UpdateCheckResult { .. } => "updateCheckResult",
            Event::BreakingAvailable { .. } => "breakingAvailable",
            Event::ChannelPrivate { .. } => "channelPrivate",
        }
    }
}

/// Receives events. Called from the thread doing the work; implementations must not block for long.
pub trait EventSink: Send + Sync {
    fn on_event(&self, event: Event);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopSink;

impl EventSink for NoopSink {
    fn on_event(&self, _event: Event) {}
}

/// Collects events in memory (tests and the device simulator).
#[derive(Debug, Default)]
pub struct MemorySink(std::sync::Mutex<Vec<Event>>);

impl MemorySink {
    pub fn take(&self) -> Vec<Event> {
        match self.0.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

impl EventSink for MemorySink {
    fn on_event(&self, event: Event) {
        match self.0.lock() {
            Ok(mut v) => v.push(event),
            Err(p) => p.into_inner().push(event),
        }
    }
}

/// Cooperative cancellation handle, cheap to clone and share across threads.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Cancel::default()
    }
    /// A handle nobody will cancel.
    pub fn never() -> Self {
        Cancel::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    /// `Err(Error::Cancelled)` once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() { Err(Error::Cancelled) } else { Ok(()) }
    }
}
