//! SQLite state: schema, migrations and typed row access. Invariant: this database is the only source of truth
//! for which bundle serves; it runs in WAL mode with `synchronous=FULL`, every state change is one
//! `BEGIN IMMEDIATE` transaction, and it keeps the disk space it needs: a reserve file beside it is released when
//! the volume is nearly full, so opening the database and a boot transaction work on a full disk.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::events::{BUILTIN_ID, BundleStatus};

/// Ordered migrations; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE bundles (
    id            TEXT PRIMARY KEY,
    version       TEXT NOT NULL,
    checksum      TEXT NOT NULL,
    status        TEXT NOT NULL,
    downloaded_ms INTEGER NOT NULL,
    link          TEXT,
    comment       TEXT,
    release       INTEGER,
    files         TEXT NOT NULL,
    file_count    INTEGER NOT NULL,
    total_size    INTEGER NOT NULL,
    verified      INTEGER NOT NULL DEFAULT 0,
    boot_failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE state (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    current            TEXT NOT NULL,
    next               TEXT,
    last_good          TEXT NOT NULL,
    booting_bundle     TEXT,
    booting_token      TEXT,
    booting_started_ms INTEGER,
    booting_attempt    INTEGER,
    native_build       TEXT,
    failed_update      TEXT
);
INSERT INTO state (id, current, last_good) VALUES (1, 'builtin', 'builtin');
CREATE TABLE blocklist (
    checksum TEXT PRIMARY KEY,
    version  TEXT NOT NULL,
    release  INTEGER,
    reason   TEXT NOT NULL,
    at_ms    INTEGER NOT NULL
);
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE stats_queue (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    at_ms       INTEGER NOT NULL,
    action      TEXT NOT NULL,
    version     TEXT NOT NULL,
    old_version TEXT,
    reason      TEXT
);
"#,
    r#"
CREATE TABLE host_backoff (
    host     TEXT PRIMARY KEY,
    until_ms INTEGER NOT NULL,
    set_ms   INTEGER NOT NULL
);
"#,
];

/// Minimum bundled SQLite: 3.51.3 fixes the WAL-reset corruption race.
const MIN_SQLITE: i32 = 3_051_003;

/// A bundle row (a downloaded bundle; `builtin` has no row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRow {
    pub id: String,
    pub version: String,
    pub checksum: String,
    pub status: BundleStatus,
    pub downloaded_ms: i64,
    pub link: Option<String>,
    pub comment: Option<String>,
    pub release: Option<u64>,
    pub file_count: u64,
    pub total_size: u64,
    pub verified: bool,
    pub boot_failures: u32,
}

/// A WebView load that has not reported ready yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booting {
    pub bundle: String,
    pub token: String,
    pub started_ms: i64,
    pub attempt: u32,
}

/// The boot pointers (one row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootState {
    pub current: String,
    pub next: Option<String>,
    pub last_good: String,
    pub booting: Option<Booting>,
    pub native_build: Option<String>,
    pub failed_update: Option<String>,
}

pub struct Store {
    conn: Connection,
    reserve: Reserve,
}

/// Space the state database keeps for itself (`state.sqlite3-reserve`): what opening it (the 32 KiB
/// shared-memory index), a bounded WAL (`wal_autocheckpoint`) and boot transactions need on a full disk.
pub const DB_RESERVE_BYTES: u64 = 1024 * 1024;
/// Below this much free space the reserve is released before the database is opened or written.
pub const DB_HEADROOM_BYTES: u64 = 512 * 1024;
/// The reserve is made again only when this much is free beyond it (never eat the last space a user freed).
const RESERVE_REMAKE_MARGIN: u64 = 8 * 1024 * 1024;
/// WAL pages before an automatic checkpoint: keeps the WAL (rewound, not grown, after each checkpoint) well
/// inside the reserve.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 100;
/// The WAL is truncated back to this size after a checkpoint if a large transaction grew it.
const WAL_SIZE_LIMIT: i64 = 1024 * 1024;

/// The reserve file beside the database.
struct Reserve {
    path: std::path::PathBuf,
    dir: std::path::PathBuf,
    present: bool,
}

