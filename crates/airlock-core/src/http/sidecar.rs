//! The `<key>.json` sidecar next to a partial download. Invariant: it is written durably (temp file, fsync,
//! rename, fsync of the directory) before the part file it describes receives any byte, so a `.part` is never
//! resumed against a different URL, checksum or server object.

use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// What a partial download was started for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    pub url: String,
    /// Expected SHA-256 (lowercase hex), when known.
    pub sha256: Option<String>,
    /// Expected size in bytes, when known.
    pub size: Option<u64>,
    /// ETag of the object the part bytes came from, once a response told us.
    pub etag: Option<String>,
}

impl Sidecar {
    /// Reads the sidecar; `None` when it is missing or unreadable (the part is then not resumed).
    pub fn load(path: &Path) -> Option<Sidecar> {
        let bytes = fs::read(path).ok()?;
        if bytes.len() > 64 * 1024 {
            return None;
        }
        serde_json::from_slice(&bytes).ok()
    }

    /// True when a part described by `self` may be resumed for this URL and expected checksum.
    pub fn matches(&self, url: &str, sha256: Option<&str>) -> bool {
        self.url == url && self.sha256.as_deref() == sha256
    }

    /// Writes the sidecar durably: temp file, fsync, rename over `path`, fsync of the directory.
    pub fn store(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Storage(format!("could not encode the download sidecar: {e}")))?;
        let tmp = path.with_extension("json.tmp");
        let ctx = || format!("writing the download sidecar {}", tmp.display());
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(crate::fsutil::NOFOLLOW)
            .open(&tmp)
            .map_err(|e| Error::io(ctx(), e))?;
        file.write_all(&json).map_err(|e| Error::io(ctx(), e))?;
        file.sync_all().map_err(|e| Error::io(ctx(), e))?;
        drop(file);
        fs::rename(&tmp, path)
            .map_err(|e| Error::io(format!("renaming the download sidecar into {}", path.display()), e))?;
        sync_parent(path)
    }
}

/// Fsyncs the directory holding `path` so a rename or removal in it is durable.
pub(crate) fn sync_parent(path: &Path) -> Result<()> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let handle =
        File::open(dir).map_err(|e| Error::io(format!("opening directory {} to sync it", dir.display()), e))?;
    handle.sync_all().map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_only_the_same_url_and_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let sidecar = Sidecar {
            url: "https://a/b.zip".into(),
            sha256: Some("ab".into()),
            size: Some(3),
            etag: Some("\"x\"".into()),
        };
        sidecar.store(&path).unwrap();
        let loaded = Sidecar::load(&path).unwrap();
        assert_eq!(loaded, sidecar);
        assert!(loaded.matches("https://a/b.zip", Some("ab")));
        assert!(!loaded.matches("https://a/c.zip", Some("ab")));
        assert!(!loaded.matches("https://a/b.zip", None));
        assert!(!dir.path().join("k.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_sidecar_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        fs::write(&path, b"{not json").unwrap();
        assert!(Sidecar::load(&path).is_none());
    }
}
