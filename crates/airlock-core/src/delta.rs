//! File-level delta updates. Invariant: a file is taken from local storage only if its SHA-256 matches the
//! signed list, only missing objects are fetched (each verified before it is stored), and the assembled tree is
//! re-hashed against the signed list before it is published — a delta install is byte-identical to a full one.
//! Sources are regular files only (never a link), and the tree is assembled with `*at` calls from a descriptor
//! of its staging directory that never follow a link.
//! A transient fault while fetching fails the call and keeps every object fetched so far (the next attempt fetches
//! only the rest); the full bundle replaces the delta only when the delta cannot work (an object refused by the
//! server or not the signed bytes, a local failure, or five attempts in a row that fetched nothing).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::agent::Agent;
use crate::error::{Error, Result};
use crate::events::{BundleInfo, BundleStatus, Cancel};
use crate::fsutil;
use crate::http::DownloadSpec;
use crate::install::{Offer, Progress, join_url};
use crate::store;
use crate::unpack::FileEntry;

/// Above this many files to fetch, one bundle download beats many small requests.
const MAX_OBJECT_FETCHES: usize = 300;
/// After this many attempts in a row that fetched no object for the same release (the same object failing
/// transiently each time, e.g. a CDN edge answering 503 for it), the full bundle is tried instead.
const MAX_STALLED_ATTEMPTS: u32 = 5;
/// Fetches of one object whose bytes were not the signed ones before the full bundle is used instead.
const OBJECT_TRIES: u32 = 3;
/// State key: `{"checksum": …, "stalls": n}` for the release whose delta last failed.
const STALLS_KEY: &str = "delta_stalls";

/// Why a delta install stopped before publishing a tree.
enum Stop {
    /// Fail the call now (transient, or cancelled); the next attempt resumes the delta with the objects kept.
    Retry(Error),
    /// The delta cannot work for this release: download the full bundle instead, in the same call.
    Full(Error),
}

/// Outside the object fetches only a full disk (the full bundle needs more room) and a cancel stop the call.
impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        match e {
            Error::Cancelled | Error::DiskFull(_) => Stop::Retry(e),
            e => Stop::Full(e),
        }
    }
}

impl Agent {
    /// Installs `offer` from local files plus missing objects when that is cheaper than the whole bundle.
    /// `Ok(None)` means "do a full download instead": no file list, no objects URL, too little to reuse, or the
    /// delta cannot work (see [`Stop`]). `Err` is a transient failure the next attempt resumes as a delta.
    pub(crate) fn try_delta(&self, offer: &Offer, cancel: &Cancel) -> Result<Option<BundleInfo>> {
        match self.delta_install(offer, cancel) {
            Ok(done) => Ok(done),
            Err(Stop::Retry(e)) => Err(e),
            Err(Stop::Full(e)) => {
                log::warn!("delta install of {} cannot complete ({e}); downloading the full bundle", offer.version);
                Ok(None)
            }
        }
    }

