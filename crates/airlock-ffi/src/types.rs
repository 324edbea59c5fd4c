//! The records and enums of the exported API. Invariant: each mirrors one core type field for field (Capgo's
//! shapes, DESIGN §8), times are RFC 3339 strings or i64 milliseconds (never `Duration`/`SystemTime`), and every
//! conversion is an exhaustive match, so a new core variant fails the build here instead of being dropped.

use std::collections::BTreeMap;

use airlock_core::agent::Current;
use airlock_core::boot::Ready;
use airlock_core::lifecycle;
use airlock_core::schedule::{self, Apply};
use airlock_core::{events, install, source, stats};

/// Facts about the app and the device that the shell supplies at start-up (DESIGN §9 `device` object).
#[derive(Debug, Clone, uniffi::Record)]
pub struct DeviceFacts {
    /// `ios`, `android`, or `linux` (the desktop simulator).
    pub platform: String,
    /// The app's bundle / package id.
    pub app_id: String,
    /// Native version name (CFBundleShortVersionString / versionName); the builtin bundle's version.
    pub native_version: String,
    /// Native build number (CFBundleVersion / versionCode); a change resets to builtin when configured.
    pub native_build: String,
    /// OS version, reported to update servers.
    pub os_version: String,
    /// Directory of the bundle shipped inside the app.
    pub builtin_dir: String,
    /// Private, no-backup app directory; the agent keeps everything under `<data_dir>/airlock/`.
    pub data_dir: String,
    /// True on an emulator or simulator.
    pub is_emulator: bool,
    /// True in a production (release) build.
    pub is_prod: bool,
    /// The device's current offset from UTC in minutes (120 for UTC+2), for catalog maintenance windows.
    pub utc_offset_minutes: i32,
}

impl DeviceFacts {
    /// The `device` JSON object the core parses (camelCase keys, DESIGN §9), so it validates what it always does.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "platform": self.platform,
            "appId": self.app_id,
            "nativeVersion": self.native_version,
            "nativeBuild": self.native_build,
            "osVersion": self.os_version,
            "builtinDir": self.builtin_dir,
            "dataDir": self.data_dir,
            "isEmulator": self.is_emulator,
            "isProd": self.is_prod,
            "utcOffsetMinutes": self.utc_offset_minutes,
        })
    }
}

/// Capgo's `BundleStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum BundleStatus {
    /// Being downloaded.
    Downloading,
    /// Installed, not yet proven by `notifyAppReady()`.
    Pending,
    /// Reached `notifyAppReady()` at least once.
    Success,
    /// Failed to boot or was rejected; blocklisted.
    Error,
    /// Deleted from the device.
    Deleted,
}

impl From<events::BundleStatus> for BundleStatus {
    fn from(s: events::BundleStatus) -> Self {
        match s {
            events::BundleStatus::Downloading => BundleStatus::Downloading,
            events::BundleStatus::Pending => BundleStatus::Pending,
            events::BundleStatus::Success => BundleStatus::Success,
            events::BundleStatus::Error => BundleStatus::Error,
            events::BundleStatus::Deleted => BundleStatus::Deleted,
        }
    }
}

/// Capgo's `BundleInfo`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BundleInfo {
    /// Bundle id (`builtin` for the bundle shipped in the app).
    pub id: String,
    /// Version name.
    pub version: String,
    /// RFC 3339 time the download finished (`1970-01-01T00:00:00.000Z` for builtin).
    pub downloaded: String,
    /// SHA-256 (hex) of the bundle as served.
    pub checksum: String,
    /// Where the bundle is in its life.
    pub status: BundleStatus,
    /// Release notes link from the publisher.
    pub link: Option<String>,
    /// Publisher's comment.
    pub comment: Option<String>,
}

impl From<events::BundleInfo> for BundleInfo {
    fn from(b: events::BundleInfo) -> Self {
        BundleInfo {
            id: b.id,
            version: b.version,
            downloaded: b.downloaded,
            checksum: b.checksum,
            status: b.status.into(),
            link: b.link,
            comment: b.comment,
        }
    }
}

/// What the shell must load: the bundle, the directory to serve, and the per-load ready token that the page sends
/// back through `notifyAppReady()` (and the shell's ready timer passes to `ready_timeout`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Launch {
    /// The bundle to load.
    pub bundle: BundleInfo,
    /// Directory to point the WebView at.
    pub path: String,
    /// Ready token of this load.
    pub token: String,
}

impl From<events::Launch> for Launch {
    fn from(l: events::Launch) -> Self {
        Launch { bundle: l.bundle.into(), path: l.path, token: l.token }
    }
}

