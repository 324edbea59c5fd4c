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