    fn delta_install(&self, offer: &Offer, cancel: &Cancel) -> Result<Option<BundleInfo>, Stop> {
        let (Some(files), Some(objects_url), Some(checksum)) = (&offer.files, &offer.objects_url, &offer.sha256) else {
            return Ok(None);
        };
        let local = self.local_index()?;
        let missing: Vec<&FileEntry> = {
            let mut seen = HashSet::new();
            files.iter().filter(|f| !local.contains_key(&f.sha256) && seen.insert(f.sha256.as_str())).collect()
        };
        let missing_bytes: u64 = missing.iter().map(|f| f.size).fold(0, u64::saturating_add);
        let bundle_size = offer.size.unwrap_or(u64::MAX);
        // Nothing local to reuse (`missing` is deduplicated: compare by content, not by count).
        let reuses = files.iter().any(|f| local.contains_key(&f.sha256));
        if !reuses || missing.len() > MAX_OBJECT_FETCHES || missing_bytes >= bundle_size {
            return Ok(None);
        }
        log::info!(
            "delta install of {}: {} of {} files to fetch ({missing_bytes} bytes instead of {bundle_size})",
            offer.version,
            missing.len(),
            files.len()
        );
        let stalls = self.delta_stalls(checksum);
        let mut progress = Progress::new(self, offer);
        let mut done = 0u64;
        let compressed: HashSet<&str> = offer.compressed_objects.iter().map(String::as_str).collect();
        for (n, f) in missing.iter().enumerate() {
            cancel.check()?;
            if let Err(e) = self.fetch_object(objects_url, f, compressed.contains(f.sha256.as_str()), cancel) {
                return Err(match object_failure(e, &offer.version, n, missing.len()) {
                    Stop::Retry(e) if counts_as_stall(&e) => {
                        let stalls = if n == 0 { stalls + 1 } else { 0 };
                        if stalls >= MAX_STALLED_ATTEMPTS {
                            self.record_delta_stalls(checksum, 0)?;
                            Stop::Full(e)
                        } else {
                            self.record_delta_stalls(checksum, stalls)?;
                            Stop::Retry(e)
                        }
                    }
                    stop => stop,
                });
            }
            done += f.size;
            progress.download(done, missing_bytes.max(1));
        }
        let local = self.local_index()?;
        let staging = self.layout.new_staging()?;
        let mut buf = vec![0u8; 256 * 1024];
        // The manifest's paths passed the unpack path policy (ReleaseManifest::parse); this is a second guard.
        crate::unpack::check_file_list(files, &crate::unpack::Limits::default())?;
        let builtin = &self.config.device.builtin_dir;
        let base = fsutil::DirFd::open(staging.path())?;
        for f in files {
            cancel.check()?;
            let src = local.get(&f.sha256).ok_or_else(|| {
                Error::Storage(format!("object {} for {} vanished during the install; retry", f.sha256, f.path))
            })?;
            let dst = staging.path().join(&f.path);
            if !dst.starts_with(staging.path()) {
                return Err(Error::rejected("bad_metadata", format!("{} leaves the bundle directory", f.path)).into());
            }
            if let Some((parent, _)) = f.path.rsplit_once('/') {
                base.mkdirs(parent)?;
            }
            // Files of the builtin bundle live outside our root and are not ours to share: always copied.
            let linked = !src.starts_with(builtin) && link_new(src, &base, &f.path)?;
            if !linked {
                copy_new(src, &base, &f.path)?;
            }
            if !hash_is(&dst, f, &mut buf) {
                return Err(Error::rejected(
                    "file_list_mismatch",
                    format!("{} assembled from local files does not match the signed list; retrying in full", f.path),
                )
                .into());
            }
            progress.unpack(f.size);
        }
        Ok(Some(self.commit_tree(staging, offer, checksum, files.clone())?))
    }

    /// How many attempts in a row fetched no object of the release with bundle `checksum`.
    fn delta_stalls(&self, checksum: &str) -> u32 {
        let Ok(Some(json)) = store::kv_get(self.store().read(), STALLS_KEY) else { return 0 };
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        match v["checksum"].as_str() == Some(checksum) {
            true => v["stalls"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            false => 0,
        }
    }

    fn record_delta_stalls(&self, checksum: &str, stalls: u32) -> Result<()> {
        let json = serde_json::json!({ "checksum": checksum, "stalls": stalls }).to_string();
        let mut store = self.store();
        let _lock = fsutil::FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| store::kv_set(tx, STALLS_KEY, &json))
    }

