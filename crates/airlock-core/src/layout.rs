//! On-disk layout under `<dataDir>/airlock/`. Invariant: every path the engine touches is derived here; a
//! staging directory is either owned by a live installer (its lock is held) or garbage that `sweep` removes; a
//! download is either owned by a live installer (its lock is held), resumable (younger than 7 days and no newer
//! install since), or garbage that `sweep_downloads` removes; and no symbolic link in the layout is ever
//! followed: the root and its four directories must be real directories (`ensure` refuses a link), and a link
//! found inside them is removed, never its target.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil::{self, FileLock};

/// A partial download untouched for this long (7 days) is removed at the next open.
pub const DOWNLOAD_MAX_AGE_MS: i64 = 7 * 24 * 3_600_000;

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The agent's root for a shell-given data directory.
    pub fn new(data_dir: &Path) -> Layout {
        Layout { root: data_dir.join("airlock") }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn db(&self) -> PathBuf {
        self.root.join("state.sqlite3")
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }
    pub fn bundles(&self) -> PathBuf {
        self.root.join("bundles")
    }
    pub fn bundle(&self, id: &str) -> PathBuf {
        self.bundles().join(id)
    }
    pub fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }
    pub fn objects(&self) -> PathBuf {
        self.root.join("objects")
    }

    /// `serving/<bundle-id>.lock`: held shared by every process whose page serves that bundle's tree, so no
    /// process deletes a tree another one's page still serves.
    pub fn serving(&self) -> PathBuf {
        self.root.join("serving")
    }

    pub fn serving_lock(&self, id: &str) -> PathBuf {
        self.serving().join(format!("{id}.lock"))
    }

    /// Paths of one download, keyed by a stable key (so a later attempt resumes it).
    pub fn download(&self, key: &str) -> DownloadPaths {
        let d = self.downloads();
        DownloadPaths {
            part: d.join(format!("{key}.part")),
            sidecar: d.join(format!("{key}.json")),
            plain: d.join(format!("{key}.zip")),
            lock: d.join(format!("{key}.lock")),
        }
    }

    /// Creates the directory skeleton (idempotent, durable). Refuses a layout whose root, `bundles/`,
    /// `staging/`, `downloads/` or `objects/` is a symbolic link or not a directory, or whose database or root
    /// lock file is a link, naming the path: sweeps and writes through it would empty or overwrite its target.
    pub fn ensure(&self) -> Result<()> {
        for d in [self.root.clone(), self.bundles(), self.staging(), self.downloads(), self.objects(), self.serving()] {
            match fs::symlink_metadata(&d) {
                Ok(m) if m.file_type().is_symlink() => return Err(fsutil::planted_link(&d)),
                Ok(m) if m.is_dir() => continue,
                Ok(_) => {
                    return Err(Error::Storage(format!(
                        "{} is not a directory; remove it (or clear the app's data) and start again",
                        d.display()
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("inspect {}", d.display()), e)),
            }
            // `create_dir` never follows a link at the new name (EEXIST); only the root's parents may be made.
            let made = if d == self.root { fs::create_dir_all(&d) } else { fs::create_dir(&d) };
            made.map_err(|e| Error::io(format!("create {}", d.display()), e))?;
            if let Some(p) = d.parent() {
                fsutil::sync_dir(p)?;
            }
        }
        // SQLite and the root lock would open their files through a link too.
        for name in ["state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm", "lock"] {
            let p = self.root.join(name);
            if fsutil::is_symlink(&p) {
                return Err(fsutil::planted_link(&p));
            }
        }
        Ok(())
    }

    /// Removes the symbolic links planted directly inside `bundles/`, `staging/`, `downloads/` and `objects/`
    /// (the links only, never their targets: nothing the engine makes there is a link). Returns how many.
    pub fn remove_planted_links(&self) -> Result<usize> {
        let mut n = 0;
        for d in [self.bundles(), self.staging(), self.downloads(), self.objects(), self.serving()] {
            let removed = fsutil::unlink_links_in(&d)?;
            for p in &removed {
                log::warn!("removed the symbolic link {} planted in the data directory (not followed)", p.display());
            }
            if !removed.is_empty() {
                fsutil::sync_dir(&d)?;
            }
            n += removed.len();
        }
        Ok(n)
    }

    /// A fresh staging directory owned by this installer until dropped or published.
    pub fn new_staging(&self) -> Result<Staging> {
        let name = fsutil::random_id(16)?;
        let lock_path = self.staging().join(format!("{name}.lock"));
        let lock = FileLock::try_exclusive(&lock_path)?
            .ok_or_else(|| Error::Storage("staging lock unexpectedly busy".into()))?;
        let dir = self.staging().join(&name);
        fs::create_dir(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        Ok(Staging { dir, lock_path, _lock: lock, published: false })
    }

    /// Removes planted links (`remove_planted_links`), then staging directories whose installer is gone (its
    /// lock is free) and plaintext leftovers in `downloads/` whose download lock is free. Returns how many
    /// entries were removed.
    pub fn sweep(&self) -> Result<usize> {
        let mut removed = self.remove_planted_links()?;
        let Ok(entries) = fs::read_dir(self.staging()) else { return Ok(0) };
        let mut names: Vec<String> =
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for name in names {
            let stem = name.strip_suffix(".lock").unwrap_or(&name).to_string();
            let lock_path = self.staging().join(format!("{stem}.lock"));
            let Some(_held) = FileLock::try_exclusive(&lock_path)? else { continue };
            let dir = self.staging().join(&stem);
            if dir.exists() {
                fsutil::remove_path(&dir)?;
                removed += 1;
            }
            fsutil::remove_path(&lock_path)?;
        }
        if let Ok(entries) = fs::read_dir(self.downloads()) {
            for e in entries.filter_map(|e| e.ok()) {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "zip") {
                    let lock = p.with_extension("lock");
                    if let Some(_held) = FileLock::try_exclusive(&lock)? {
                        fsutil::remove_path(&p)?;
                        removed += 1;
                    }
                }
            }
        }
        if removed > 0 {
            fsutil::sync_dir(&self.staging())?;
        }
        Ok(removed)
    }

    /// Removes downloads (`downloads/<key>.*`) nobody is working on (their lock is free): every one when
    /// `max_age_ms` is `None` (called after an install: what is left is for releases no longer wanted), else those
    /// whose newest file is more than `max_age_ms` older than `now_ms` (the injected clock; a file dated after
    /// `now_ms` is kept). Lock files with nothing to guard go too, each unlinked by the holder of its lock. Call
    /// under the global lock. Returns how many downloads were removed.
    pub fn sweep_downloads(&self, now_ms: i64, max_age_ms: Option<i64>) -> Result<usize> {
        use std::collections::BTreeMap;
        let dir = self.downloads();
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(0) };
        let mut keys: BTreeMap<String, Option<i64>> = BTreeMap::new();
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((key, ext)) = name.split_once('.') else { continue };
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                continue;
            }
            let newest = keys.entry(key.to_owned()).or_insert(None);
            if ext != "lock" {
                let modified = e.metadata().ok().and_then(|m| m.modified().ok()).map(unix_ms);
                *newest = (*newest).max(modified.or(Some(i64::MAX)));
            }
        }
        let mut removed = 0;
        for (key, newest) in keys {
            let expired = match (max_age_ms, newest) {
                (None, _) | (_, None) => true,
                (Some(age), Some(t)) => now_ms.saturating_sub(t) > age,
            };
            if !expired {
                continue;
            }
            let lock_path = dir.join(format!("{key}.lock"));
            let Some(lock) = FileLock::try_exclusive_current(&lock_path)? else { continue };
            for ext in ["part", "json", "json.tmp", "zip"] {
                fsutil::remove_path(&dir.join(format!("{key}.{ext}")))?;
            }
            lock.remove(&lock_path)?;
            removed += usize::from(newest.is_some());
        }
        if removed > 0 {
            fsutil::sync_dir(&dir)?;
        }
        Ok(removed)
    }

    /// Names of the entries in `staging/` (directories and lock files), for checks and tests.
    pub fn staging_entries(&self) -> Vec<String> {
        fs::read_dir(self.staging())
            .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }
}

/// A file time as Unix milliseconds (times before 1970 count as 0).
fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// Paths belonging to one resumable download.
#[derive(Debug, Clone)]
pub struct DownloadPaths {
    pub part: PathBuf,
    pub sidecar: PathBuf,
    pub plain: PathBuf,
    pub lock: PathBuf,
}

/// A staging directory: removed on drop unless published.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: FileLock,
    published: bool,
}

impl Staging {
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Makes the tree durable and renames it to `target` (which must not exist), then syncs target's parent.
    pub fn publish(mut self, target: &Path) -> Result<()> {
        fsutil::sync_tree(&self.dir)?;
        fs::rename(&self.dir, target).map_err(|e| Error::io(format!("publish {}", target.display()), e))?;
        self.published = true;
        if let Some(parent) = target.parent() {
            fsutil::sync_dir(parent)?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fsutil::remove_path(&self.dir);
        }
        let _ = fs::remove_file(&self.lock_path);
    }
}
