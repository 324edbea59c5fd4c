//! The install pipeline: resolve → download → hash → decrypt → unpack → fsync → rename → one transaction.
//! Invariant: a failure at any step leaves the serving state untouched, removes staging, and keeps only a
//! resumable partial download (and only when the failure was a network or storage fault: bytes corrupt in
//! transit are discarded); a successful install leaves no download behind, its own or any other idle one, and
//! no lock file.

use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter};
use std::os::unix::fs::OpenOptionsExt;

use crate::agent::Agent;
use crate::boot;
use crate::crypto;
use crate::envelope;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{BundleInfo, BundleStatus, Cancel, Event};
use crate::fsutil::{self, FileLock};
use crate::http::DownloadSpec;
use crate::layout::DownloadPaths;
use crate::release::{Encryption, RELEASE_PAYLOAD_TYPE, ReleaseManifest};
use crate::store::{self, BundleRow};
use crate::unpack::{self, FileEntry, Limits};

/// JS `download({url, version, checksum?, sessionKey?})`, or a signed release manifest URL.
#[derive(Debug, Clone, Default)]
pub struct DownloadRequest {
    pub url: Option<String>,
    pub version: Option<String>,
    /// SHA-256 (hex) of the bundle as served.
    pub checksum: Option<String>,
    /// Capgo's RSA session key (Capgo-encrypted bundles): not supported yet.
    pub session_key: Option<String>,
    /// URL of a signed release manifest (`airlock.release.v1` envelope).
    pub manifest_url: Option<String>,
}

/// A resolved offer: everything the pipeline needs to fetch and check one bundle.
#[derive(Debug, Clone)]
pub struct Offer {
    pub url: String,
    pub version: String,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    pub encryption: Option<Encryption>,
    pub files: Option<Vec<FileEntry>>,
    pub release: Option<u64>,
    pub link: Option<String>,
    pub comment: Option<String>,
    /// Base URL of the release's per-file objects (`<repo>/<app>/objects/`), for file-level delta updates.
    pub objects_url: Option<String>,
    /// Objects also published deflated (`<sha256>.deflate`) because that is smaller.
    pub compressed_objects: Vec<String>,
}

/// Largest manifest document accepted.
const MAX_MANIFEST_BYTES: u64 = crate::release::MAX_MANIFEST_BYTES;
/// Hard cap on an unsigned download's size.
const MAX_UNSIGNED_BYTES: u64 = 1 << 30;

impl Agent {
    /// Downloads, verifies and unpacks a bundle without activating it. Emits `download` progress by bytes,
    /// then `downloadComplete` + `updateAvailable`, or `downloadFailed`.
    pub fn download(&self, req: &DownloadRequest, cancel: &Cancel) -> Result<BundleInfo> {
        let version = req.version.clone().unwrap_or_default();
        let result = self.resolve(req, cancel).and_then(|offer| self.install(&offer, cancel));
        if let Err(e) = &result {
            if e.kind() != crate::error::ErrorKind::Usage && e.kind() != crate::error::ErrorKind::Cancelled {
                let _ = self.queue_stat("download_fail", &version, None, Some(&e.to_string()));
            }
            self.emit(Event::DownloadFailed { version, reason: e.to_string() });
        }
        result
    }

