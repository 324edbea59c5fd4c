//! File-system primitives with explicit durability. Invariant: a function here that says "durable" has made
//! its data and the directory entries that name it reach stable storage before it returns, and nothing here
//! writes, creates or removes anything through a symbolic link (`O_NOFOLLOW`, `*at` calls on [`DirFd`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
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
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).custom_flags(NOFOLLOW).open(&tmp)?;
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

    /// A shared lock (many holders at once); `Ok(None)` while someone holds it exclusively.
    pub fn try_shared(path: &Path) -> Result<Option<FileLock>> {
        Self::lock(path, libc::LOCK_SH | libc::LOCK_NB)
    }

    fn lock(path: &Path, op: libc::c_int) -> Result<Option<FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(NOFOLLOW)
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

/// Flags for every file the engine opens for writing in its data directory: never through a symbolic link
/// (`ELOOP` instead, which [`Error::io`] reports as a planted link), never inherited by child processes.
pub const NOFOLLOW: libc::c_int = libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// True when `path` itself (not what it points to) is a symbolic link.
pub fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The refusal for a symbolic link found where the layout wants one of its own directories.
pub fn planted_link(path: &Path) -> Error {
    Error::Storage(format!(
        "{} is a symbolic link; airlock never follows links in its data directory (a sweep or a write through it \
         would empty or overwrite what it points at): remove the link (or clear the app's data) and start again",
        path.display()
    ))
}

/// Removes every symbolic link directly inside `dir` — the link, never what it points at — and returns their
/// paths. A missing `dir` holds none.
pub fn unlink_links_in(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(Error::io(format!("list {}", dir.display()), e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("list {}", dir.display()), e))?;
        // `DirEntry::file_type` does not follow the link.
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| Error::io(format!("remove the link {}", path.display()), e))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// A directory opened without following a link at any step, for `*at` calls relative to it: a symbolic link
/// swapped in for a directory or a file below it makes the call fail (`ELOOP`, `EEXIST`) instead of reaching
/// what the link points at.
#[derive(Debug)]
pub struct DirFd {
    fd: std::os::fd::OwnedFd,
    path: std::path::PathBuf,
}

fn c_name(name: &str) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a file name"))
}

