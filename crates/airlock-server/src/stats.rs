//! Stats storage in SQLite. Invariant: every event is stored at most once (`INSERT OR IGNORE` keyed by its `id`),
//! a batch is one transaction acknowledged only after it commits, and the database runs in WAL mode with
//! `synchronous=FULL`, so an acknowledged event survives a crash or a restart.

mod event;

pub use event::{BatchError, MAX_EVENTS, StatEvent, parse_batch, parse_events};

use rusqlite::{Connection, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ServerError;

/// Ordered migrations; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    action           TEXT NOT NULL,
    version_name     TEXT NOT NULL,
    old_version_name TEXT,
    channel          TEXT,
    platform         TEXT,
    reason           TEXT,
    metadata         TEXT,
    at_ms            INTEGER NOT NULL,
    received_ms      INTEGER NOT NULL
);
CREATE INDEX events_by_group ON events (app_id, channel, version_name, action);
"#];

/// An open stats database.
pub struct StatsDb {
    conn: Connection,
    path: PathBuf,
}

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Events newly stored.
    pub stored: u64,
    /// Events already present (a retried flush, or repeated within the batch).
    pub duplicates: u64,
}

/// Event counts for one (app, channel, version, action) group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    pub app_id: String,
    /// `None` for events that named no channel.
    pub channel: Option<String>,
    /// `version_name` of the events.
    pub version: String,
    pub action: String,
    /// Number of events.
    pub events: u64,
    /// Number of distinct devices that sent them.
    pub devices: u64,
}

/// Opens (creating and migrating if needed) the stats database at `path`.
pub fn open(path: &Path) -> Result<StatsDb, ServerError> {
    let fail = |e: rusqlite::Error| ServerError::Stats {
        path: path.to_path_buf(),
        message: format!("{e}; check that the file is a writable SQLite database (or move it aside)"),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| ServerError::Io { context: format!("creating {}", dir.display()), source: e })?;
    }
    let conn = Connection::open(path).map_err(fail)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(ServerError::Stats {
            path: path.to_path_buf(),
            message: format!("could not enable WAL mode (got {mode}); put the database on a local file system"),
        });
    }
    conn.execute_batch("PRAGMA synchronous=FULL;").map_err(fail)?;
    let mut db = StatsDb { conn, path: path.to_path_buf() };
    db.migrate()?;
    Ok(db)
}

/// Grouped counts of the database at `path` (empty when it does not exist yet).
pub fn summary(path: &Path) -> Result<Vec<StatRow>, ServerError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    open(path)?.summary()
}

fn db_error(path: &Path, e: rusqlite::Error) -> ServerError {
    ServerError::Stats { path: path.to_path_buf(), message: format!("{e}; retry, or check the disk") }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl StatsDb {
    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> ServerError {
        db_error(&self.path, e)
    }

    fn migrate(&mut self) -> Result<(), ServerError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| ServerError::Stats { path: path.clone(), message: format!("migrating: {e}") };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fail)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(fail)?;
        if version < 0 || version as usize > MIGRATIONS.len() {
            return Err(ServerError::Stats {
                path: path.clone(),
                message: format!(
                    "schema {version} is newer than this server understands ({}); upgrade airlock",
                    MIGRATIONS.len()
                ),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// Stores a batch in one transaction; events whose `id` is already stored are skipped and counted.
    pub fn insert(&mut self, events: &[StatEvent]) -> Result<Stored, ServerError> {
        let received = now_ms();
        let path = self.path.clone();
        let err = |e| db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let mut stored = 0u64;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (id, app_id, device_id, action, version_name, old_version_name,
                     channel, platform, reason, metadata, at_ms, received_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(err)?;
            for e in events {
                let changed = stmt
                    .execute(params![
                        e.id,
                        e.app_id,
                        e.device_id,
                        e.action,
                        e.version_name,
                        e.old_version_name,
                        e.channel,
                        e.platform,
                        e.reason,
                        e.metadata,
                        e.at_ms,
                        received
                    ])
                    .map_err(err)?;
                stored += changed as u64;
            }
        }
        tx.commit().map_err(err)?;
        Ok(Stored { stored, duplicates: events.len() as u64 - stored })
    }

    /// Number of stored events.
    pub fn event_count(&self) -> Result<u64, ServerError> {
        let n: i64 = self.conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    /// Event and device counts grouped by app, channel, version and action, sorted by those keys.
    pub fn summary(&self) -> Result<Vec<StatRow>, ServerError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT app_id, channel, version_name, action, COUNT(*), COUNT(DISTINCT device_id) FROM events
                 GROUP BY app_id, channel, version_name, action
                 ORDER BY app_id, channel, version_name, action",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StatRow {
                    app_id: r.get(0)?,
                    channel: r.get(1)?,
                    version: r.get(2)?,
                    action: r.get(3)?,
                    events: r.get::<_, i64>(4)? as u64,
                    devices: r.get::<_, i64>(5)? as u64,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