    /// Turns a request into an offer, verifying the signed manifest when there is one.
    pub fn resolve(&self, req: &DownloadRequest, cancel: &Cancel) -> Result<Offer> {
        if req.session_key.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Error::rejected(
                "unsupported_encryption",
                "Capgo sessionKey (RSA/AES) bundles are not supported; publish with `airlock release --encrypt`",
            ));
        }
        if let Some(manifest_url) = &req.manifest_url {
            return self.resolve_manifest(manifest_url, cancel);
        }
        if !self.trusted.is_empty() {
            return Err(Error::rejected(
                "unsigned",
                "this app only installs signed bundles (trustedKeys is set); publish with `airlock release` and \
                 download with the signed manifest URL",
            ));
        }
        let url = req.url.clone().ok_or_else(|| Error::InvalidRequest("download needs a url or a manifest".into()))?;
        let version = req.version.clone().ok_or_else(|| Error::InvalidRequest("download needs a version".into()))?;
        let sha256 = match &req.checksum {
            Some(c) if !c.is_empty() => {
                let c = c.trim().to_ascii_lowercase();
                if c.len() != 64 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::InvalidRequest(format!(
                        "checksum \"{c}\" is not a SHA-256 hex digest (64 hex digits)"
                    )));
                }
                Some(c)
            }
            _ => None,
        };
        Ok(Offer {
            url,
            version,
            sha256,
            size: None,
            encryption: None,
            files: None,
            release: None,
            link: None,
            comment: None,
            objects_url: None,
            compressed_objects: Vec::new(),
        })
    }

    fn resolve_manifest(&self, manifest_url: &str, cancel: &Cancel) -> Result<Offer> {
        let raw = self.http.get_bytes(manifest_url, MAX_MANIFEST_BYTES, cancel)?;
        self.count_fetched(raw.len() as u64);
        self.resolve_manifest_bytes(manifest_url, &raw)
    }

    /// Verifies a release envelope fetched from `manifest_url` and turns it into an offer for this device.
    pub(crate) fn resolve_manifest_bytes(&self, manifest_url: &str, raw: &[u8]) -> Result<Offer> {
        if self.trusted.is_empty() {
            return Err(Error::Config(
                "a signed manifest was given but no trustedKeys are configured to verify it; add the publisher's \
                 public key to CapacitorUpdater.trustedKeys"
                    .into(),
            ));
        }
        let payload =
            envelope::verify(raw, RELEASE_PAYLOAD_TYPE, &self.trusted, self.config.plugin.signature_threshold)?;
        let m = ReleaseManifest::parse(&payload)?;
        let d = &self.config.device;
        m.check_for_device(self.config.app_id(), &d.platform, &d.native_version)?;
        let url = join_url(manifest_url, &m.bundle.url)?;
        let meta = m.metadata.clone().unwrap_or_default();
        // Objects are plaintext: encrypted releases are only ever fetched whole.
        let objects_url = m.bundle.encryption.is_none().then(|| join_url(manifest_url, "../objects/")).transpose()?;
        Ok(Offer {
            url,
            version: m.version.clone(),
            sha256: Some(m.bundle.sha256.clone()),
            size: Some(m.bundle.size),
            encryption: m.bundle.encryption.clone(),
            files: Some(m.files),
            release: Some(m.release),
            link: meta.link,
            comment: meta.comment,
            objects_url,
            compressed_objects: m.compressed_objects,
        })
    }

    /// Runs the pipeline for a resolved offer.
    pub fn install(&self, offer: &Offer, cancel: &Cancel) -> Result<BundleInfo> {
        // Refuse early: blocklisted, already installed, not enough space.
        {
            let store = self.store();
            if let Some(why) = store::blocklisted(store.read(), offer.sha256.as_deref(), offer.release)? {
                return Err(blocked(&offer.version, &why));
            }
            if let Some(sha) = &offer.sha256
                && let Some(row) = store::find_by_checksum(store.read(), sha)?
                && self.layout.bundle(&row.id).is_dir()
            {
                return Ok(boot::row_info(&row));
            }
        }
        if offer.encryption.is_some() && self.config.plugin.encryption_key.is_none() {
            return Err(Error::rejected(
                "wrong_key",
                "the bundle is encrypted but the app has no encryptionKey configured",
            ));
        }
        if let Some(size) = offer.size {
            let unpacked = offer.files.as_deref().map(total_size).unwrap_or(size);
            self.require_space(size.saturating_mul(2).saturating_add(unpacked))?;
        }
        self.http.check_url(&offer.url)?;
        // A transient failure of a delta fails the call (its objects are kept for the next attempt); `None` when
        // the full bundle is the way.
        if let Some(info) = self.try_delta(offer, cancel)? {
            self.forget_idle_downloads();
            return Ok(info);
        }
        let key = download_key(offer);
        let paths = self.layout.download(&key);
        let dl_lock = FileLock::try_exclusive_current(&paths.lock)?.ok_or_else(|| {
            Error::InvalidRequest(format!("{} is already being downloaded by another call", offer.version))
        })?;
        let result = self.fetch_and_unpack(offer, &paths, cancel);
        match &result {
            Ok(_) => {
                for p in [&paths.part, &paths.sidecar, &paths.plain] {
                    let _ = fsutil::remove_path(p);
                }
            }
            Err(e) => {
                let _ = fsutil::remove_path(&paths.plain);
                let resumable = matches!(e.kind(), ErrorKind::Transient | ErrorKind::Cancelled)
                    && !matches!(e, Error::CorruptInTransit { .. });
                if !resumable {
                    let _ = fsutil::remove_path(&paths.part);
                    let _ = fsutil::remove_path(&paths.sidecar);
                }
            }
        }
        // Lock files do not accumulate: the holder unlinks it (every taker re-checks that the path still names
        // the file it locked), under the global lock so the sweep at open never holds a stale one.
        match FileLock::exclusive(&self.layout.lock()) {
            Ok(_global) => {
                if let Err(e) = dl_lock.remove(&paths.lock) {
                    log::warn!("could not remove the download lock: {e}");
                }
            }
            Err(e) => log::warn!("download lock {} kept: {e}", paths.lock.display()),
        }
        if result.is_ok() {
            self.forget_idle_downloads();
        }
        result
    }

    /// After an install: downloads nobody is working on are for releases no longer wanted; remove them.
    fn forget_idle_downloads(&self) {
        let removed = FileLock::exclusive(&self.layout.lock())
            .and_then(|_global| self.layout.sweep_downloads(self.clock.now_ms(), None));
        match removed {
            Ok(0) => {}
            Ok(n) => log::info!("removed {n} partial downloads left for older releases"),
            Err(e) => log::warn!("could not remove older partial downloads: {e}"),
        }
    }

    fn fetch_and_unpack(&self, offer: &Offer, paths: &DownloadPaths, cancel: &Cancel) -> Result<BundleInfo> {
        let mut progress = Progress::new(self, offer);
        let spec = DownloadSpec {
            url: &offer.url,
            part_path: &paths.part,
            sidecar_path: &paths.sidecar,
            expected_sha256: offer.sha256.as_deref(),
            expected_size: offer.size,
            max_bytes: offer.size.unwrap_or(MAX_UNSIGNED_BYTES),
        };
        let got = self.http.download(&spec, cancel, &mut |done, total| progress.download(done, total));
        if let Err(e) = &got
            && e.is_transient()
        {
            // Bytes of a cut transfer still crossed the network; the part file holds them.
            self.count_fetched(std::fs::metadata(&paths.part).map(|m| m.len()).unwrap_or(0));
        }
        let got = got?;
        self.count_fetched(got.fetched);
        // The served bytes are checked before anything parses or decrypts them.
        if let Some(expected) = &offer.sha256
            && &got.sha256 != expected
            && offer.size.is_none()
        {
            return Err(Error::rejected(
                "checksum_mismatch",
                format!("bundle sha256 is {} but {expected} was expected; the bundle is corrupt", got.sha256),
            ));
        }
        if let Some(expected) = &offer.sha256
            && &got.sha256 != expected
        {
            return Err(Error::corrupt_in_transit(
                "checksum_mismatch",
                format!(
                    "the downloaded bundle has SHA-256 {} but {expected} was expected; it was discarded and will \
                     be downloaded again",
                    got.sha256
                ),
            ));
        }
        if let Some(why) = store::blocklisted(self.store().read(), Some(&got.sha256), None)? {
            return Err(blocked(&offer.version, &why));
        }
        if offer.size.is_none() && offer.encryption.is_none() {
            // Unsigned: the size of the tree is only known now, from the zip's central directory. Refuse before
            // writing a byte of it rather than fill the disk while unpacking.
            // An archive whose directory cannot be read cheaply (ZIP64, damaged) is left to the unpacker to judge,
            // with the old rough guess of twice the download.
            let declared = declared_uncompressed_total(&paths.part).unwrap_or(got.size.saturating_mul(2));
            self.require_space_for_unsigned(declared, got.size)?;
        }
        let zip_path = match &offer.encryption {
            None => paths.part.clone(),
            Some(enc) => {
                self.decrypt_to(enc, paths, cancel)?;
                paths.plain.clone()
            }
        };
        cancel.check()?;
        let staging = self.layout.new_staging()?;
        let limits =
            Limits { max_total_bytes: offer.files.as_deref().map(total_size).unwrap_or(4 << 30), ..Limits::default() };
        let files = unpack::unpack(&zip_path, staging.path(), &limits, offer.files.as_deref(), cancel, &mut |n| {
            progress.unpack(n)
        })?;
        cancel.check()?;
        self.commit_tree(staging, offer, &got.sha256, files)
    }

    /// Publishes a complete staged tree and records it as `pending` in one transaction; emits the completion
    /// events. Shared by full and delta installs.
    pub(crate) fn commit_tree(
        &self,
        staging: crate::layout::Staging,
        offer: &Offer,
        checksum: &str,
        files: Vec<FileEntry>,
    ) -> Result<BundleInfo> {
        let files_json = serde_json::to_string(&files)
            .map_err(|e| Error::Storage(format!("could not record the file list: {e}")))?;
        let row = BundleRow {
            id: fsutil::random_id(10)?,
            version: offer.version.clone(),
            checksum: checksum.to_string(),
            status: BundleStatus::Pending,
            downloaded_ms: self.clock.now_ms(),
            link: offer.link.clone(),
            comment: offer.comment.clone(),
            release: offer.release,
            file_count: files.len() as u64,
            total_size: total_size(&files),
            verified: false,
            boot_failures: 0,
        };
        {
            let mut store = self.store();
            let _lock = FileLock::exclusive(&self.layout.lock())?;
            // Re-check under the lock: another install of the same bytes may have committed, or the release may
            // have failed or been revoked, while this one was downloading.
            if let Some(why) = store::blocklisted(store.read(), Some(checksum), offer.release)? {
                return Err(blocked(&offer.version, &why));
            }
            if let Some(existing) = store::find_by_checksum(store.read(), checksum)?
                && self.layout.bundle(&existing.id).is_dir()
            {
                return Ok(boot::row_info(&existing));
            }
            staging.publish(&self.layout.bundle(&row.id))?;
            let event_id = fsutil::random_id(20)?;
            let now = self.clock.now_ms();
            store.write(|tx| {
                store::insert_bundle(tx, &row, &files_json)?;
                store::queue_event(tx, &event_id, now, "download_complete", &row.version, None, None)
            })?;
        }
        let info = boot::row_info(&row);
        self.emit(Event::Download { percent: 100, bundle: info.clone() });
        self.emit(Event::DownloadComplete { bundle: info.clone() });
        self.emit(Event::UpdateAvailable { bundle: info.clone() });
        Ok(info)
    }

    fn decrypt_to(&self, enc: &Encryption, paths: &DownloadPaths, cancel: &Cancel) -> Result<()> {
        let key = self.config.plugin.encryption_key.as_ref().ok_or_else(|| {
            Error::rejected("wrong_key", "the bundle is encrypted but the app has no encryptionKey configured")
        })?;
        let bundle_key = crypto::unwrap_key(key, &enc.wrapped_key)?;
        let input = File::open(&paths.part).map_err(|e| Error::io("open downloaded bundle", e))?;
        let out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(fsutil::NOFOLLOW)
            .open(&paths.plain)
            .map_err(|e| Error::io(format!("create decrypted bundle {}", paths.plain.display()), e))?;
        let mut w = BufWriter::with_capacity(256 * 1024, out);
        crypto::decrypt(
            &bundle_key,
            Some(enc.chunk_size),
            BufReader::with_capacity(256 * 1024, input),
            &mut w,
            MAX_UNSIGNED_BYTES * 4,
            cancel,
        )?;
        w.into_inner().map_err(|e| Error::io("write decrypted bundle", e.into_error()))?;
        Ok(())
    }

    /// An unsigned zip of `download` bytes declaring `declared` uncompressed bytes needs both on disk.
    fn require_space_for_unsigned(&self, declared: u64, download: u64) -> Result<()> {
        const MARGIN: u64 = 16 << 20;
        let needed = declared.saturating_add(download).saturating_add(MARGIN);
        if let Some(free) = fsutil::free_space(self.layout.root())
            && free < needed
        {
            return Err(Error::DiskFull(format!(
                "the bundle's zip declares {} MiB of files; unpacking it needs about {} MiB but only {} MiB are \
                 free; nothing was unpacked; free some space and retry",
                declared >> 20,
                needed >> 20,
                free >> 20
            )));
        }
        Ok(())
    }

    fn require_space(&self, needed: u64) -> Result<()> {
        const MARGIN: u64 = 16 << 20;
        if let Some(free) = fsutil::free_space(self.layout.root())
            && free < needed.saturating_add(MARGIN)
        {
            return Err(Error::DiskFull(format!(
                "installing needs about {} MiB but only {} MiB are free; free some space and retry",
                (needed + MARGIN) >> 20,
                free >> 20
            )));
        }
        Ok(())
    }
}