impl DirFd {
    /// Opens `path`, refusing a link at its last component (its ancestors are the layout's, checked at open).
    pub fn open(path: &Path) -> Result<DirFd> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::Storage(format!("{} has a NUL byte", path.display())))?;
        // SAFETY: `c` is a valid C string; the returned descriptor is checked and then owned.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | NOFOLLOW) };
        Self::owned(fd, path.to_path_buf())
            .map_err(|e| Error::io(format!("open {}", path.display()), link_aware(e, path)))
    }

    fn owned(fd: libc::c_int, path: std::path::PathBuf) -> io::Result<DirFd> {
        use std::os::fd::FromRawFd;
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(DirFd { fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }, path })
    }

    fn raw(&self) -> libc::c_int {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// The sub-directory `name` (one component), never through a link.
    fn child(&self, name: &str) -> io::Result<DirFd> {
        let c = c_name(name)?;
        // SAFETY: `c` is a valid C string and `self.raw()` an open directory descriptor.
        let fd = unsafe { libc::openat(self.raw(), c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | NOFOLLOW) };
        Self::owned(fd, self.path.join(name))
    }

    /// The directory `rel` (`/`-separated, relative) below this one, walking each component without following.
    pub fn sub(&self, rel: &str) -> Result<DirFd> {
        let mut dir = DirFd { fd: self.fd.try_clone().map_err(|e| Error::io("dup", e))?, path: self.path.clone() };
        for name in rel.split('/').filter(|n| !n.is_empty()) {
            let full = dir.path.join(name);
            dir = dir.child(name).map_err(|e| Error::io(format!("open {}", full.display()), link_aware(e, &full)))?;
        }
        Ok(dir)
    }

    /// Creates the directory `rel` below this one; its parents must exist. Fails if the name exists (a link too).
    pub fn mkdir(&self, rel: &str) -> Result<()> {
        let (parent, name) = split_rel(rel);
        let dir = self.sub(parent)?;
        let full = dir.path.join(name);
        let c = c_name(name).map_err(|e| Error::io(format!("create {}", full.display()), e))?;
        // SAFETY: `c` is a valid C string and `dir.raw()` an open directory descriptor.
        if unsafe { libc::mkdirat(dir.raw(), c.as_ptr(), 0o755) } != 0 {
            return Err(Error::io(format!("creating directory {}", full.display()), io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Creates the directory `rel` below this one and its missing parents (an existing directory is fine; a
    /// link in the way is refused, not followed).
    pub fn mkdirs(&self, rel: &str) -> Result<()> {
        let mut done = 0;
        for name in rel.split('/') {
            let here = &rel[..done + name.len()];
            done += name.len() + 1;
            if name.is_empty() {
                continue;
            }
            if let Err(made) = self.mkdir(here) {
                // An existing real directory is fine; a link there is refused by name; else the mkdir error.
                match self.sub(here) {
                    Ok(_) => {}
                    Err(e) if is_symlink(&self.path.join(here)) => return Err(e),
                    Err(_) => return Err(made),
                }
            }
        }
        self.sub(rel).map(drop)
    }

    /// Creates the new regular file `rel` below this one (`O_CREAT | O_EXCL | O_NOFOLLOW`) for writing.
    pub fn create_new(&self, rel: &str) -> Result<File> {
        use std::os::fd::FromRawFd;
        let (parent, name) = split_rel(rel);
        let dir = self.sub(parent)?;
        let full = dir.path.join(name);
        let c = c_name(name).map_err(|e| Error::io(format!("creating {}", full.display()), e))?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | NOFOLLOW;
        // SAFETY: `c` is a valid C string and `dir.raw()` an open directory descriptor.
        let fd = unsafe { libc::openat(dir.raw(), c.as_ptr(), flags, 0o644 as libc::c_uint) };
        if fd < 0 {
            return Err(Error::io(format!("creating {}", full.display()), io::Error::last_os_error()));
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Hard-links the existing file `src` to the new name `rel` below this one (`linkat`, `src` not followed).
    pub fn hard_link_new(&self, src: &Path, rel: &str) -> io::Result<()> {
        use std::os::unix::ffi::OsStrExt;
        let (parent, name) = split_rel(rel);
        let dir = self.sub(parent).map_err(|e| io::Error::other(e.to_string()))?;
        let c_src = std::ffi::CString::new(src.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
        let c = c_name(name)?;
        // SAFETY: valid C strings and an open directory descriptor; flags 0 never follows `src`.
        if unsafe { libc::linkat(libc::AT_FDCWD, c_src.as_ptr(), dir.raw(), c.as_ptr(), 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Linux answers `O_DIRECTORY | O_NOFOLLOW` on a link with ENOTDIR, Apple with ELOOP: report both as ELOOP.
fn link_aware(e: io::Error, path: &Path) -> io::Error {
    if e.raw_os_error() == Some(libc::ENOTDIR) && is_symlink(path) {
        io::Error::from_raw_os_error(libc::ELOOP)
    } else {
        e
    }
}

/// `"a/b/c.js"` → (`"a/b"`, `"c.js"`); `"c.js"` → (`""`, `"c.js"`).
fn split_rel(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
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

    /// What `std::fs::remove_dir_all` (and so `remove_path`) really does with links, checked rather than assumed:
    /// a link given as the path is unlinked, links inside the tree are unlinked, but a link among the path's
    /// *parents* is resolved by the kernel like any path — which is why `Layout::ensure` refuses a linked layout.
    #[test]
    fn remove_dir_all_unlinks_links_at_the_top_and_inside_but_resolves_linked_parents() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::create_dir_all(victim.join("x/deep")).unwrap();
        fs::write(victim.join("x/deep/f"), b"keep").unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir(&tree).unwrap();
        symlink(&victim, tree.join("inner")).unwrap();
        symlink(&victim, dir.path().join("top")).unwrap();

        fs::remove_dir_all(dir.path().join("top")).unwrap();
        assert!(!is_symlink(&dir.path().join("top")) && victim.join("x/deep/f").exists(), "top link: unlinked only");
        remove_path(&tree).unwrap();
        assert!(!tree.exists() && victim.join("x/deep/f").exists(), "inner link: unlinked only");

        symlink(&victim, dir.path().join("parent")).unwrap();
        remove_path(&dir.path().join("parent/x")).unwrap();
        assert!(!victim.join("x").exists(), "a linked parent is followed by the kernel");
    }

    #[test]
    fn dir_fd_calls_never_follow_a_link_swapped_in_for_a_directory_or_a_file() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::create_dir(&victim).unwrap();
        let staging = dir.path().join("staging");
        fs::create_dir(&staging).unwrap();
        let base = DirFd::open(&staging).unwrap();
        base.mkdir("js").unwrap();
        base.create_new("js/app.js").unwrap().write_all(b"ok").unwrap();
        assert_eq!(fs::read(staging.join("js/app.js")).unwrap(), b"ok");
        symlink(&victim, staging.join("assets")).unwrap();
        symlink(victim.join("planted"), staging.join("index.html")).unwrap();
        let src = staging.join("js/app.js");

        let refused = [
            base.mkdir("assets/css").unwrap_err().to_string(),
            base.create_new("assets/a.png").unwrap_err().to_string(),
            base.create_new("index.html").unwrap_err().to_string(),
            base.hard_link_new(&src, "assets/b.js").unwrap_err().to_string(),
            DirFd::open(&staging.join("assets")).unwrap_err().to_string(),
        ];
        for message in refused.iter().take(2).chain(refused.last()) {
            assert!(message.contains("is a symbolic link"), "{message}");
        }
        assert_eq!(fs::read_dir(&victim).unwrap().count(), 0, "something was written through a link: {refused:?}");
        assert!(base.mkdir("assets").is_err(), "mkdir over a link must fail");
        base.mkdirs("js/a/b").unwrap();
        base.mkdirs("js/a/b").unwrap();
        assert!(staging.join("js/a/b").is_dir());
        let message = base.mkdirs("assets/x/y").unwrap_err().to_string();
        assert!(message.contains("is a symbolic link"), "{message}");
        assert_eq!(fs::read_dir(&victim).unwrap().count(), 0);
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
