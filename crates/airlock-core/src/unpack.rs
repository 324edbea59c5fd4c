//! Safe zip extraction into a staging directory. Invariant: nothing is ever written outside the staging
//! directory, and a hostile archive is rejected before any file is created.
//!
//! The archive is validated as a whole first (`plan`: paths, types, methods, sizes, overlaps, duplicates,
//! collisions, `index.html`, the signed file list by name and size); only then are files written (`write`),
//! each capped at its declared size and hashed as it is written, by up to four workers once all directories
//! exist (`parallel`). Rejection codes: `unsafe_zip`, `corrupt_zip`, `missing_index`, `file_list_mismatch`.

mod manifest;
mod parallel;
mod plan;
mod policy;
mod raw;
mod reader;
mod write;

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};
use crate::events::Cancel;

pub use policy::{MAX_COMPONENT_BYTES, check_path};

/// Checks a signed file list with the same rules as archive entries: every path passes [`check_path`] and no two
/// names collide after Unicode full case folding and canonical normalisation, as APFS compares names (or as file
/// and directory). Used on release manifests,
/// whose paths the delta path joins to staging directly.
pub fn check_file_list(files: &[FileEntry], limits: &Limits) -> Result<()> {
    if files.len() > limits.max_entries {
        return Err(Error::rejected(
            "bad_metadata",
            format!("the signed file list has {} files, more than the {} allowed", files.len(), limits.max_entries),
        ));
    }
    let mut collisions = policy::Collisions::default();
    for f in files {
        check_path(&f.path, limits)
            .and_then(|()| collisions.add_file(&f.path))
            .map_err(|e| Error::rejected("bad_metadata", format!("signed file list: {e}")))?;
    }
    Ok(())
}

/// One file of a bundle tree, as the signed release manifest lists it (also serialized in manifests).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path relative to the bundle root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// Resource limits applied to every archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries (files, directories, ignored entries) the archive may list.
    pub max_entries: usize,
    /// Longest entry path, in bytes.
    pub max_path_bytes: usize,
    /// Most path components of an entry (`a/b/c.js` is 3 deep).
    pub max_depth: usize,
    /// Largest declared uncompressed total of all entries, in bytes.
    pub max_total_bytes: u64,
    /// Largest declared uncompressed-to-compressed ratio of one entry (DEFLATE tops out near 1032:1).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_entries: 100_000, max_path_bytes: 1024, max_depth: 64, max_total_bytes: 1 << 30, max_ratio: 1100 }
    }
}

/// Extracts `zip_path` into the existing, empty directory `staging` that the caller just created.
///
/// Validates EVERY entry before creating any file. Returns the tree written (sorted by path, paths relative to
/// the bundle root after flattening a single top-level folder). When `expected` is given (signed manifest),
/// the tree must equal it exactly (same paths, sizes, sha256; nothing extra or missing). `progress` receives
/// increments of uncompressed bytes written, always on the calling thread, summing to the bytes written. Large
/// archives (64 files and 1 MiB or more) are written by up to four worker threads (one per core, the calling
/// thread included), each with its own archive handle and copy buffer. Checks `cancel` between files; the first
/// error stops every worker before its next file. Directory entries, `__MACOSX/` and `.DS_Store` are never
/// written; every parent directory is created before the first file. Files are not fsynced: the caller makes
/// the tree durable. On error, staging may hold partial files and must be removed by the caller.
pub fn unpack(
    zip_path: &Path,
    staging: &Path,
    limits: &Limits,
    expected: Option<&[FileEntry]>,
    cancel: &Cancel,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<FileEntry>> {
    cancel.check()?;
    let open_err = |e| Error::io(format!("opening bundle archive {}", zip_path.display()), e);
    let file = File::open(zip_path).map_err(open_err)?;
    let file_len = file.metadata().map_err(open_err)?.len();
    let mut probe = reader::ArchiveReader::new(file, file_len);
    let end = raw::read_end_record(&mut probe)?;
    if end.entries > limits.max_entries as u64 {
        return Err(Error::rejected(
            "unsafe_zip",
            format!(
                "the archive lists {} entries, over the limit of {}; make the bundle smaller or raise the unpack \
                 limits",
                end.entries, limits.max_entries
            ),
        ));
    }
    let mut archive = zip::ZipArchive::new(probe.clone())
        .map_err(|e| plan::zip_error("the bundle is not a readable zip archive", e))?;
    let plan = plan::build(&mut archive, &mut probe, &end, limits, expected)?;
    cancel.check()?;
    let tree = parallel::extract(&archive, staging, &plan, cancel, progress)?;
    if let Some(expected) = expected {
        manifest::compare_tree(&tree, expected)?;
    }
    Ok(tree)
}
