//! Errors of starting the server and of the stats database. Invariant: every message names the cause and the fix.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start, or why a stats operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The repo directory is missing or unusable.
    #[error("cannot serve the repo {path}: {reason}")]
    Repo { path: PathBuf, reason: String },
    /// The listening address could not be bound.
    #[error("could not listen on {addr}: {source}; pick a free port or another address")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid server configuration: {0}")]
    Config(String),
    /// The stats database could not be opened, migrated, read or written.
    #[error("stats database {path}: {message}")]
    Stats { path: PathBuf, message: String },
    /// Another I/O failure.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}
