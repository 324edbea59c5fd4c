//! Per-host "come back later" (429, and `Retry-After` on 429/503). Invariant: once a host asked to wait, no
//! request of this agent goes to it before the time it named (capped at 24 h after its answer), in this process
//! and — when the agent persists the deadline in its database — in every later process of the app; a deadline
//! further ahead than that cap cannot have been set by this clock's present (the clock was set back) and is
//! treated as passed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::clock::{Clock, SystemClock, parse_rfc3339};
use crate::schedule;
use crate::store;

/// Longest wait a server can impose on a host (Capgo caps `Retry-After` at 24 h too).
pub const MAX_WAIT_MS: i64 = 24 * 3_600_000;
/// Wait after a 429 that named no time.
pub const DEFAULT_429_WAIT_MS: i64 = 60_000;

/// A `Retry-After` value as sent: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this many seconds from the answer.
    Seconds(u64),
    /// Wait until this time (Unix ms).
    At(i64),
}

impl RetryAfter {
    /// Parses delay-seconds (`120`) or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`); anything else is `None`.
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let v = value.trim();
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            return Some(RetryAfter::Seconds(v.parse().unwrap_or(u64::MAX)));
        }
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
        let mut parts = v.split_whitespace();
        let (_day, d, mon, y, time, zone) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || zone != "GMT" || d.len() != 2 || y.len() != 4 || time.len() != 8 {
            return None;
        }
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let m = MONTHS.iter().position(|n| *n == mon)? + 1;
        parse_rfc3339(&format!("{y}-{m:02}-{d}T{time}Z")).map(RetryAfter::At)
    }

    /// The deadline this value sets for an answer received at `now_ms`, capped at [`MAX_WAIT_MS`].
    pub fn deadline(self, now_ms: i64) -> i64 {
        let until = match self {
            RetryAfter::Seconds(s) => now_ms.saturating_add(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)),
            RetryAfter::At(t) => t,
        };
        until.clamp(now_ms, now_ms.saturating_add(MAX_WAIT_MS))
    }
}

/// The per-host deadlines of one agent: in memory, and in the state database when one is attached.
pub(crate) struct HostBackoff {
    clock: Arc<dyn Clock>,
    db_path: Option<PathBuf>,
    db: Mutex<Option<rusqlite::Connection>>,
    memory: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for HostBackoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBackoff").field("db_path", &self.db_path).finish_non_exhaustive()
    }
}

impl HostBackoff {
    /// Deadlines kept in this process only, on the system clock.
    pub(crate) fn in_memory() -> HostBackoff {
        HostBackoff::new(Arc::new(SystemClock), None)
    }

    /// Deadlines on `clock`, persisted in the state database at `db_path` when given (already migrated by the
    /// agent; its own connection, as the agent's may be inside a transaction while a request runs; each write is
    /// one autocommit statement).
    pub(crate) fn new(clock: Arc<dyn Clock>, db_path: Option<PathBuf>) -> HostBackoff {
        HostBackoff { clock, db_path, db: Mutex::new(None), memory: Mutex::new(HashMap::new()) }
    }

    /// Until when `host` asked to be left alone, if that time has not come yet.
    pub(crate) fn not_before(&self, host: &str) -> Option<i64> {
        let remembered = self.memory.lock().unwrap_or_else(|p| p.into_inner()).get(host).copied();
        let persisted = self.with_db(|c| store::host_backoff_get(c, host)).flatten();
        let deadline = remembered.into_iter().chain(persisted).max()?;
        schedule::pending_deadline(deadline, self.clock.now_ms(), MAX_WAIT_MS)
    }

    /// Records what a 429 / 503 answer asks for; returns the deadline it set, if any.
    pub(crate) fn record(&self, host: &str, status: StatusCode, headers: &HeaderMap) -> Option<i64> {
        let now = self.clock.now_ms();
        let retry_after = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(RetryAfter::parse);
        let until = match (status.as_u16(), retry_after) {
            (429 | 503, Some(r)) => r.deadline(now),
            (429, None) => now + DEFAULT_429_WAIT_MS,
            _ => return None,
        };
        if until <= now {
            return None;
        }
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).insert(host.to_owned(), until);
        if self.with_db(|c| store::host_backoff_set(c, host, until, now)).is_none() {
            log::warn!("could not persist the Retry-After of {host}; it is honoured by this process only");
        }
        Some(until)
    }

    /// Runs `f` on the lazily opened database; `None` without one or when it fails (logged: the deadline is
    /// still honoured in memory).
    fn with_db<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> crate::Result<T>) -> Option<T> {
        let path = self.db_path.as_ref()?;
        let mut db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        if db.is_none() {
            let opened = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
                .and_then(|c| {
                    c.busy_timeout(std::time::Duration::from_secs(2))?;
                    c.execute_batch("PRAGMA synchronous=FULL;")?;
                    Ok(c)
                });
            match opened {
                Ok(c) => *db = Some(c),
                Err(e) => {
                    log::warn!("host backoff: opening {}: {e}", path.display());
                    return None;
                }
            }
        }
        let conn = db.as_ref()?;
        f(conn).map_err(|e| log::warn!("host backoff: {e}")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seconds_and_http_dates_and_caps_the_wait() {
        assert_eq!(RetryAfter::parse(" 120 "), Some(RetryAfter::Seconds(120)));
        let at = parse_rfc3339("1994-11-06T08:49:37Z").unwrap();
        assert_eq!(RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(RetryAfter::At(at)));
        for bad in ["", "-1", "soon", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 6 Nov 1994 08:49:37 GMT"] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad}");
        }
        assert_eq!(RetryAfter::Seconds(u64::MAX).deadline(1_000), 1_000 + MAX_WAIT_MS);
        assert_eq!(RetryAfter::At(0).deadline(1_000), 1_000, "a date in the past means now");
        assert_eq!(RetryAfter::Seconds(7).deadline(1_000), 8_000);
    }
}