impl Reserve {
    fn new(db: &Path) -> Reserve {
        let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push("-reserve");
        let dir = db.parent().map(Path::to_path_buf).unwrap_or_default();
        let path = dir.join(&name);
        // A temporary of a reserve whose writer was killed is garbage (and never followed if it is a link).
        let mut tmp_prefix = name;
        tmp_prefix.push(".tmp");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.filter_map(|e| e.ok()) {
                if e.file_name().as_encoded_bytes().starts_with(tmp_prefix.as_encoded_bytes()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let present = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() >= DB_RESERVE_BYTES);
        Reserve { path, dir, present }
    }

    /// Frees the reserve when the volume is nearly full, so the next database write finds its pages.
    fn release_if_low(&mut self) {
        if !self.present || crate::fsutil::free_space(&self.dir).is_none_or(|f| f >= DB_HEADROOM_BYTES) {
            return;
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => log::warn!(
                "the disk is full: released the state database's {} KiB reserve so the agent keeps working; free \
                 some space (the reserve is made again once there is room)",
                DB_RESERVE_BYTES / 1024
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("could not release {}: {e}", self.path.display()),
        }
        self.present = false;
    }

    /// Makes the reserve (real blocks, not a sparse file) when it is missing and there is ample room. Best effort:
    /// a reserve that cannot be made is tried again later and never fails the caller.
    fn remake_if_room(&mut self) {
        if self.present {
            return;
        }
        if crate::fsutil::free_space(&self.dir).is_none_or(|f| f < DB_RESERVE_BYTES + RESERVE_REMAKE_MARGIN) {
            return;
        }
        let tmp = self.path.with_file_name(format!(
            "{}.tmp{}",
            self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        let res = (|| -> std::io::Result<()> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            // A new file, never through a link planted at its name.
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(crate::fsutil::NOFOLLOW)
                .open(&tmp)?;
            let block = vec![0x5au8; 64 * 1024];
            for _ in 0..DB_RESERVE_BYTES / block.len() as u64 {
                f.write_all(&block)?;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        match res {
            Ok(()) => self.present = true,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                log::warn!("could not make the state database's reserve {}: {e}", self.path.display());
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database, checks the SQLite version, sets durability pragmas and migrates.
    pub fn open(path: &Path) -> Result<Store> {
        if rusqlite::version_number() < MIN_SQLITE {
            return Err(Error::Database(format!(
                "bundled SQLite {} is older than 3.51.3 (WAL-reset bug); rebuild with a newer rusqlite",
                rusqlite::version()
            )));
        }
        let mut reserve = Reserve::new(path);
        reserve.release_if_low();
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Database(format!("could not enable WAL mode (got {mode})")));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        #[cfg(any(target_os = "ios", target_os = "macos"))]
        conn.execute_batch("PRAGMA fullfsync=ON; PRAGMA checkpoint_fullfsync=ON;")?;
        let mut store = Store { conn, reserve };
        store.migrate()?;
        store.reserve.remake_if_room();
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(Error::Database(format!(
                "state database schema {version} is newer than this agent understands ({}); \
                 was the app downgraded?",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed only if `f` succeeds.
    pub fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.reserve.release_if_low();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        self.reserve.remake_if_room();
        Ok(out)
    }

    /// Read-only access.
    pub fn read(&self) -> &Connection {
        &self.conn
    }

    /// `PRAGMA integrity_check` result (`"ok"` when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

pub fn load_state(c: &Connection) -> Result<BootState> {
    Ok(c.query_row(
        "SELECT current, next, last_good, booting_bundle, booting_token, booting_started_ms, booting_attempt,
                native_build, failed_update FROM state WHERE id = 1",
        [],
        |r| {
            let booting = match (r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?) {
                (Some(bundle), Some(token)) => Some(Booting {
                    bundle,
                    token,
                    started_ms: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                    attempt: r.get::<_, Option<u32>>(6)?.unwrap_or(1),
                }),
                _ => None,
            };
            Ok(BootState {
                current: r.get(0)?,
                next: r.get(1)?,
                last_good: r.get(2)?,
                booting,
                native_build: r.get(7)?,
                failed_update: r.get(8)?,
            })
        },
    )?)
}

pub fn save_state(c: &Connection, s: &BootState) -> Result<()> {
    let b = s.booting.as_ref();
    c.execute(
        "UPDATE state SET current = ?1, next = ?2, last_good = ?3, booting_bundle = ?4, booting_token = ?5,
                booting_started_ms = ?6, booting_attempt = ?7, native_build = ?8, failed_update = ?9 WHERE id = 1",
        params![
            s.current,
            s.next,
            s.last_good,
            b.map(|b| &b.bundle),
            b.map(|b| &b.token),
            b.map(|b| b.started_ms),
            b.map(|b| b.attempt),
            s.native_build,
            s.failed_update
        ],
    )?;
    Ok(())
}

const BUNDLE_COLUMNS: &str = "id, version, checksum, status, downloaded_ms, link, comment, release, file_count,
     total_size, verified, boot_failures";

fn bundle_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BundleRow> {
    let status: String = r.get(3)?;
    Ok(BundleRow {
        id: r.get(0)?,
        version: r.get(1)?,
        checksum: r.get(2)?,
        status: BundleStatus::parse(&status).unwrap_or(BundleStatus::Error),
        downloaded_ms: r.get(4)?,
        link: r.get(5)?,
        comment: r.get(6)?,
        release: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        file_count: r.get::<_, i64>(8)? as u64,
        total_size: r.get::<_, i64>(9)? as u64,
        verified: r.get(10)?,
        boot_failures: r.get(11)?,
    })
}

pub fn get_bundle(c: &Connection, id: &str) -> Result<Option<BundleRow>> {
    if id == BUILTIN_ID {
        return Ok(None);
    }
    let sql = format!("SELECT {BUNDLE_COLUMNS} FROM bundles WHERE id = ?1");
    Ok(c.query_row(&sql, [id], bundle_from_row).optional()?)
}

/// Every bundle row, oldest download first.
pub fn list_bundles(c: &Connection) -> Result<Vec<BundleRow>> {
    let sql = format!("SELECT {BUNDLE_COLUMNS} FROM bundles ORDER BY downloaded_ms, id");
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map([], bundle_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The installed bundle with this checksum that is still usable, if any.
pub fn find_by_checksum(c: &Connection, checksum: &str) -> Result<Option<BundleRow>> {
    let sql =
        format!("SELECT {BUNDLE_COLUMNS} FROM bundles WHERE checksum = ?1 AND status IN ('pending','success') LIMIT 1");
    Ok(c.query_row(&sql, [checksum], bundle_from_row).optional()?)
}

/// Inserts a freshly installed bundle with its file list (JSON).
pub fn insert_bundle(c: &Connection, b: &BundleRow, files_json: &str) -> Result<()> {
    c.execute(
        "INSERT INTO bundles (id, version, checksum, status, downloaded_ms, link, comment, release, files,
                              file_count, total_size, verified, boot_failures)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            b.id,
            b.version,
            b.checksum,
            b.status.as_str(),
            b.downloaded_ms,
            b.link,
            b.comment,
            b.release.map(|r| r as i64),
            files_json,
            b.file_count as i64,
            b.total_size as i64,
            b.verified,
            b.boot_failures
        ],
    )?;
    Ok(())
}

/// The signed/recorded file list of a bundle (JSON), for validation at launch.
pub fn bundle_files(c: &Connection, id: &str) -> Result<Option<String>> {
    Ok(c.query_row("SELECT files FROM bundles WHERE id = ?1", [id], |r| r.get(0)).optional()?)
}

pub fn set_status(c: &Connection, id: &str, status: BundleStatus) -> Result<()> {
    c.execute("UPDATE bundles SET status = ?2 WHERE id = ?1", params![id, status.as_str()])?;
    Ok(())
}

pub fn set_verified(c: &Connection, id: &str) -> Result<()> {
    c.execute("UPDATE bundles SET verified = 1 WHERE id = ?1", [id])?;
    Ok(())
}

pub fn set_boot_failures(c: &Connection, id: &str, n: u32) -> Result<()> {
    c.execute("UPDATE bundles SET boot_failures = ?2 WHERE id = ?1", params![id, n])?;
    Ok(())
}

pub fn blocklist_add(
    c: &Connection,
    checksum: &str,
    version: &str,
    release: Option<u64>,
    reason: &str,
    at_ms: i64,
) -> Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO blocklist (checksum, version, release, reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![checksum, version, release.map(|r| r as i64), reason, at_ms],
    )?;
    Ok(())
}

/// Why this checksum (or release number) was blocklisted, if it was.
pub fn blocklisted(c: &Connection, checksum: Option<&str>, release: Option<u64>) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT version || ': ' || reason FROM blocklist
             WHERE (?1 IS NOT NULL AND checksum = ?1) OR (?2 IS NOT NULL AND release = ?2) LIMIT 1",
        params![checksum, release.map(|r| r as i64)],
        |r| r.get(0),
    )
    .optional()?)
}

pub fn kv_get(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(c.query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn kv_set(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)", params![key, value])?;
    Ok(())
}

/// Queues a stats event (Capgo action name) for a later flush; bounded to the newest `MAX_QUEUED` rows.
pub fn queue_event(
    c: &Connection,
    id: &str,
    at_ms: i64,
    action: &str,
    version: &str,
    old: Option<&str>,
    reason: Option<&str>,
) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO stats_queue (id, at_ms, action, version, old_version, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, at_ms, action, version, old, reason],
    )?;
    let dropped =
        c.execute("DELETE FROM stats_queue WHERE seq <= (SELECT MAX(seq) FROM stats_queue) - ?1", [MAX_QUEUED])?;
    if dropped > 0 {
        let before: i64 = kv_get(c, "stats_dropped")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        kv_set(c, "stats_dropped", &(before + dropped as i64).to_string())?;
    }
    Ok(())
}

/// Most events the stats queue keeps; older ones are dropped (and counted) when it is full.
pub const MAX_QUEUED: i64 = 1000;

/// A queued stats event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    pub id: String,
    pub at_ms: i64,
    pub action: String,
    pub version: String,
    pub old_version: Option<String>,
    pub reason: Option<String>,
}

/// The oldest `limit` queued events.
pub fn queued_events(c: &Connection, limit: usize) -> Result<Vec<QueuedEvent>> {
    let mut stmt =
        c.prepare("SELECT id, at_ms, action, version, old_version, reason FROM stats_queue ORDER BY seq LIMIT ?1")?;
    let rows = stmt
        .query_map([limit as i64], |r| {
            Ok(QueuedEvent {
                id: r.get(0)?,
                at_ms: r.get(1)?,
                action: r.get(2)?,
                version: r.get(3)?,
                old_version: r.get(4)?,
                reason: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Removes delivered events.
pub fn remove_events(c: &Connection, ids: &[String]) -> Result<()> {
    for id in ids {
        c.execute("DELETE FROM stats_queue WHERE id = ?1", [id])?;
    }
    Ok(())
}

pub fn queued_count(c: &Connection) -> Result<u64> {
    Ok(c.query_row("SELECT COUNT(*) FROM stats_queue", [], |r| r.get::<_, i64>(0))? as u64)
}

/// Until when `host` (`host:port`) asked not to be contacted (429 / `Retry-After`), as stored.
pub fn host_backoff_get(c: &Connection, host: &str) -> Result<Option<i64>> {
    Ok(c.query_row("SELECT until_ms FROM host_backoff WHERE host = ?1", [host], |r| r.get(0)).optional()?)
}

/// Remembers that `host` asked not to be contacted before `until_ms` (answer received at `set_ms`).
pub fn host_backoff_set(c: &Connection, host: &str, until_ms: i64, set_ms: i64) -> Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO host_backoff (host, until_ms, set_ms) VALUES (?1, ?2, ?3)",
        params![host, until_ms, set_ms],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_in_wal_full_sync_with_initial_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        let mode: String = s.read().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let sync: i64 = s.read().query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2));
        let st = load_state(s.read()).unwrap();
        assert_eq!((st.current.as_str(), st.last_good.as_str(), st.booting), ("builtin", "builtin", None));
        s.write(|tx| {
            let mut st = load_state(tx)?;
            st.booting = Some(Booting { bundle: "b".into(), token: "t".into(), started_ms: 5, attempt: 2 });
            save_state(tx, &st)
        })
        .unwrap();
        drop(s);
        let s = Store::open(&dir.path().join("db")).unwrap();
        assert_eq!(load_state(s.read()).unwrap().booting.unwrap().attempt, 2);
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn blocklist_matches_by_checksum_or_release() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        s.write(|tx| blocklist_add(tx, "abc", "1.0.1", Some(7), "never ready", 1)).unwrap();
        assert!(blocklisted(s.read(), Some("abc"), None).unwrap().is_some());
        assert!(blocklisted(s.read(), Some("zzz"), Some(7)).unwrap().is_some());
        assert!(blocklisted(s.read(), Some("zzz"), Some(8)).unwrap().is_none());
        assert!(blocklisted(s.read(), None, None).unwrap().is_none());
    }
}
