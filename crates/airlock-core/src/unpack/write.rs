//! Writes a validated plan into the staging directory. Invariant: only paths from the plan are created, each
//! as a new regular file (`O_CREAT | O_EXCL | O_NOFOLLOW`) under directories this code created itself, reached
//! with `*at` calls from a descriptor of the staging directory that never follow a symbolic link, and each
//! file holds exactly its declared number of bytes or extraction fails. Every directory is created before
//! the first file, so files can then be written in any order, by any number of workers.

use std::collections::HashSet;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use zip::ZipArchive;

use super::FileEntry;
use super::plan::{Plan, Planned, read_error, zip_error};
use super::raw::corrupt;
use crate::error::{Error, Result};
use crate::fsutil::DirFd;

/// Size of the copy buffer each extraction worker allocates once and reuses for all its files.
pub(super) const BUF_SIZE: usize = 256 * 1024;

/// Reads until `buf` is full or the reader is exhausted; returns how many bytes were read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Creates, parents first, every directory that the plan's files need inside `staging`.
pub(super) fn make_dirs(staging: &Path, plan: &Plan) -> Result<()> {
    let base = DirFd::open(staging)?;
    let mut made: HashSet<&str> = HashSet::new();
    for planned in &plan.files {
        let rel = planned.path.as_str();
        for (i, _) in rel.match_indices('/') {
            let dir = &rel[..i];
            if made.insert(dir) {
                base.mkdir(dir)?;
            }
        }
    }
    Ok(())
}

/// Writes one planned file as a new file under `staging` (whose directories `make_dirs` created), copying
/// through `buf` and hashing as it writes; `written(n)` is told after each chunk that reached the file.
pub(super) fn extract_file<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    staging: &Path,
    planned: &Planned,
    buf: &mut [u8],
    written: &mut dyn FnMut(u64),
) -> Result<FileEntry> {
    let name = planned.path.as_str();
    let what = format!("entry {name:?}");
    let mut entry = archive.by_index(planned.index).map_err(|e| zip_error(&what, e))?;
    let dest = staging.join(name);
    let mut out = DirFd::open(staging)?.create_new(name)?;
    let mut reader = (&mut entry).take(planned.size.saturating_add(1));
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    loop {
        let n = fill(&mut reader, buf).map_err(|e| read_error(&what, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > planned.size {
            return Err(corrupt(format!(
                "{what} inflates to more than its declared size of {} bytes (lying size)",
                planned.size
            )));
        }
        let chunk = &buf[..n];
        out.write_all(chunk).map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
        hasher.update(chunk);
        written(n as u64);
    }
    if total != planned.size {
        return Err(corrupt(format!(
            "{what} holds {total} bytes, less than its declared size of {} bytes (lying size)",
            planned.size
        )));
    }
    Ok(FileEntry { path: planned.path.clone(), size: total, sha256: hex::encode(hasher.finalize()) })
}
