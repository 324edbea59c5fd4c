//! Resumable download into `downloads/<key>.part`. Invariant: the sidecar is durable before the part receives
//! a byte; a part is appended to only under a matching sidecar, a strong ETag and a matching `Content-Range`;
//! at most `max_bytes` (or the expected size) is ever written, and a download of unknown size stops before free
//! space falls under [`free_space_reserve`]; bytes that do not match what was expected (corrupt in transit), a
//! rejected artifact and a part cut by a full disk leave no part or sidecar; a network failure leaves both for
//! the next resume; a resumed part whose final hash fails is refetched from byte zero once in the same call.

use reqwest::StatusCode;
use reqwest::blocking::Response;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE, RANGE};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::resume::{content_range_start, is_strong_etag};
use super::sidecar::{Sidecar, remove_if_exists};
use super::watchdog::Watchdog;
use super::{BUF_SIZE, Http, chain};
use crate::error::{Error, Result};
use crate::events::Cancel;
use crate::fsutil::{self, NOFOLLOW};

/// Progress is reported at most once per this many bytes (plus at the start and the end).
const PROGRESS_STEP: u64 = 64 * 1024;
/// Free space is measured (statvfs) at least once per this many bytes of a download of unknown size.
const SPACE_STEP: u64 = 1 << 20;
/// Fixed part of the free space a download of unknown size never eats into.
const RESERVE_FIXED: u64 = 8 << 20;
/// Share of the volume (1/50 = 2 %) added to the reserve.
const RESERVE_SHARE: u64 = 50;

/// Free space a download of unknown size (an unsigned bundle) leaves on a volume of `volume_bytes`: 8 MiB plus
/// 2 % of the volume, so the app, its database and the OS keep room to work (docs/decisions.md).
pub fn free_space_reserve(volume_bytes: u64) -> u64 {
    RESERVE_FIXED.saturating_add(volume_bytes / RESERVE_SHARE)
}

/// What to download and where.
#[derive(Debug, Clone, Copy)]
pub struct DownloadSpec<'a> {
    /// Where the bytes are served (checked against the transport policy before any request).
    pub url: &'a str,
    /// The partial download, `downloads/<key>.part`; after success it holds the complete bytes.
    pub part_path: &'a Path,
    /// The sidecar, `downloads/<key>.json`: url, expected sha256 and size, ETag.
    pub sidecar_path: &'a Path,
    /// Expected SHA-256, lowercase hex, when known (checksum or signed manifest).
    pub expected_sha256: Option<&'a str>,
    /// Expected size in bytes, when known (signed manifest).
    pub expected_size: Option<u64>,
    /// Hard cap on bytes accepted.
    pub max_bytes: u64,
}

/// A completed download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// SHA-256 (lowercase hex) of the whole file, resumed bytes included.
    pub sha256: String,
    /// Size of the complete file in bytes.
    pub size: u64,
    /// Bytes transferred over the network during this call.
    pub fetched: u64,
    /// Offset the successful transfer resumed from (0 for a fresh download).
    pub resumed_from: u64,
}

/// How one HTTP exchange ended when it did not fail.
enum Step {
    /// The body was fully received.
    Complete { hasher: Sha256, size: u64, length_known: bool, resumed_from: u64 },
    /// The server did not honour the range; the part must be discarded and fetched afresh.
    Restart(String),
}

impl Http {
    /// Resumable download into `spec.part_path`; see the module invariant. `progress(done, total)` counts
    /// resumed bytes in `done`; `total` is the expected size, else Content-Length plus offset, else 0.
    pub fn download(
        &self,
        spec: &DownloadSpec<'_>,
        cancel: &Cancel,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Downloaded> {
        self.check_url(spec.url)?;
        cancel.check()?;
        let expected_sha = spec.expected_sha256.map(|s| s.trim().to_ascii_lowercase());
        let cap = spec.expected_size.map_or(spec.max_bytes, |s| s.min(spec.max_bytes));
        for path in [spec.part_path, spec.sidecar_path] {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            }
        }
        let mut job = Job {
            http: self,
            spec,
            expected_sha: expected_sha.as_deref(),
            cap,
            cancel,
            progress,
            watchdog: self.watchdog(),
            buf: vec![0u8; BUF_SIZE],
            fetched: 0,
        };
        job.run()
    }
}