    /// SHA-256 → a local file with that content: fetched objects, installed bundles, the builtin bundle.
    fn local_index(&self) -> Result<HashMap<String, PathBuf>> {
        let mut index = HashMap::new();
        for (sha, rel) in self.builtin_hashes()? {
            index.insert(sha, self.config.device.builtin_dir.join(rel));
        }
        let rows = store::list_bundles(self.store().read())?;
        for row in rows.iter().filter(|r| matches!(r.status, BundleStatus::Pending | BundleStatus::Success)) {
            let dir = self.layout.bundle(&row.id);
            if !dir.is_dir() {
                continue;
            }
            let Some(json) = store::bundle_files(self.store().read(), &row.id)? else { continue };
            for f in serde_json::from_str::<Vec<FileEntry>>(&json).unwrap_or_default() {
                index.insert(f.sha256, dir.join(f.path));
            }
        }
        if let Ok(entries) = fs::read_dir(self.layout.objects()) {
            for e in entries.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().into_owned();
                // Only regular files (`file_type` does not follow links): a planted link is never a source.
                let regular = e.file_type().is_ok_and(|t| t.is_file());
                if regular && name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    index.insert(name, e.path());
                }
            }
        }
        Ok(index)
    }

    /// Hashes of the builtin bundle's files, computed once per native build and cached.
    fn builtin_hashes(&self) -> Result<Vec<(String, String)>> {
        let key = format!("builtin_index:{}", self.config.device.native_build);
        if let Some(json) = store::kv_get(self.store().read(), &key)?
            && let Ok(v) = serde_json::from_str(&json)
        {
            return Ok(v);
        }
        let root = &self.config.device.builtin_dir;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for e in entries.filter_map(|e| e.ok()) {
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(p),
                    Ok(t) if t.is_file() => {
                        if let (Some(sha), Ok(rel)) = (hash_file(&p, &mut buf), p.strip_prefix(root)) {
                            out.push((sha, rel.to_string_lossy().into_owned()));
                        }
                    }
                    _ => {}
                }
            }
        }
        let json = serde_json::to_string(&out).map_err(|e| Error::Storage(e.to_string()))?;
        let mut store = self.store();
        let _lock = crate::fsutil::FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| store::kv_set(tx, &key, &json))?;
        Ok(out)
    }

    /// Fetches one object into `objects/<sha256>`, verified here against the signed entry (whatever the transport
    /// calls a mismatch); deflated when the publisher offers it. Nothing but a complete object is left behind.
    /// Fetches and stores one object. Bytes that are not the signed ones (an object's name is its hash, so they
    /// were spoiled on the way or by a cache) are fetched again at once, up to [`OBJECT_TRIES`] times in all; only
    /// then does the delta give way to the full bundle (the object on the server is not the signed one).
    fn fetch_object(&self, base: &str, f: &FileEntry, deflated: bool, cancel: &Cancel) -> Result<()> {
        let mut tries = 1;
        loop {
            match self.fetch_object_once(base, f, deflated, cancel) {
                Err(e) if e.transit_code().is_some() && tries < OBJECT_TRIES => {
                    log::info!("{e}; fetching the object for {} again", f.path);
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    fn fetch_object_once(&self, base: &str, f: &FileEntry, deflated: bool, cancel: &Cancel) -> Result<()> {
        let dir = self.layout.objects();
        let target = dir.join(&f.sha256);
        let name = if deflated { format!("{}.deflate", f.sha256) } else { f.sha256.clone() };
        // One resumable part per object: a cut fetch resumes at the next attempt (Range + If-Range, as bundles
        // do). Its lock keeps two installs (two processes of the app) from writing the same part; the holder
        // unlinks it (takers re-check the inode), so lock files never accumulate.
        let part = dir.join(format!("{name}.part"));
        let sidecar = dir.join(format!("{name}.part.json"));
        let lock_path = dir.join(format!("{name}.lock"));
        let Some(lock) = fsutil::FileLock::try_exclusive_current(&lock_path)? else {
            return Err(Error::Network(format!(
                "the object for {} is being fetched by another process of the app; will retry",
                f.path
            )));
        };
        let url = join_url(base, &name)?;
        let spec = DownloadSpec {
            url: &url,
            part_path: &part,
            sidecar_path: &sidecar,
            // A raw object is its signed bytes: the transfer checks them (and refetches a resumed part that fails
            // from zero). A deflated one is checked once inflated.
            expected_sha256: (!deflated).then_some(f.sha256.as_str()),
            expected_size: (!deflated).then_some(f.size),
            max_bytes: if deflated { f.size.saturating_add(f.size / 8).saturating_add(64 * 1024) } else { f.size },
        };
        let got = self.http.download(&spec, cancel, &mut |_, _| {});
        // The bytes of a cut transfer crossed the network too.
        self.count_fetched(match &got {
            Ok(got) => got.fetched,
            Err(_) => fs::metadata(&part).map(|m| m.len()).unwrap_or(0),
        });
        let result = got.and_then(|got| {
            if deflated {
                inflate_verified(&part, &target, f)
            } else if got.size == f.size && got.sha256 == f.sha256 {
                publish_object(&part, &target)
            } else {
                Err(Error::corrupt_in_transit(
                    "checksum_mismatch",
                    format!(
                        "object for {} is {} bytes with SHA-256 {}, not the signed {} bytes with {} (corrupt in \
                         transit or changed on the server)",
                        f.path, got.size, got.sha256, f.size, f.sha256
                    ),
                ))
            }
        });
        // Keep a part only when it holds bytes to resume from after a transient failure.
        let resumable =
            matches!(&result, Err(e) if e.is_transient() || matches!(e, Error::Cancelled)) && file_len(&part) > 0;
        if !resumable {
            let _ = fsutil::remove_path(&sidecar);
            let _ = fsutil::remove_path(&part);
        }
        if let Err(e) = lock.remove(&lock_path) {
            log::warn!("could not remove {}: {e}", lock_path.display());
        }
        result
    }
}

/// Classifies a failed object fetch: the delta is retried later (the objects fetched so far are kept) unless the
/// delta cannot work for this release — the server refuses the object (404, 410, 403…), its bytes are not the signed
/// ones, or local storage failed in a way the full download (which does not write `objects/`) avoids.
fn object_failure(e: Error, version: &str, fetched: usize, missing: usize) -> Stop {
    let retry = match &e {
        Error::Cancelled | Error::DiskFull(_) => true,
        Error::Storage(_) | Error::Database(_) => false,
        e => e.is_transient() && !refused_by_server(e) && e.kind_name() != "corrupt_in_transit",
    };
    if !retry {
        return Stop::Full(e);
    }
    match e {
        Error::Network(why) => Stop::Retry(Error::Network(format!(
            "{why} (delta update of {version}: {fetched} of the {missing} missing files were fetched and are kept; the \
             other {} are fetched at the next attempt)",
            missing - fetched
        ))),
        e => Stop::Retry(e),
    }
}

/// A transport failure (not a cancel, not a full disk) that the full bundle might not meet.
fn counts_as_stall(e: &Error) -> bool {
    !matches!(e, Error::Cancelled | Error::DiskFull(_))
}

/// True when the server answered that it will not serve the object: a 4xx other than 408 and 429 (404/410, or
/// the 403 a private bucket answers for a missing key). Read from the status `http` puts in its message.
fn refused_by_server(e: &Error) -> bool {
    let message = e.to_string();
    message.match_indices("HTTP ").any(|(at, _)| {
        let code = message.get(at + 5..at + 8).and_then(|d| d.parse::<u16>().ok());
        code.is_some_and(|c| (400..500).contains(&c) && c != 408 && c != 429)
    })
}

/// Hard-links `src` to the new name `rel` below `base` (`linkat` from the staging descriptor); `Ok(false)` when
/// the file system cannot link or `src` is not a regular file (then `copy_new`, which refuses a link). Any other
/// failure, an existing name above all, is an error: never write through an existing name, never link a
/// symbolic link into a bundle tree.
fn link_new(src: &Path, base: &fsutil::DirFd, rel: &str) -> Result<bool> {
    if !fs::symlink_metadata(src).is_ok_and(|m| m.is_file()) {
        return Ok(false);
    }
    match base.hard_link_new(src, rel) {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::CrossesDevices
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::Unsupported
            ) || e.raw_os_error() == Some(libc::EMLINK) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::io(format!("link {rel}"), e)),
    }
}

/// Copies into the new name `rel` below `base` (`openat` with `O_CREAT | O_EXCL | O_NOFOLLOW`), following a
/// symbolic link at neither end.
fn copy_new(src: &Path, base: &fsutil::DirFd, rel: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut input = fs::OpenOptions::new()
        .read(true)
        .custom_flags(fsutil::NOFOLLOW)
        .open(src)
        .map_err(|e| Error::io(format!("copy {rel} from {}", src.display()), e))?;
    let mut out = base.create_new(rel)?;
    std::io::copy(&mut input, &mut out).map_err(|e| Error::io(format!("copy {rel}"), e))?;
    Ok(())
}

fn publish_object(part: &Path, target: &Path) -> Result<()> {
    File::open(part).and_then(|f| f.sync_all()).map_err(|e| Error::io("sync object", e))?;
    fs::rename(part, target).map_err(|e| Error::io(format!("store object {}", target.display()), e))
}

/// Inflates a raw-deflate object while hashing it; stores it only if size and SHA-256 match the signed entry.
fn inflate_verified(part: &Path, target: &Path, f: &FileEntry) -> Result<()> {
    let tmp = part.with_extension("inflating");
    let result = inflate_verified_to(part, &tmp, target, f);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn inflate_verified_to(part: &Path, tmp: &Path, target: &Path, f: &FileEntry) -> Result<()> {
    let input = File::open(part).map_err(|e| Error::io("open object", e))?;
    let mut reader = flate2::read::DeflateDecoder::new(input).take(f.size + 1);
    let mut out = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new().write(true).create(true).truncate(true).custom_flags(fsutil::NOFOLLOW).open(tmp)
    }
    .map_err(|e| Error::io(format!("create object {}", tmp.display()), e))?;
    let mut h = Sha256::new();
    let mut n = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let k = reader.read(&mut buf).map_err(|e| {
            Error::corrupt_in_transit("corrupt_object", format!("object {} does not inflate: {e}", f.sha256))
        })?;
        if k == 0 {
            break;
        }
        let chunk = buf.get(..k).unwrap_or_default();
        h.update(chunk);
        n += k as u64;
        out.write_all(chunk).map_err(|e| Error::io("write object", e))?;
    }
    if n != f.size || hex::encode(h.finalize()) != f.sha256 {
        return Err(Error::corrupt_in_transit(
            "checksum_mismatch",
            format!("object for {} does not match the signed list (corrupt or changed on the server)", f.path),
        ));
    }
    out.sync_all().map_err(|e| Error::io("sync object", e))?;
    fs::rename(tmp, target).map_err(|e| Error::io("store object", e))
}

