//! Safe zip extraction into a staging directory. Invariant: nothing is ever written outside the staging
//! directory, and a hostile archive is rejected before any file is created.
// (stub: being implemented)
/// One file of a bundle tree (temporary definition until the unpack module lands).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}
use crate::error::{Error, Result};
use crate::events::Cancel;
use std::path::Path;
pub struct Limits {
    pub max_total_bytes: u64,
}
impl Default for Limits {
    fn default() -> Self {
        Limits { max_total_bytes: 1 << 30 }
    }
}
pub fn unpack(
    _z: &Path,
    _s: &Path,
    _l: &Limits,
    _e: Option<&[FileEntry]>,
    _c: &Cancel,
    _p: &mut dyn FnMut(u64),
) -> Result<Vec<FileEntry>> {
    Err(Error::Storage("stub".into()))
}