struct Job<'a, 'b> {
    http: &'a Http,
    spec: &'a DownloadSpec<'b>,
    expected_sha: Option<&'a str>,
    cap: u64,
    cancel: &'a Cancel,
    progress: &'a mut dyn FnMut(u64, u64),
    watchdog: Watchdog,
    buf: Vec<u8>,
    fetched: u64,
}

impl Job<'_, '_> {
    fn run(&mut self) -> Result<Downloaded> {
        let spec = self.spec;
        let prior = Sidecar::load(spec.sidecar_path);
        let part_len = match fs::metadata(spec.part_path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == IoErrorKind::NotFound => 0,
            Err(e) => {
                return Err(Error::io(format!("reading {}", spec.part_path.display()), e));
            }
        };
        let mut sidecar = Sidecar {
            url: spec.url.to_owned(),
            sha256: self.expected_sha.map(str::to_owned),
            size: spec.expected_size,
            etag: None,
        };
        let mut offset = 0;
        if let Some(prior) = prior.filter(|p| p.matches(spec.url, self.expected_sha))
            && part_len > 0
            && part_len <= self.cap
            && prior.etag.as_deref().is_some_and(is_strong_etag)
        {
            sidecar.etag = prior.etag.clone();
            offset = part_len;
            if prior != sidecar {
                sidecar.store(spec.sidecar_path)?;
            }
        } else {
            self.start_fresh(&mut sidecar)?;
        }

        if offset > 0 && Some(offset) == spec.expected_size {
            // A previous call received every byte; verify instead of asking for an empty range.
            let hasher = self.hash_part(offset)?;
            let got = hex::encode(hasher.clone().finalize());
            if self.expected_sha.is_none_or(|e| e == got) {
                return self.finish(hasher, offset, true, offset);
            }
            self.start_fresh(&mut sidecar)?;
            offset = 0;
        } else if offset > 0 && spec.expected_size.is_none() && self.expected_sha.is_some() {
            // Size unknown but checksum known: a part that already hashes right is complete (a later step of the
            // install failed transiently, e.g. a full disk); otherwise resume it as usual.
            let hasher = self.hash_part(offset)?;
            if self.expected_sha == Some(hex::encode(hasher.clone().finalize()).as_str()) {
                return self.finish(hasher, offset, true, offset);
            }
        }

        let mut restarted = false;
        loop {
            match self.exchange(&mut sidecar, offset)? {
                Step::Complete { hasher, size, length_known, resumed_from } => {
                    match self.finish(hasher, size, length_known, resumed_from) {
                        Err(Error::CorruptInTransit { message, .. }) if resumed_from > 0 && !restarted => {
                            // The resumed bytes (a torn part, a range spliced from another object) spoiled the
                            // file: finish deleted it; fetch the whole file once more before reporting anything.
                            log::info!("{message}; refetching {} from byte zero", spec.url);
                            self.start_fresh(&mut sidecar)?;
                            restarted = true;
                            offset = 0;
                        }
                        done => return done,
                    }
                }
                Step::Restart(why) => {
                    self.start_fresh(&mut sidecar)?;
                    if restarted || offset == 0 {
                        return Err(Error::Network(format!(
                            "{why}; the partial download was discarded and will start over"
                        )));
                    }
                    log::info!("{why}; restarting {} from zero", spec.url);
                    restarted = true;
                    offset = 0;
                }
            }
        }
    }

    /// Deletes the part and durably records a fresh sidecar (no ETag yet).
    fn start_fresh(&self, sidecar: &mut Sidecar) -> Result<()> {
        remove_if_exists(self.spec.part_path)?;
        sidecar.etag = None;
        sidecar.store(self.spec.sidecar_path)
    }

