//! File-system primitives with explicit durability. Invariant: a function here that says "durable" has made
//! its data and the directory entries that name it reach stable storage before it returns.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::error::{Error, Result};

/// `fsync` a directory so the entries created, renamed or removed in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let f = File::open(dir).map_err(|e| Error::io(format!("open {}", dir.display()), e))?;
    f.sync_all().map_err(|e| Error::io(format!("fsync {}", dir.display()), e))
}

/// Makes every file and directory below `root` durable. On Linux/Android one `syncfs` of the file system does it
/// (measured: far cheaper than thousands of `fsync`s); elsewhere (Apple: `F_FULLFSYNC` through `sync_all`) each
/// file and directory is synced, files in parallel.
pub fn sync_tree(root: &Path) -> Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let f = File::open(root).map_err(|e| Error::io(format!("open {}", root.display()), e))?;
        // SAFETY: `f` is an open descriptor for the duration of the call.
        let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
        if rc != 0 {
            return Err(Error::io(format!("syncfs {}", root.display()), io::Error::last_os_error()));
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        sync_tree_each(root)
    }
}

/// Syncs each file (4 threads) and then each directory, deepest first.
pub fn sync_tree_each(root: &Path) -> Result<()> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    let mut i = 0;
    while i < dirs.len() {
        let dir = dirs[i].clone();
        i += 1;
        for entry in fs::read_dir(&dir).map_err(|e| Error::io(format!("list {}", dir.display()), e))? {
            let entry = entry.map_err(|e| Error::io(format!("list {}", dir.display()), e))?;
            let ft = entry.file_type().map_err(|e| Error::io("stat", e))?;
            if ft.is_dir() {
                dirs.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    let chunk = files.len().div_ceil(4).max(1);
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> Result<()> {
                    for p in part {
                        let f = File::open(p).map_err(|e| Error::io(format!("open {}", p.display()), e))?;
                        f.sync_all().map_err(|e| Error::io(format!("fsync {}", p.display()), e))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| Error::Storage("a sync thread panicked".into()))??;
        }
        Ok(())
    })?;
    for d in dirs.iter().rev() {
        sync_dir(d)?;
    }
    Ok(())
}

/// Durably replaces `path` with `bytes`: temp file, fsync, rename, fsync of the parent.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().ok_or_else(|| Error::Storage(format!("{} has no parent", path.display())))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let res = (|| -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(format!("write {}", path.display()), e));
    }
    sync_dir(parent)
}

/// Removes a file or a whole tree; a missing path is not an error.
pub fn remove_path(path: &Path) -> Result<()> {
    let res = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    match res {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(format!("remove {}", path.display()), e)),
        _ => Ok(()),
    }
}

/// Bytes available to this process on the file system holding `path`, if the OS says.
pub fn free_space(path: &Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| (st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// `n` random lowercase alphanumerics (Capgo's bundle id shape), from the OS RNG.
pub fn random_id(n: usize) -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).map_err(|e| Error::Storage(format!("no randomness from the OS: {e}")))?;
        for b in buf {
            // 252 = 7 * 36: reject the tail to keep the choice uniform.
            if b < 252 && out.len() < n {
                out.push(ALPHABET[(b % 36) as usize] as char);
            }
        }
    }
    Ok(out)
}

/// An exclusive advisory `flock` held until drop. Serialises writers across processes.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until the lock is ours.
    pub fn exclusive(path: &Path) -> Result<FileLock> {
        Self::lock(path, libc::LOCK_EX).map(|o| o.ok_or_else(|| Error::Storage("lock not acquired".into())))?
    }

    /// `Ok(None)` when another holder has it.
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        Self::lock(path, libc::LOCK_EX | libc::LOCK_NB)
    }

    fn lock(path: &Path, op: libc::c_int) -> Result<Option<FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(format!("open lock {}", path.display()), e))?;
        loop {
            // SAFETY: flock on a descriptor we own.
            let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
            if rc == 0 {
                return Ok(Some(FileLock { _file: file }));
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => return Ok(None),
                _ => return Err(Error::io(format!("lock {}", path.display()), err)),
            }
        }
    }
}

impl FileLock {
    /// [`FileLock::try_exclusive`] for a lock file its holder may unlink ([`FileLock::remove`]): once the lock
    /// is taken, `path` must still name the locked file, else a holder removed it meanwhile and the lock is
    /// taken again on the file `path` names now. So removing a lock file never lets two holders in (one on the
    /// unlinked file, one on its successor). `Ok(None)` when another holder has it.
    pub fn try_exclusive_current(path: &Path) -> Result<Option<FileLock>> {
        use std::os::unix::fs::MetadataExt;
        for _ in 0..64 {
            let Some(lock) = Self::try_exclusive(path)? else { return Ok(None) };
            let held = lock._file.metadata().map_err(|e| Error::io(format!("stat lock {}", path.display()), e))?;
            match fs::metadata(path) {
                Ok(named) if named.dev() == held.dev() && named.ino() == held.ino() => return Ok(Some(lock)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("stat lock {}", path.display()), e)),
            }
        }
        Err(Error::Storage(format!("the lock {} keeps being replaced; retry", path.display())))
    }

    /// Unlinks the lock file at `path` while still holding it, then releases the lock. Only for locks taken
    /// with [`FileLock::try_exclusive_current`] (every taker of that file must use it).
    pub fn remove(self, path: &Path) -> Result<()> {
        let removed = remove_path(path);
        drop(self);
        removed
    }
}

/// Total size in bytes of the file system holding `path`, if the OS says.
pub fn volume_size(path: &Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| (st.f_blocks as u64).saturating_mul(st.f_frsize as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_have_capgo_shape() {
        let id = random_id(10).unwrap();
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_ne!(id, random_id(10).unwrap());
    }

    #[test]
    fn a_held_lock_excludes_a_second_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let a = FileLock::try_exclusive(&p).unwrap();
        assert!(a.is_some());
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(a);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }

    #[test]
    fn write_atomic_replaces_content_and_sync_tree_works() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");
        sync_tree(dir.path()).unwrap();
        sync_tree_each(dir.path()).unwrap();
        assert!(free_space(dir.path()).unwrap() > 0);
    }

    #[test]
    fn a_lock_file_removed_by_its_holder_never_lets_two_holders_in() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.lock");
        let a = FileLock::try_exclusive_current(&p).unwrap().unwrap();
        // B opened the file before A removed it; its flock succeeds only once A is gone, on the unlinked file.
        let b_file = OpenOptions::new().read(true).write(true).open(&p).unwrap();
        a.remove(&p).unwrap();
        assert!(!p.exists());
        let c = FileLock::try_exclusive_current(&p).unwrap().expect("C locks the new file");
        // SAFETY: flock on a descriptor we own.
        assert_eq!(
            unsafe { libc::flock(b_file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0,
            "B holds the old inode"
        );
        // Anyone taking the lock now re-checks the path: C's file is held, so nobody else gets in.
        assert!(FileLock::try_exclusive_current(&p).unwrap().is_none());
        drop(c);
        assert!(FileLock::try_exclusive_current(&p).unwrap().is_some());
    }
}