/// The uncompressed total the zip's central directory declares, when it can be read (else the unpacker
/// reports what is wrong with the archive).
fn declared_uncompressed_total(zip_path: &std::path::Path) -> Option<u64> {
    // The entry count comes first, from the end record: a hostile directory is never parsed (the unpacker
    // refuses it with its own message).
    let count = end_record_entries(zip_path)?;
    if count > Limits::default().max_entries as u64 {
        return None;
    }
    let file = File::open(zip_path).ok()?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).ok()?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        total = total.saturating_add(archive.by_index_raw(i).ok()?.size());
    }
    Some(total)
}

/// The entry count of a zip's end-of-central-directory record (`None` when it is missing or ZIP64).
fn end_record_entries(zip_path: &std::path::Path) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(zip_path).ok()?;
    let len = file.metadata().ok()?.len();
    let tail_len = len.min(22 + 65_535);
    file.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = vec![0u8; usize::try_from(tail_len).ok()?];
    file.read_exact(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])?;
    let entries = tail.get(at + 10..at + 12)?;
    let entries = u16::from_le_bytes([entries[0], entries[1]]);
    (entries != u16::MAX).then_some(u64::from(entries))
}

/// Sum of signed file sizes, saturating (sizes come from the network).
fn total_size(files: &[FileEntry]) -> u64 {
    files.iter().map(|f| f.size).fold(0, u64::saturating_add)
}

