//! Deterministic bundle packing. Invariant: the same tree gives the same zip bytes (sorted paths, fixed
//! timestamps and permissions, fixed compression), and every path passes the device's own path policy.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use airlock_core::unpack::{self, FileEntry, Limits};
use airlock_core::{Cancel, Error};
use sha2::{Digest, Sha256};

/// A tree ready to publish: sorted entries and the deterministic zip.
pub struct Packed {
    pub files: Vec<FileEntry>,
    pub zip: Vec<u8>,
    /// Absolute paths of the files, parallel to `files`.
    pub sources: Vec<PathBuf>,
}

/// Packs a dist directory, or a zip (extracted first with the device's own hostile-zip policy).
pub fn pack(input: &Path) -> Result<(Packed, Option<tempfile::TempDir>), Error> {
    if input.is_dir() {
        return Ok((pack_dir(input)?, None));
    }
    let tmp = tempfile::tempdir().map_err(|e| Error::io("create temp dir", e))?;
    let staging = tmp.path().join("tree");
    fs::create_dir(&staging).map_err(|e| Error::io("create temp dir", e))?;
    unpack::unpack(input, &staging, &Limits::default(), None, &Cancel::never(), &mut |_| {})?;
    Ok((pack_dir(&staging)?, Some(tmp)))
}

fn pack_dir(root: &Path) -> Result<Packed, Error> {
    let mut paths = Vec::new();
    walk(root, root, &mut paths)?;
    paths.sort();
    let limits = Limits::default();
    if !paths.iter().any(|(p, _)| p == "index.html") {
        return Err(Error::rejected("missing_index", "the bundle is missing index.html at its root"));
    }
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut files = Vec::with_capacity(paths.len());
    let mut sources = Vec::with_capacity(paths.len());
    let mut buf = vec![0u8; 256 * 1024];
    for (rel, abs) in paths {
        unpack::check_path(&rel, &limits)?;
        let mut f = fs::File::open(&abs).map_err(|e| Error::io(format!("read {}", abs.display()), e))?;
        w.start_file(rel.as_str(), opts).map_err(|e| Error::Storage(format!("zip {rel}: {e}")))?;
        let mut h = Sha256::new();
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(format!("read {}", abs.display()), e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            size += n as u64;
            w.write_all(&buf[..n]).map_err(|e| Error::io("zip write", e))?;
        }
        files.push(FileEntry { path: rel, size, sha256: hex::encode(h.finalize()) });
        sources.push(abs);
    }
    let zip = w.finish().map_err(|e| Error::Storage(format!("zip: {e}")))?.into_inner();
    Ok(Packed { files, zip, sources })
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    for e in fs::read_dir(dir).map_err(|e| Error::io(format!("list {}", dir.display()), e))? {
        let e = e.map_err(|e| Error::io("list", e))?;
        let p = e.path();
        let ft = e.file_type().map_err(|e| Error::io("stat", e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".DS_Store" || name == "__MACOSX" {
            continue;
        }
        if ft.is_symlink() {
            return Err(Error::InvalidRequest(format!(
                "{} is a symlink; bundles hold regular files only (copy the target in)",
                p.display()
            )));
        }
        if ft.is_dir() {
            walk(root, &p, out)?;
        } else if ft.is_file() {
            let rel = p
                .strip_prefix(root)
                .map_err(|_| Error::Storage("path outside the dist folder".into()))?
                .to_str()
                .ok_or_else(|| Error::InvalidRequest(format!("{} is not valid UTF-8", p.display())))?
                .to_string();
            out.push((rel, p));
        }
    }
    Ok(())
}
