//! Writes a validated plan into the staging directory. Invariant: only paths from the plan are created, each
//! as a new regular file (`create_new` + `O_NOFOLLOW`) under directories this code created itself, and each
//! file holds exactly its declared number of bytes or extraction fails.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};
use zip::ZipArchive;

use super::FileEntry;
use super::plan::{Plan, read_error, zip_error};
use super::raw::corrupt;
use crate::error::{Error, Result};
use crate::events::Cancel;

/// Size of the one copy buffer used for a whole extraction.
const BUF_SIZE: usize = 256 * 1024;

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

/// Creates every missing parent directory of `rel` inside `staging`, one level at a time.
fn make_parents(staging: &Path, rel: &str, made: &mut HashSet<String>) -> Result<()> {
    for (i, _) in rel.match_indices('/') {
        let dir = &rel[..i];
        if made.contains(dir) {
            continue;
        }
        let full = staging.join(dir);
        fs::create_dir(&full).map_err(|e| Error::io(format!("creating directory {}", full.display()), e))?;
        made.insert(dir.to_owned());
    }
    Ok(())
}

/// Extracts every planned file, hashing as it writes. Returns the tree sorted by path.
pub(super) fn extract<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    staging: &Path,
    plan: &Plan,
    cancel: &Cancel,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<FileEntry>> {
    let mut buf = vec![0u8; BUF_SIZE];
    let mut made = HashSet::new();
    let mut tree = Vec::with_capacity(plan.files.len());
    for planned in &plan.files {
        cancel.check()?;
        let name = planned.path.as_str();
        let what = format!("entry {name:?}");
        let mut entry = archive.by_index(planned.index).map_err(|e| zip_error(&what, e))?;
        make_parents(staging, name, &mut made)?;
        let dest = staging.join(name);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&dest)
            .map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
        let mut reader = (&mut entry).take(planned.size.saturating_add(1));
        let mut hasher = Sha256::new();
        let mut written: u64 = 0;
        loop {
            let n = fill(&mut reader, &mut buf).map_err(|e| read_error(&what, e))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > planned.size {
                return Err(corrupt(format!(
                    "{what} inflates to more than its declared size of {} bytes (lying size)",
                    planned.size
                )));
            }
            let chunk = &buf[..n];
            out.write_all(chunk).map_err(|e| Error::io(format!("writing {}", dest.display()), e))?;
            hasher.update(chunk);
            progress(n as u64);
        }
        if written != planned.size {
            return Err(corrupt(format!(
                "{what} holds {written} bytes, less than its declared size of {} bytes (lying size)",
                planned.size
            )));
        }
        tree.push(FileEntry { path: planned.path.clone(), size: written, sha256: hex::encode(hasher.finalize()) });
    }
    tree.sort_unstable();
    Ok(tree)
}
