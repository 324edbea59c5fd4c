//! The exported error. Invariant: every core error maps to exactly one variant named for the caller's next
//! decision (retry, free space, give up on the artifact, fix the call, fix the config, nothing), by an exhaustive
//! match with no catch-all, and the core's message (which names the cause and the fix) is kept whole.

use airlock_core::Error;

/// Errors named for the caller's next decision. In Kotlin this is `UpdateException`, in Swift `UpdateError`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum UpdateError {
    /// Retry later; nothing changed (network trouble, expired catalog).
    #[error("network error: {reason}")]
    Network {
        /// What failed and what to do.
        reason: String,
    },
    /// Free space and retry; the current bundle is untouched.
    #[error("not enough disk space: {reason}")]
    DiskFull {
        /// What failed and what to do.
        reason: String,
    },
    /// Local storage or database trouble: retry later.
    #[error("storage error: {reason}")]
    Storage {
        /// What failed and what to do.
        reason: String,
    },
    /// The bundle or metadata is corrupt, forged, unsafe or not for this device; deleted, not retried as is.
    #[error("bundle rejected ({code}): {reason}")]
    Rejected {
        /// Stable machine-readable rejection code (`checksum_mismatch`, `bad_signature`, ...).
        code: String,
        /// The cause and the fix.
        reason: String,
    },
    /// The call was wrong (unknown id, bundle in use, bad argument).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What was wrong with the call.
        reason: String,
    },
    /// The configuration is wrong; the message names the key.
    #[error("invalid configuration: {reason}")]
    Config {
        /// The key at fault and what it must be.
        reason: String,
    },
    /// Cancelled by the caller through its `CancelToken`.
    #[error("cancelled")]
    Cancelled,
}

impl From<Error> for UpdateError {
    fn from(e: Error) -> Self {
        match e {
            Error::Network(reason) => UpdateError::Network { reason },
            Error::DiskFull(reason) => UpdateError::DiskFull { reason },
            Error::Storage(reason) => UpdateError::Storage { reason },
            Error::Database(reason) => UpdateError::Storage { reason: format!("state database: {reason}") },
            Error::Rejected { code, message } => UpdateError::Rejected { code: code.to_string(), reason: message },
            Error::InvalidRequest(reason) => UpdateError::InvalidRequest { reason },
            Error::Config(reason) => UpdateError::Config { reason },
            Error::Cancelled => UpdateError::Cancelled,
            Error::Throttled { message, .. } => UpdateError::Network { reason: message },
            e @ Error::CorruptInTransit { .. } => UpdateError::Network { reason: e.to_string() },
        }
    }
}

/// Result of every fallible exported call.
pub type Result<T, E = UpdateError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_keeps_its_class_and_message() {
        let cases = [
            (Error::Network("timeout".into()), "network error: timeout"),
            (Error::DiskFull("full".into()), "not enough disk space: full"),
            (Error::Storage("eio".into()), "storage error: eio"),
            (Error::Database("locked".into()), "storage error: state database: locked"),
            (Error::rejected("checksum_mismatch", "bad hash"), "bundle rejected (checksum_mismatch): bad hash"),
            (Error::InvalidRequest("no bundle".into()), "invalid request: no bundle"),
            (
                Error::Config("CapacitorUpdater.x must be y".into()),
                "invalid configuration: CapacitorUpdater.x must be y",
            ),
            (Error::Cancelled, "cancelled"),
        ];
        for (core, text) in cases {
            assert_eq!(UpdateError::from(core).to_string(), text);
        }
        match UpdateError::from(Error::rejected("bad_signature", "forged")) {
            UpdateError::Rejected { code, reason } => {
                assert_eq!((code.as_str(), reason.as_str()), ("bad_signature", "forged"))
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
    }
}