    /// One request/response; `offset` > 0 asks for the rest of the part.
    fn exchange(&mut self, sidecar: &mut Sidecar, offset: u64) -> Result<Step> {
        let spec = self.spec;
        let url = spec.url;
        let mut hasher = if offset > 0 { self.hash_part(offset)? } else { Sha256::new() };
        let mut req = self.http.client.get(url).header(ACCEPT_ENCODING, "identity");
        if offset > 0
            && let Some(etag) = sidecar.etag.as_deref()
        {
            req = req.header(RANGE, format!("bytes={offset}-")).header(IF_RANGE, etag);
        }
        if let Err(stall) = self.watchdog.check() {
            return Err(Error::Network(format!("downloading {url}: {}; {}", stall.describe(), self.kept())));
        }
        let resp = req.send().map_err(|e| self.http.request_error(url, &e, &self.kept()))?;
        let status = resp.status();
        let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        if status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT {
            let ctype = header(CONTENT_TYPE).unwrap_or("").to_ascii_lowercase();
            if ctype.starts_with("text/html") {
                return Err(Error::Network(format!(
                    "{url} returned an HTML page, not a bundle (captive portal? sign in to the network); {}",
                    self.kept()
                )));
            }
            if let Some(encoding) = header(CONTENT_ENCODING).filter(|e| !e.eq_ignore_ascii_case("identity")) {
                let encoding = encoding.to_owned();
                drop(resp);
                return Err(self.corrupt(
                    "content_encoding",
                    format!(
                        "{url} was served with Content-Encoding: {encoding} although the bytes as published were \
                         asked for (a CDN or proxy re-encodes the bundle; configure it not to compress .zip files)"
                    ),
                ));
            }
        }
        let start = match status {
            StatusCode::PARTIAL_CONTENT => {
                let range = header(CONTENT_RANGE).unwrap_or("");
                if content_range_start(range) != Some(offset) {
                    return Ok(Step::Restart(format!(
                        "the server answered the range request for {url} with Content-Range '{range}' \
                         instead of bytes {offset}-"
                    )));
                }
                offset
            }
            StatusCode::OK => {
                let etag = header(ETAG).map(str::to_owned);
                hasher = Sha256::new();
                if sidecar.etag != etag {
                    if offset > 0 {
                        // Never let old part bytes sit next to a sidecar naming the new object.
                        self.truncate_part()?;
                    }
                    sidecar.etag = etag;
                    sidecar.store(spec.sidecar_path)?;
                }
                0
            }
            StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
                return Ok(Step::Restart(format!("the server refused to resume {url} at byte {offset} (HTTP 416)")));
            }
            _ if status.is_redirection() => {
                return Err(super::policy::unfollowed_redirect(url, status.as_u16(), resp.headers())
                    .unwrap_or_else(|| self.http.status_error(url, status, resp.headers(), &self.kept())));
            }
            _ => return Err(self.http.status_error(url, status, resp.headers(), &self.kept())),
        };
        let length = resp.content_length();
        let total_hint = length.map(|l| start.saturating_add(l));
        if total_hint.is_some_and(|t| t > self.cap) {
            return Err(self.reject_too_large(total_hint.unwrap_or(0)));
        }
        let total = spec.expected_size.or(total_hint).unwrap_or(0);
        let mut file = if start == 0 {
            OpenOptions::new().write(true).create(true).truncate(true).custom_flags(NOFOLLOW).open(spec.part_path)
        } else {
            OpenOptions::new().append(true).custom_flags(NOFOLLOW).open(spec.part_path)
        }
        .map_err(|e| Error::io(format!("opening {}", spec.part_path.display()), e))?;
        let size = self.stream(resp, &mut file, &mut hasher, start, total)?;
        if let Err(e) = file.sync_data() {
            return Err(self.write_failed(e));
        }
        Ok(Step::Complete { hasher, size, length_known: length.is_some(), resumed_from: start })
    }

    /// Copies the body into `file`, hashing and counting; returns the part's final length.
    fn stream(
        &mut self,
        mut resp: Response,
        file: &mut File,
        hasher: &mut Sha256,
        start: u64,
        total: u64,
    ) -> Result<u64> {
        let url = self.spec.url;
        let mut done = start;
        let mut reported = start;
        let mut measured: Option<u64> = None;
        (self.progress)(done, total);
        loop {
            if let Err(e) = self.cancel.check() {
                let _ = file.sync_data();
                return Err(e);
            }
            let n = match resp.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = file.sync_data();
                    let detail = chain(&e);
                    let what = if detail.contains("timed out") {
                        format!("no data arrived for {} ms (responseTimeout)", self.http.options.response_timeout_ms)
                    } else {
                        detail
                    };
                    let of = if total > 0 { format!(" of {total}") } else { String::new() };
                    return Err(Error::Network(format!(
                        "the connection for {url} broke after {done}{of} bytes: {what}; {}",
                        self.kept()
                    )));
                }
            };
            self.fetched += n as u64;
            if done + n as u64 > self.cap {
                drop(resp);
                return Err(self.reject_too_large(done + n as u64));
            }
            if self.spec.expected_size.is_none() && measured.is_none_or(|m| done + n as u64 >= m + SPACE_STEP) {
                measured = Some(done);
                self.keep_reserve(done)?;
            }
            let chunk = &self.buf[..n];
            if let Err(e) = file.write_all(chunk) {
                return Err(self.write_failed(e));
            }
            hasher.update(chunk);
            done += n as u64;
            if done - reported >= PROGRESS_STEP {
                (self.progress)(done, total);
                reported = done;
            }
            if let Err(stall) = self.watchdog.on_bytes(n as u64) {
                let _ = file.sync_data();
                return Err(Error::Network(format!(
                    "downloading {url} stopped after {done} bytes: {}; {}",
                    stall.describe(),
                    self.kept()
                )));
            }
        }
        Ok(done)
    }

    /// Final checks: size, then checksum; rejections delete the part and sidecar.
    fn finish(&mut self, hasher: Sha256, size: u64, length_known: bool, resumed_from: u64) -> Result<Downloaded> {
        let spec = self.spec;
        if let Some(expected) = spec.expected_size
            && size != expected
        {
            if size < expected && !length_known {
                return Err(Error::Network(format!(
                    "the connection for {} closed after {size} of {expected} bytes; {}",
                    spec.url,
                    self.kept()
                )));
            }
            return Err(self.corrupt(
                "size_mismatch",
                format!("{} is {size} bytes but {expected} bytes were expected (short or spoiled body)", spec.url),
            ));
        }
        let sha256 = hex::encode(hasher.finalize());
        if let Some(expected) = self.expected_sha
            && expected != sha256
            && spec.expected_size.is_none()
            && resumed_from == 0
        {
            // Only a checksum given by the app (no signed manifest), fetched whole from byte zero: what the URL
            // serves is the artifact. (A resumed part that fails is torn or spliced: refetched from zero below.)
            return Err(self.reject(
                "checksum_mismatch",
                format!(
                    "{} has SHA-256 {sha256} but {expected} was expected: the bundle is corrupt or was \
                     changed on the server; it was deleted",
                    spec.url
                ),
            ));
        }
        if let Some(expected) = self.expected_sha
            && expected != sha256
        {
            return Err(self.corrupt(
                "checksum_mismatch",
                format!(
                    "{} has SHA-256 {sha256} but {expected} was expected (the bytes served are not the ones \
                     published: a middlebox, a cache or a torn partial file)",
                    spec.url
                ),
            ));
        }
        (self.progress)(size, spec.expected_size.unwrap_or(size));
        Ok(Downloaded { sha256, size, fetched: self.fetched, resumed_from })
    }

    /// Hashes the first `len` bytes of the existing part (streaming, cancellable).
    fn hash_part(&mut self, len: u64) -> Result<Sha256> {
        let path = self.spec.part_path;
        let ctx = || format!("reading the partial download {}", path.display());
        let mut file = File::open(path).map_err(|e| Error::io(ctx(), e))?;
        let mut hasher = Sha256::new();
        let mut left = len;
        while left > 0 {
            self.cancel.check()?;
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(self.buf.len());
            let n = match file.read(&mut self.buf[..want]) {
                Ok(0) => {
                    return Err(Error::Storage(format!("{} shrank while being read; retry", path.display())));
                }
                Ok(n) => n,
                Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(ctx(), e)),
            };
            hasher.update(&self.buf[..n]);
            left -= n as u64;
        }
        Ok(hasher)
    }

    /// Empties the part durably.
    fn truncate_part(&self) -> Result<()> {
        let path = self.spec.part_path;
        let file = OpenOptions::new()
            .write(true)
            .truncate(true)
            .custom_flags(NOFOLLOW)
            .open(path)
            .map_err(|e| Error::io(format!("truncating {}", path.display()), e))?;
        file.sync_all().map_err(|e| Error::io(format!("syncing {}", path.display()), e))
    }

    /// What a transient failure leaves behind, for the error message.
    fn kept(&self) -> String {
        match fs::metadata(self.spec.part_path).map(|m| m.len()) {
            Ok(len) if len > 0 => format!("the partial download ({len} bytes) is kept and will resume"),
            _ => "will retry later".to_owned(),
        }
    }

    fn reject_too_large(&self, seen: u64) -> Error {
        if let Some(expected) = self.spec.expected_size {
            return self.corrupt(
                "too_long",
                format!(
                    "{} sent more than the {expected} bytes expected (at least {seen}: an endless or spoiled body)",
                    self.spec.url
                ),
            );
        }
        self.reject(
            "too_large",
            format!(
                "{} is larger than the {} bytes allowed (at least {seen} bytes); it was deleted",
                self.spec.url, self.cap
            ),
        )
    }

    /// Deletes the part and the sidecar and returns the rejection.
    fn reject(&self, code: &'static str, message: String) -> Error {
        self.discard();
        Error::rejected(code, message)
    }

    /// Deletes the part and the sidecar: the bytes served were not the ones expected. Transient for the caller.
    fn corrupt(&self, code: &'static str, message: String) -> Error {
        self.discard();
        Error::corrupt_in_transit(
            code,
            format!(
                "{message}; the bytes were discarded and the download will start over from the first byte (retried at the next attempt)"
            ),
        )
    }

    /// Removes the part and its sidecar (best effort: a failure is logged, the next attempt starts fresh anyway
    /// because the sidecar no longer matches or the part fails its hash).
    fn discard(&self) {
        for path in [self.spec.part_path, self.spec.sidecar_path] {
            if let Err(e) = remove_if_exists(path) {
                log::warn!("could not delete a discarded download: {e}");
            }
        }
    }

    /// A failed write or sync of the part. A full disk cut the part at an arbitrary point: it is deleted, never
    /// kept as resumable (its tail may be torn, and keeping it keeps the disk full).
    fn write_failed(&self, e: std::io::Error) -> Error {
        let path = self.spec.part_path;
        if crate::error::is_disk_full(&e) {
            self.discard();
            return Error::DiskFull(format!(
                "writing {} failed: {e}; the partial download was deleted; free some space on the device and retry",
                path.display()
            ));
        }
        Error::io(format!("writing {}", path.display()), e)
    }

    /// Stops a download of unknown size before free space falls under the reserve; the part is deleted.
    fn keep_reserve(&self, done: u64) -> Result<()> {
        let dir = self.spec.part_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let (Some(free), Some(volume)) = (fsutil::free_space(dir), fsutil::volume_size(dir)) else {
            return Ok(());
        };
        let reserve = free_space_reserve(volume);
        let next = SPACE_STEP.min(self.cap.saturating_sub(done));
        if free >= reserve.saturating_add(next) {
            return Ok(());
        }
        self.discard();
        Err(Error::DiskFull(format!(
            "downloading {} stopped after {done} bytes: only {} MiB are free and {} MiB (8 MiB + 2 % of the \
             volume) are kept for the app and the system; the partial download was deleted; free some space on \
             the device and retry, or publish a signed release (its size is known before downloading)",
            self.spec.url,
            free >> 20,
            reserve >> 20
        )))
    }
}
