//! Strong ETags from file content. Invariant: an ETag is the quoted hex of the first 16 bytes of the SHA-256 of
//! the bytes it names; a cached tag is reused only while the file's identity (size, mtime, device, inode) is
//! unchanged, and a file that changed while it was hashed, or was modified too recently for its mtime to tell
//! a same-size rewrite apart (file system timestamps are coarse), is not cached.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Cache entries kept before the cache is emptied and refilled.
const MAX_ENTRIES: usize = 4096;
/// A file modified less than this long ago is hashed on every request rather than cached ("racily clean"):
/// a same-size rewrite within one timestamp tick would otherwise keep its old ETag.
const SETTLE: Duration = Duration::from_secs(2);

/// What must stay equal for a cached hash to still describe the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    len: u64,
    modified: Option<SystemTime>,
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        FileId { len: meta.len(), modified: meta.modified().ok(), dev, ino }
    }
}

/// Content hashes by canonical path, so a large bundle is hashed once, not on every request.
#[derive(Default)]
pub(crate) struct EtagCache {
    entries: Mutex<HashMap<PathBuf, (FileId, String)>>,
}

impl EtagCache {
    /// The ETag of the open `file` at `path`, whose metadata is `meta`.
    pub fn etag_for(&self, path: &Path, file: &File, meta: &Metadata) -> io::Result<String> {
        let id = FileId::of(meta);
        if let Some((cached, etag)) = self.lock().get(path)
            && *cached == id
        {
            return Ok(etag.clone());
        }
        let etag = hash_file(file)?;
        let settled =
            id.modified.and_then(|m| SystemTime::now().duration_since(m).ok()).is_some_and(|age| age > SETTLE);
        if !settled {
            return Ok(etag);
        }
        if FileId::of(&file.metadata()?) == id {
            let mut entries = self.lock();
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(path.to_path_buf(), (id, etag.clone()));
        } else {
            log::warn!("{} changed while it was being hashed; its ETag is not cached", path.display());
        }
        Ok(etag)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (FileId, String)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Hashes the whole file from its start with a reused buffer.
fn hash_file(mut file: &File) -> io::Result<String> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(format!("\"{}\"", hex::encode(&hasher.finalize()[..16])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(3600)).unwrap();
    }

    fn etag_of(cache: &EtagCache, path: &Path) -> String {
        let file = File::open(path).unwrap();
        cache.etag_for(path, &file, &file.metadata().unwrap()).unwrap()
    }

    #[test]
    fn etag_follows_content_and_is_cached_by_identity_once_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"hello").unwrap();
        let cache = EtagCache::default();
        let first = etag_of(&cache, &path);
        assert_eq!(first, format!("\"{}\"", hex::encode(&Sha256::digest(b"hello")[..16])));
        assert_eq!(cache.lock().len(), 0, "a just-written file is not cached");

        // Rewritten in place with the same size right away: the fresh hash sees it.
        std::fs::write(&path, b"HELLO").unwrap();
        let rewritten = etag_of(&cache, &path);
        assert_eq!(rewritten, format!("\"{}\"", hex::encode(&Sha256::digest(b"HELLO")[..16])));

        age(&path);
        assert_eq!(etag_of(&cache, &path), rewritten);
        assert_eq!(cache.lock().len(), 1, "a settled file is cached");
        assert_eq!(etag_of(&cache, &path), rewritten);

        std::fs::write(dir.path().join("b.tmp"), b"other content").unwrap();
        std::fs::rename(dir.path().join("b.tmp"), &path).unwrap();
        age(&path);
        let replaced = etag_of(&cache, &path);
        assert_eq!(replaced, format!("\"{}\"", hex::encode(&Sha256::digest(b"other content")[..16])));
    }
}