/// `current()`: the serving bundle and the native (builtin) version.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CurrentBundle {
    /// The bundle serving now.
    pub bundle: BundleInfo,
    /// Version of the builtin bundle.
    pub native: String,
}

impl From<Current> for CurrentBundle {
    fn from(c: Current) -> Self {
        CurrentBundle { bundle: c.bundle.into(), native: c.native }
    }
}

/// JS `download({url, version, checksum?, sessionKey?})`, or a signed release manifest URL (`manifest_url`).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct DownloadRequest {
    /// URL of the bundle zip (unsigned download).
    #[uniffi(default = None)]
    pub url: Option<String>,
    /// Version name of the bundle.
    #[uniffi(default = None)]
    pub version: Option<String>,
    /// Expected SHA-256 (hex) of the bundle as served; a mismatch is `Rejected { code: "checksum_mismatch" }`.
    #[uniffi(default = None)]
    pub checksum: Option<String>,
    /// Capgo's RSA session key (Capgo-encrypted bundles): not supported yet, refused.
    #[uniffi(default = None)]
    pub session_key: Option<String>,
    /// URL of a signed release manifest; the agent verifies it and takes url, version and checksum from it.
    #[uniffi(default = None)]
    pub manifest_url: Option<String>,
}

impl From<DownloadRequest> for install::DownloadRequest {
    fn from(r: DownloadRequest) -> Self {
        install::DownloadRequest {
            url: r.url,
            version: r.version,
            checksum: r.checksum,
            session_key: r.session_key,
            manifest_url: r.manifest_url,
        }
    }
}

/// What `notify_app_ready` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ReadyResult {
    /// The token belonged to the load in progress: its bundle is now `success` and the last good one.
    Blessed {
        /// The blessed bundle.
        bundle: BundleInfo,
    },
    /// The token is stale or nothing is booting; nothing changed.
    Ignored {
        /// The bundle serving now.
        current: BundleInfo,
        /// Why the call changed nothing.
        reason: String,
    },
}

impl From<Ready> for ReadyResult {
    fn from(r: Ready) -> Self {
        match r {
            Ready::Blessed(bundle) => ReadyResult::Blessed { bundle: bundle.into() },
            Ready::Ignored { current, reason } => ReadyResult::Ignored { current: current.into(), reason },
        }
    }
}

/// Capgo's delay condition kinds (`setMultiDelay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DelayKind {
    /// Satisfied on a return to the foreground after at least `value` ms in the background (default 0).
    Background,
    /// Satisfied at the next process start.
    Kill,
    /// Satisfied once the time is after `value` (RFC 3339).
    Date,
    /// Satisfied once the native version is at least `value`.
    NativeVersion,
}

/// One of Capgo's delay conditions: the queued bundle applies only once every condition is satisfied.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DelayCondition {
    /// What has to happen.
    pub kind: DelayKind,
    /// The kind's parameter: ms for `Background`, an RFC 3339 time for `Date`, a version for `NativeVersion`.
    #[uniffi(default = None)]
    pub value: Option<String>,
}

impl From<DelayCondition> for schedule::DelayCondition {
    fn from(c: DelayCondition) -> Self {
        let kind = match c.kind {
            DelayKind::Background => schedule::DelayKind::Background,
            DelayKind::Kill => schedule::DelayKind::Kill,
            DelayKind::Date => schedule::DelayKind::Date,
            DelayKind::NativeVersion => schedule::DelayKind::NativeVersion,
        };
        schedule::DelayCondition { kind, value: c.value }
    }
}

/// Capgo's `LatestVersion`: what the channel offers this device (`getLatest`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LatestVersion {
    /// Version offered (the current one when nothing newer targets the device).
    pub version: String,
    /// SHA-256 (hex) of the offered bundle.
    pub checksum: Option<String>,
    /// URL of the signed release manifest; pass it as `DownloadRequest.manifest_url`.
    pub url: Option<String>,
    /// `up_to_date` when nothing targets the device.
    pub kind: Option<String>,
    /// Human-readable detail.
    pub message: Option<String>,
    /// Error detail from a server that reported one.
    pub error: Option<String>,
    /// True when the release needs a newer native app.
    pub breaking: Option<bool>,
    /// Release notes link.
    pub link: Option<String>,
    /// Publisher's comment.
    pub comment: Option<String>,
}