fn blocked(version: &str, why: &str) -> Error {
    Error::rejected(
        "blocklisted",
        format!("bundle {version} failed on this device before ({why}) and will not be installed again"),
    )
}

/// Stable key of a download, so a later attempt at the same bundle resumes it.
fn download_key(offer: &Offer) -> String {
    let mut h = Sha256::new();
    h.update(offer.url.as_bytes());
    h.update([0]);
    h.update(offer.sha256.as_deref().unwrap_or("").as_bytes());
    hex::encode(&h.finalize()[..12])
}

/// Resolves a bundle URL relative to its manifest.
pub(crate) fn join_url(base: &str, rel: &str) -> Result<String> {
    let base = reqwest::Url::parse(base).map_err(|e| Error::InvalidRequest(format!("bad manifest url {base}: {e}")))?;
    base.join(rel)
        .map(|u| u.to_string())
        .map_err(|e| Error::rejected("bad_metadata", format!("bundle url \"{rel}\" is invalid: {e}")))
}

/// Maps bytes to Capgo's `download` percent: 0–90 while downloading, 90–99 while unpacking, 100 at the end.
pub(crate) struct Progress<'a> {
    agent: &'a Agent,
    info: BundleInfo,
    unpack_total: u64,
    unpacked: u64,
    last: Option<u32>,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(agent: &'a Agent, offer: &Offer) -> Self {
        let info = BundleInfo {
            id: String::new(),
            version: offer.version.clone(),
            downloaded: String::new(),
            checksum: offer.sha256.clone().unwrap_or_default(),
            status: BundleStatus::Downloading,
            link: offer.link.clone(),
            comment: offer.comment.clone(),
        };
        let unpack_total = offer.files.as_deref().map(total_size).unwrap_or(0);
        Progress { agent, info, unpack_total, unpacked: 0, last: None }
    }

    fn send(&mut self, percent: u32) {
        if self.last.is_none_or(|l| percent > l) {
            self.last = Some(percent);
            self.agent.emit(Event::Download { percent, bundle: self.info.clone() });
        }
    }

    pub(crate) fn download(&mut self, done: u64, total: u64) {
        if let Some(p) = (done.min(total) * 90).checked_div(total) {
            self.send(p as u32);
        }
    }

    pub(crate) fn unpack(&mut self, bytes: u64) {
        self.unpacked += bytes;
        if let Some(p) = (self.unpacked.min(self.unpack_total) * 9).checked_div(self.unpack_total) {
            self.send(90 + p as u32);
        }
    }
}
