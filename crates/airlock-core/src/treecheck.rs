//! Fast presence-and-size check of an installed tree. Invariant: it answers `true` only if every recorded path
//! is a regular file (not a symlink) of exactly the recorded size; any doubt (I/O error, odd path) is `false`.

use std::ffi::CString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::boot::SizeRecord;

/// Checks all files, split over two threads; each thread opens every directory once and `fstatat`s relative to
/// it, so path resolution is one component per file.
pub(crate) fn sizes_match(root: &Path, files: &[SizeRecord<'_>]) -> bool {
    if files.len() < 256 {
        return check(root, files);
    }
    let (a, b) = files.split_at(files.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| check(root, b));
        let here = check(root, a);
        here && other.join().unwrap_or(false)
    })
}

fn check(root: &Path, files: &[SizeRecord<'_>]) -> bool {
    let mut open_dir: Option<(&str, File)> = None;
    for f in files {
        let (parent, name) = f.path.rsplit_once('/').unwrap_or(("", &f.path));
        let same = matches!(&open_dir, Some((p, _)) if *p == parent);
        if !same {
            let Ok(d) = File::open(root.join(parent)) else { return false };
            open_dir = Some((parent, d));
        }
        let Some((_, dir)) = &open_dir else { return false };
        let Ok(cname) = CString::new(std::ffi::OsStr::new(name).as_bytes()) else { return false };
        // SAFETY: fstatat writes into the zeroed stat we own; dir is an open descriptor; cname is NUL-terminated.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::fstatat(dir.as_raw_fd(), cname.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if rc != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFREG || st.st_size as u64 != f.size {
            log::warn!("{} is missing or changed in {}", f.path, root.display());
            return false;
        }
    }
    true
}
