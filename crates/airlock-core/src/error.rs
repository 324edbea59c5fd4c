//! Errors of the engine. Invariant: every error says which class it belongs to (transient, rejected, usage,
//! cancelled) so the caller knows whether to retry, give up on the artifact, or fix its call.

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the caller should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Retry later (network, disk full, I/O, locked storage, bytes corrupt in transit); nothing was rolled back
    /// or purged.
    Transient,
    /// The artifact is corrupt, forged or not for this device; it was deleted and will not be retried as is.
    Rejected,
    /// The call itself was wrong (unknown bundle id, bad argument, bad configuration).
    Usage,
    /// The caller cancelled the operation; partial downloads are kept for a later resume.
    Cancelled,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Network trouble: retry later; nothing on disk changed except a resumable partial download.
    #[error("network error: {0}")]
    Network(String),
    /// The device is out of space: free some space and retry; the current bundle is untouched.
    #[error("not enough disk space: {0}")]
    DiskFull(String),
    /// Local storage failed (I/O error, permission, locked data protection): retry later.
    #[error("storage error: {0}")]
    Storage(String),
    /// The state database could not be read or written: retry later.
    #[error("state database error: {0}")]
    Database(String),
    /// The bundle or its metadata is corrupt, forged, unsafe or not for this device.
    #[error("bundle rejected ({code}): {message}")]
    Rejected { code: &'static str, message: String },
    /// The call was wrong: unknown id, forbidden operation, bad argument.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The configuration is wrong; the message names the key.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// A server asked clients to wait (HTTP 429, or `Retry-After`): nothing is sent to `host` before `until_ms`
    /// (Unix ms, at most 24 h after its answer). Transient; `message` names the time (RFC 3339).
    #[error("network error: {message}")]
    Throttled { host: String, until_ms: i64, message: String },
    /// The bytes served did not match what was signed or asked for (a middlebox page, a CDN re-encoding, a
    /// spliced range, an endless body, a torn partial file): they were discarded and the download starts from
    /// zero at the next attempt. Transient: the release is never remembered as rejected.
    #[error("download corrupt in transit ({code}): {message}")]
    CorruptInTransit { code: &'static str, message: String },
}

impl Error {
    /// A rejection with a stable machine-readable `code` and a message that names the cause and the fix.
    pub fn rejected(code: &'static str, message: impl Into<String>) -> Self {
        Error::Rejected { code, message: message.into() }
    }

    /// Bytes that did not match what was signed, with a stable `code` and a message naming cause and fix.
    pub fn corrupt_in_transit(code: &'static str, message: impl Into<String>) -> Self {
        Error::CorruptInTransit { code, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Network(_) | Error::DiskFull(_) | Error::Storage(_) | Error::Database(_) => ErrorKind::Transient,
            Error::Throttled { .. } => ErrorKind::Transient,
            Error::CorruptInTransit { .. } => ErrorKind::Transient,
            Error::Rejected { .. } => ErrorKind::Rejected,
            Error::InvalidRequest(_) | Error::Config(_) => ErrorKind::Usage,
            Error::Cancelled => ErrorKind::Cancelled,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }

    /// Stable short name of the error class, used in JSON output and stats.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Network(_) => "network",
            Error::DiskFull(_) => "disk_full",
            Error::Storage(_) => "storage",
            Error::Database(_) => "database",
            Error::Rejected { .. } => "rejected",
            Error::InvalidRequest(_) => "invalid_request",
            Error::Config(_) => "config",
            Error::Cancelled => "cancelled",
            Error::Throttled { .. } => "network",
            Error::CorruptInTransit { .. } => "corrupt_in_transit",
        }
    }

    /// When the next request to the server that answered is allowed (Unix ms), if it asked to wait.
    pub fn retry_at_ms(&self) -> Option<i64> {
        match self {
            Error::Throttled { until_ms, .. } => Some(*until_ms),
            _ => None,
        }
    }

    /// The rejection code, if this is a rejection.
    pub fn reject_code(&self) -> Option<&'static str> {
        match self {
            Error::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The stable code of bytes corrupt in transit (`checksum_mismatch`, `size_mismatch`, `too_long`,
    /// `content_encoding`, `pin_mismatch`, `corrupt_object`), if this is such an error.
    pub fn transit_code(&self) -> Option<&'static str> {
        match self {
            Error::CorruptInTransit { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Wraps an I/O error with what we were doing, classifying a full disk separately.
    pub fn io(context: impl std::fmt::Display, err: io::Error) -> Self {
        if is_disk_full(&err) {
            Error::DiskFull(format!("{context}: {err}; free some space on the device and retry"))
        } else if err.raw_os_error() == Some(libc::ELOOP) {
            // Only `O_NOFOLLOW` opens meet ELOOP in the data directory: a link was planted where a file belongs.
            Error::Storage(format!(
                "{context}: it is a symbolic link, which airlock never follows in its data directory; remove the \
                 link (or clear the app's data) and retry"
            ))
        } else {
            Error::Storage(format!("{context}: {err}"))
        }
    }
}

/// True for ENOSPC / EDQUOT and their std equivalents.
pub fn is_disk_full(err: &io::Error) -> bool {
    matches!(err.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
        || matches!(err.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::io("file operation failed", err)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(e, _) = &err
            && e.code == rusqlite::ErrorCode::DiskFull
        {
            return Error::DiskFull(format!("state database: {err}; free some space and retry"));
        }
        Error::Database(err.to_string())
    }
}