impl From<source::LatestVersion> for LatestVersion {
    fn from(l: source::LatestVersion) -> Self {
        LatestVersion {
            version: l.version,
            checksum: l.checksum,
            url: l.url,
            kind: l.kind,
            message: l.message,
            error: l.error,
            breaking: l.breaking,
            link: l.link,
            comment: l.comment,
        }
    }
}

/// The channel state of `getChannel()` / the answer of `setChannel()`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChannelInfo {
    /// The channel this device reads.
    pub channel: String,
    /// `set`, `self_assigned` or `default`.
    pub status: String,
    /// Whether the app may assign a channel itself.
    pub allow_set: bool,
}

impl From<source::ChannelInfo> for ChannelInfo {
    fn from(c: source::ChannelInfo) -> Self {
        ChannelInfo { channel: c.channel, status: c.status, allow_set: c.allow_set }
    }
}

/// One entry of `listChannels()`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChannelEntry {
    /// Channel id.
    pub id: String,
    /// Channel name.
    pub name: String,
    /// Whether the channel is public.
    pub public: bool,
    /// Whether devices may assign themselves to it.
    pub allow_self_set: bool,
}

impl From<source::ChannelEntry> for ChannelEntry {
    fn from(c: source::ChannelEntry) -> Self {
        ChannelEntry { id: c.id, name: c.name, public: c.public, allow_self_set: c.allow_self_set }
    }
}

/// Why an automatic update check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Trigger {
    /// The process started (call right after `launch()`).
    ColdStart,
    /// The app came back to the foreground.
    Foreground,
    /// The `periodCheckDelay` timer fired.
    Periodic,
    /// The app asked (`triggerUpdateCheck()`).
    Manual,
}

impl From<Trigger> for schedule::Trigger {
    fn from(t: Trigger) -> Self {
        match t {
            Trigger::ColdStart => schedule::Trigger::ColdStart,
            Trigger::Foreground => schedule::Trigger::Foreground,
            Trigger::Periodic => schedule::Trigger::Periodic,
            Trigger::Manual => schedule::Trigger::Manual,
        }
    }
}

/// When a bundle downloaded by the automatic pipeline applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ApplyMode {
    /// Applied now (the outcome is `Reload`).
    Now,
    /// Queued; applied at the next background or the next launch, whichever comes first.
    NextBackground,
    /// Queued; applied at the next cold start only.
    NextLaunch,
    /// Not queued, only announced (`updateAvailable`): the app installs it itself.
    Never,
}

impl From<Apply> for ApplyMode {
    fn from(a: Apply) -> Self {
        match a {
            Apply::Now => ApplyMode::Now,
            Apply::NextBackground => ApplyMode::NextBackground,
            Apply::NextLaunch => ApplyMode::NextLaunch,
            Apply::Never => ApplyMode::Never,
        }
    }
}

/// What the automatic pipeline did, and what the shell must do about it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum AutoOutcome {
    /// No check ran (mode `off`, not due yet, another check running...).
    Skipped {
        /// Why no check ran.
        reason: String,
    },
    /// The check found nothing to install.
    UpToDate,
    /// The bundle is on the device and applies as `apply` says.
    Downloaded {
        /// The downloaded bundle.
        bundle: BundleInfo,
        /// When it applies.
        apply: ApplyMode,
    },
    /// The bundle is current now: the shell must load this launch and call nothing else.
    Reload {
        /// What to load.
        launch: Launch,
    },
}

impl From<lifecycle::AutoOutcome> for AutoOutcome {
    fn from(o: lifecycle::AutoOutcome) -> Self {
        match o {
            lifecycle::AutoOutcome::Skipped { reason } => AutoOutcome::Skipped { reason },
            lifecycle::AutoOutcome::UpToDate => AutoOutcome::UpToDate,
            lifecycle::AutoOutcome::Downloaded { bundle, apply } => {
                AutoOutcome::Downloaded { bundle: bundle.into(), apply: apply.into() }
            }
            lifecycle::AutoOutcome::Reload(launch) => AutoOutcome::Reload { launch: launch.into() },
        }
    }
}

/// What a stats flush did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct FlushResult {
    /// Events the collector acknowledged in this flush.
    pub sent: u64,
    /// Events still queued.
    pub remaining: u64,
    /// Events dropped since install because the queue was full.
    pub dropped_total: u64,
}

impl From<stats::Flush> for FlushResult {
    fn from(f: stats::Flush) -> Self {
        FlushResult { sent: f.sent, remaining: f.remaining, dropped_total: f.dropped_total }
    }
}

/// Attributes cross the boundary as a hash map; the core keeps them sorted.
pub(crate) fn sorted(map: std::collections::HashMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter().collect()
}