fn hash_file(path: &Path, buf: &mut [u8]) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let mut h = Sha256::new();
    loop {
        let n = f.read(buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n)?);
    }
    Some(hex::encode(h.finalize()))
}

fn hash_is(path: &Path, f: &FileEntry, buf: &mut [u8]) -> bool {
    fs::metadata(path).is_ok_and(|m| m.len() == f.size) && hash_file(path, buf).is_some_and(|h| h == f.sha256)
}

/// Removes fetched objects no bundle links to any more (link count 1: only `objects/` names them), once they are
/// older than a grace period (a concurrent delta install may have fetched them and not linked them yet). The caller
/// holds the root lock. `DirEntry::metadata` does not follow links: a planted link is not a file and stays (the
/// next start removes it), and `remove_file` would only unlink it.
pub(crate) fn gc_objects(objects: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir(objects) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        if e.metadata().is_ok_and(|m| m.is_file() && m.nlink() == 1 && older_than(&m, 10 * 60)) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// At start-up (under the root lock): removes temporaries of object fetches that a crash interrupted (an hour
/// old: another process may be fetching right now).
pub(crate) fn sweep_objects(objects: &Path) {
    let Ok(entries) = fs::read_dir(objects) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let finished = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if !finished && e.metadata().is_ok_and(|m| older_than(&m, 3600)) {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// File age by the file system's own clock (not the injected one: mtimes are wall-clock time).
fn older_than(m: &fs::Metadata, secs: u64) -> bool {
    m.modified().ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > secs)
}
