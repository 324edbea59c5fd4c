//! Fast presence-and-size check of an installed tree. Invariant: it answers `Intact` only if every recorded path
//! is a regular file (not a symlink) of exactly the recorded size and the entry page (`index.html`) can be opened
//! and read by this process, `Damaged` only for proof of damage (missing, wrong type, wrong size), and
//! `Unreadable` for any other I/O trouble (EACCES, EIO, a locked data-protection class), which must never lead to
//! a purge.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::boot::SizeRecord;

/// What a look at an installed tree found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TreeState {
    Intact,
    /// A file is missing, of another type or size, or has other content: the tree is really damaged.
    Damaged,
    /// The check itself could not be done (EMFILE, EACCES, EIO, a locked data-protection class …): transient.
    Unreadable,
}

impl TreeState {
    /// Classifies an I/O error met while checking: "not there" is damage, anything else is transient.
    pub(crate) fn from_io(err: &io::Error) -> TreeState {
        match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => TreeState::Damaged,
            _ => TreeState::Unreadable,
        }
    }

    fn worst(self, other: TreeState) -> TreeState {
        match (self, other) {
            (TreeState::Damaged, _) | (_, TreeState::Damaged) => TreeState::Damaged,
            (TreeState::Unreadable, _) | (_, TreeState::Unreadable) => TreeState::Unreadable,
            _ => TreeState::Intact,
        }
    }
}

/// Checks all files, split over two threads; each thread opens every directory once and `fstatat`s relative to
/// it, so path resolution is one component per file.
pub(crate) fn sizes_match(root: &Path, files: &[SizeRecord<'_>]) -> TreeState {
    let sizes = if files.len() < 256 {
        check(root, files)
    } else {
        let (a, b) = files.split_at(files.len() / 2);
        std::thread::scope(|s| {
            let other = s.spawn(|| check(root, b));
            let here = check(root, a);
            here.worst(other.join().unwrap_or(TreeState::Unreadable))
        })
    };
    match sizes {
        TreeState::Intact => entry_readable(root),
        other => other,
    }
}

/// Can the WebView read this tree right now? `stat` needs no read permission, so a tree whose files exist with
/// the right sizes may still be unreadable (EACCES, EIO, a locked data-protection class): the entry page is
/// opened and its first byte read, as the WebView will.
pub(crate) fn entry_readable(root: &Path) -> TreeState {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(root.join("index.html"));
    let mut file = match opened {
        Ok(f) => f,
        Err(e) => return TreeState::from_io(&e),
    };
    let mut byte = [0u8; 1];
    loop {
        match file.read(&mut byte) {
            Ok(_) => return TreeState::Intact,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("{}/index.html cannot be read: {e}", root.display());
                return TreeState::Unreadable;
            }
        }
    }
}

fn check(root: &Path, files: &[SizeRecord<'_>]) -> TreeState {
    let mut open_dir: Option<(&str, File)> = None;
    for f in files {
        let (parent, name) = f.path.rsplit_once('/').unwrap_or(("", &f.path));
        let same = matches!(&open_dir, Some((p, _)) if *p == parent);
        if !same {
            match File::open(root.join(parent)) {
                Ok(d) => open_dir = Some((parent, d)),
                Err(e) => return TreeState::from_io(&e),
            }
        }
        let Some((_, dir)) = &open_dir else { return TreeState::Unreadable };
        let Ok(cname) = CString::new(std::ffi::OsStr::new(name).as_bytes()) else { return TreeState::Damaged };
        // SAFETY: fstatat writes into the zeroed stat we own; dir is an open descriptor; cname is NUL-terminated.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::fstatat(dir.as_raw_fd(), cname.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if rc != 0 {
            return TreeState::from_io(&io::Error::last_os_error());
        }
        if (st.st_mode & libc::S_IFMT) != libc::S_IFREG || st.st_size as u64 != f.size {
            log::warn!("{} is missing or changed in {}", f.path, root.display());
            return TreeState::Damaged;
        }
    }
    TreeState::Intact
}
