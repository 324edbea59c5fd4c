//! Foreign event listener and cancellation. Invariant: events reach the listener on the thread doing the work,
//! after the state change they report is durable (the core's rule), every core event maps to one `AgentEvent`
//! variant (exhaustive match), and a listener that throws never breaks the operation that emitted the event.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use airlock_core::events::{Cancel, Event, EventSink};

use crate::types::BundleInfo;

/// Events, one enum; the Capacitor shells forward each one to JS under Capgo's event name (in each variant's doc).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum AgentEvent {
    /// `download`: progress by bytes, `percent` 0–100.
    Download {
        /// Progress, 0–100.
        percent: u32,
        /// The bundle being downloaded.
        bundle: BundleInfo,
    },
    /// `downloadComplete`.
    DownloadComplete {
        /// The downloaded bundle.
        bundle: BundleInfo,
    },
    /// `downloadFailed`.
    DownloadFailed {
        /// The version that failed.
        version: String,
        /// Why, and what to do.
        reason: String,
    },
    /// `updateAvailable`.
    UpdateAvailable {
        /// The bundle ready to apply.
        bundle: BundleInfo,
    },
    /// `set`: a bundle was applied.
    Set {
        /// The bundle now current.
        bundle: BundleInfo,
    },
    /// `setNext`: a bundle was queued for the next launch / reload.
    SetNext {
        /// The queued bundle.
        bundle: BundleInfo,
    },
    /// `updateFailed`: a bundle was rolled back because it never reported ready.
    UpdateFailed {
        /// The failed bundle.
        bundle: BundleInfo,
    },
    /// `appReady`.
    AppReady {
        /// The bundle that reported ready.
        bundle: BundleInfo,
        /// Capgo's status text.
        status: String,
    },
    /// `noNeedUpdate`: a check found nothing to install.
    NoNeedUpdate {
        /// The bundle serving now.
        bundle: BundleInfo,
    },
    /// `updateCheckResult`: the outcome of every check.
    UpdateCheckResult {
        /// Outcome kind.
        kind: String,
        /// Human-readable detail.
        message: Option<String>,
        /// Version offered, if any.
        version: Option<String>,
        /// The bundle serving now.
        bundle: BundleInfo,
    },
    /// `breakingAvailable` (shells also emit `majorAvailable`): a release needs a newer native app.
    BreakingAvailable {
        /// The version that needs a newer native app.
        version: String,
    },
    /// `channelPrivate`: `setChannel` was refused.
    ChannelPrivate {
        /// The channel asked for.
        channel: String,
        /// Why it was refused.
        message: String,
    },
}

impl From<Event> for AgentEvent {
    fn from(e: Event) -> Self {
        match e {
            Event::Download { percent, bundle } => AgentEvent::Download { percent, bundle: bundle.into() },
            Event::DownloadComplete { bundle } => AgentEvent::DownloadComplete { bundle: bundle.into() },
            Event::DownloadFailed { version, reason } => AgentEvent::DownloadFailed { version, reason },
            Event::UpdateAvailable { bundle } => AgentEvent::UpdateAvailable { bundle: bundle.into() },
            Event::Set { bundle } => AgentEvent::Set { bundle: bundle.into() },
            Event::SetNext { bundle } => AgentEvent::SetNext { bundle: bundle.into() },
            Event::UpdateFailed { bundle } => AgentEvent::UpdateFailed { bundle: bundle.into() },
            Event::AppReady { bundle, status } => AgentEvent::AppReady { bundle: bundle.into(), status },
            Event::NoNeedUpdate { bundle } => AgentEvent::NoNeedUpdate { bundle: bundle.into() },
            Event::UpdateCheckResult { kind, message, version, bundle } => {
                AgentEvent::UpdateCheckResult { kind, message, version, bundle: bundle.into() }
            }
            Event::BreakingAvailable { version } => AgentEvent::BreakingAvailable { version },
            Event::ChannelPrivate { channel, message } => AgentEvent::ChannelPrivate { channel, message },
        }
    }
}

/// Receives the agent's events (download progress included).
///
/// Called synchronously **on the thread doing the work** (the thread that called `download`,
/// `check_and_update`, `set_current`...), after the change it reports is durable. Return quickly: hop to your
/// own executor / main thread for anything slow. An exception thrown here is logged and otherwise ignored.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: AgentEvent);
}

/// Adapts the foreign listener to the core's `EventSink`.
pub(crate) struct ListenerSink(pub(crate) Arc<dyn EventListener>);

impl EventSink for ListenerSink {
    fn on_event(&self, event: Event) {
        let name = event.name();
        if catch_unwind(AssertUnwindSafe(|| self.0.on_event(event.into()))).is_err() {
            log::warn!("the event listener failed on a {name} event; the event is dropped, the operation goes on");
        }
    }
}

/// Cancellation handle for long calls (`download`, `check_and_update`, `latest`...): cancel it from any thread and
/// the call returns `UpdateError.Cancelled` at its next check point. A partial download is kept for a resume.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken(Cancel);

#[uniffi::export]
impl CancelToken {
    /// A token nobody has cancelled yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelToken(Cancel::new()))
    }

    /// Cancels every call that holds this token, now and later.
    pub fn cancel(&self) {
        self.0.cancel()
    }

    /// True once `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

impl CancelToken {
    /// The core handle.
    pub(crate) fn core(&self) -> &Cancel {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_core::events::{BundleInfo as CoreBundle, BundleStatus};

    struct Throwing;

    impl EventListener for Throwing {
        fn on_event(&self, _event: AgentEvent) {
            panic!("the foreign listener threw");
        }
    }

    fn bundle() -> CoreBundle {
        CoreBundle {
            id: "b1".into(),
            version: "1.0.1".into(),
            downloaded: "2026-01-01T00:00:00.000Z".into(),
            checksum: "00".into(),
            status: BundleStatus::Pending,
            link: None,
            comment: Some("notes".into()),
        }
    }

    #[test]
    fn a_listener_that_throws_does_not_break_the_operation_that_emitted() {
        ListenerSink(Arc::new(Throwing)).on_event(Event::DownloadComplete { bundle: bundle() });
    }

    #[test]
    fn events_keep_every_field() {
        let event = AgentEvent::from(Event::UpdateCheckResult {
            kind: "up_to_date".into(),
            message: Some("m".into()),
            version: None,
            bundle: bundle(),
        });
        let AgentEvent::UpdateCheckResult { kind, message, version, bundle } = event else {
            panic!("wrong variant: {event:?}")
        };
        assert_eq!((kind.as_str(), message.as_deref(), version), ("up_to_date", Some("m"), None));
        assert_eq!((bundle.id.as_str(), bundle.comment.as_deref()), ("b1", Some("notes")));
        assert_eq!(bundle.status, crate::types::BundleStatus::Pending);
    }

    #[test]
    fn a_cancel_token_cancels_its_core_handle() {
        let token = CancelToken::new();
        assert!(token.core().check().is_ok());
        token.cancel();
        assert!(token.is_cancelled());
        assert!(matches!(token.core().check(), Err(airlock_core::Error::Cancelled)));
    }
}
