//! The `catalog` update source: signed channel catalogs read from a static repo, decided on the device.
//! Invariant: nothing from the network is acted on before its envelope verified; a catalog serial never goes
//! backwards for a channel; an expired catalog only means "install nothing new"; a release is installed only if
//! its manifest bytes match the catalog's pin.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::agent::Agent;
use crate::catalog::{self, CATALOG_PAYLOAD_TYPE, Catalog, Freshness, InstallPolicy, MAX_CATALOG_BYTES};
use crate::envelope;
use crate::error::{Error, Result};
use crate::events::{BUILTIN_ID, BundleInfo, BundleStatus, Cancel, Event};
use crate::fsutil::FileLock;
use crate::http::Fetched;
use crate::install::join_url;
use crate::release::{MAX_MANIFEST_BYTES, RELEASE_PAYLOAD_TYPE, ReleaseManifest};
use crate::segment::{self, DeviceProfile};
use crate::store;

/// Largest signed channel index accepted (thousands of channels; docs/formats.md).
const MAX_INDEX_BYTES: u64 = 1 << 20;
const CHANNEL_KEY: &str = "channel";

/// Capgo's `LatestVersion` (the fields a static catalog can fill).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestVersion {
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaking: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What a check decided.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckResult {
    /// The device already runs (or has queued) what the catalog says.
    UpToDate { current: BundleInfo, reason: String },
    /// A release to install; `installed` when it is already on the device.
    Available {
        release: u64,
        version: String,
        manifest_url: String,
        install: Option<InstallPolicy>,
        installed: Option<BundleInfo>,
    },
}

/// The channel state of `getChannel()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    pub channel: String,
    pub status: String,
    pub allow_set: bool,
}

/// One entry of `listChannels()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelEntry {
    pub id: String,
    pub name: String,
    pub public: bool,
    pub allow_self_set: bool,
}

/// The last accepted catalog of a channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    etag: Option<String>,
    serial: u64,
    sha256: String,
    payload_b64: String,
}

impl Agent {
    fn catalog_root(&self) -> Result<String> {
        let base = self.config.plugin.catalog_url.as_deref().ok_or_else(|| {
            Error::Config("CapacitorUpdater.catalogUrl is not set; it must point at the publisher repo root".into())
        })?;
        Ok(format!("{}/{}/", base.trim_end_matches('/'), self.config.app_id()))
    }

    /// What a catalog (or channel index) missing from the repo means: a configuration to check, named.
    fn missing_catalog_means(&self, channel: Option<&str>) -> String {
        let base = self.config.plugin.catalog_url.as_deref().unwrap_or_default();
        let channel = channel
            .map(|c| format!(", or channel \"{c}\" (defaultChannel / setChannel) is not published"))
            .unwrap_or_default();
        format!(
            "check CapacitorUpdater.catalogUrl (\"{base}\" must be the publisher repo root) and appId (\"{}\" must be \
             published there){channel}",
            self.config.app_id()
        )
    }

    /// The channel this device reads: the one it assigned itself, else `defaultChannel`.
    pub fn channel(&self) -> Result<String> {
        let assigned = store::kv_get(self.store().read(), CHANNEL_KEY)?;
        Ok(segment::resolve_channel(assigned.as_deref(), &self.config.plugin.default_channel).to_string())
    }

    /// Who this device is for segmentation.
    pub fn profile(&self) -> Result<DeviceProfile> {
        Ok(DeviceProfile {
            device_id: self.device_id()?,
            platform: self.config.device.platform.clone(),
            native_version: self.config.device.native_version.clone(),
            custom_id: self.custom_id()?,
            attributes: self.attributes()?,
        })
    }

    /// Fetches (conditionally) and verifies a channel's catalog. An expired catalog is a transient error
    /// ("install nothing new"), never a reason to roll back.
    pub fn fetch_catalog(&self, channel: &str, cancel: &Cancel) -> Result<Catalog> {
        let url = join_url(&self.catalog_root()?, &format!("channels/{channel}.json"))?;
        let key = format!("catalog:{channel}");
        let cached: Option<Cached> =
            store::kv_get(self.store().read(), &key)?.and_then(|j| serde_json::from_str(&j).ok());
        let headers = self.health_headers()?;
        let missing = self.missing_catalog_means(Some(channel));
        let fetched = self.http.get_conditional_or(
            &url,
            cached.as_ref().and_then(|c| c.etag.as_deref()),
            &headers,
            MAX_CATALOG_BYTES,
            cancel,
            Some(&missing),
        )?;
        let now = self.clock.now_ms();
        let (payload, envelope_sha, etag) = match fetched {
            Fetched::NotModified => {
                let c = cached
                    .clone()
                    .ok_or_else(|| Error::Network(format!("{url} answered 304 but nothing is cached")))?;
                let payload = STANDARD.decode(&c.payload_b64).map_err(|e| Error::Database(e.to_string()))?;
                (payload, c.sha256, c.etag)
            }
            Fetched::Body { bytes, etag } => {
                self.count_fetched(bytes.len() as u64);
                let payload = envelope::verify(
                    &bytes,
                    CATALOG_PAYLOAD_TYPE,
                    &self.trusted,
                    self.config.plugin.signature_threshold,
                )?;
                (payload, hex::encode(Sha256::digest(&bytes)), etag)
            }
        };
        let c = Catalog::parse(&payload)?;
        c.check_binding(self.config.app_id(), channel)?;
        let serial_key = format!("serial:{channel}");
        let highest = store::kv_get(self.store().read(), &serial_key)?.and_then(|s| s.parse().ok());
        let prev_sha = cached.as_ref().filter(|x| x.serial == c.serial).map(|x| x.sha256.clone());
        let freshness = catalog::check_freshness(&c, highest, prev_sha.as_deref(), &envelope_sha, now)?;
        let record = Cached { etag, serial: c.serial, sha256: envelope_sha, payload_b64: STANDARD.encode(&payload) };
        let json = serde_json::to_string(&record).map_err(|e| Error::Storage(e.to_string()))?;
        {
            let mut store = self.store();
            let _lock = FileLock::exclusive(&self.layout.lock())?;
            store.write(|tx| {
                store::kv_set(tx, &key, &json)?;
                store::kv_set(tx, &serial_key, &c.serial.max(highest.unwrap_or(0)).to_string())
            })?;
        }
        if freshness == Freshness::Expired {
            return Err(Error::Network(format!(
                "the {channel} catalog expired at {}; nothing new is installed until the publisher re-signs it",
                c.expires_at
            )));
        }
        Ok(c)
    }

    /// Health headers sent with every check: what runs, what shipped, what failed last.
    fn health_headers(&self) -> Result<Vec<(&'static str, String)>> {
        let current = self.current()?.bundle.version;
        let failed = {
            let store = self.store();
            let st = store::load_state(store.read())?;
            match st.failed_update {
                Some(id) => store::get_bundle(store.read(), &id)?.map(|r| r.version),
                None => None,
            }
        };
        Ok(vec![
            ("x-airlock-current-version", current),
            ("x-airlock-builtin-version", self.builtin_version()),
            ("x-airlock-failed-version", failed.unwrap_or_default()),
            ("x-airlock-platform", self.config.device.platform.clone()),
        ])
    }

    /// Reads the device's channel catalog and decides what it should run (no download).
    pub fn check(&self, cancel: &Cancel) -> Result<CheckResult> {
        let channel = self.channel()?;
        let c = self.fetch_catalog(&channel, cancel)?;
        self.revoke_local(&c)?;
        let current = self.current()?.bundle;
        let up_to_date = |reason: String| Ok(CheckResult::UpToDate { current: current.clone(), reason });
        let Some(decision) = segment::decide(&c, &self.profile()?)? else {
            return up_to_date(format!("no rule of the {channel} catalog targets this device"));
        };
        let rows = store::list_bundles(self.store().read())?;
        let row = rows.iter().rev().find(|r| r.release == Some(decision.release) && r.status != BundleStatus::Deleted);
        if let Some(row) = row {
            if row.id == current.id {
                return up_to_date(format!("already on release {}", decision.release));
            }
            if row.status == BundleStatus::Error {
                return up_to_date(format!("release {} failed on this device before", decision.release));
            }
        }
        if let Some(why) = store::blocklisted(self.store().read(), None, Some(decision.release))? {
            return up_to_date(format!("release {} is blocklisted here ({why})", decision.release));
        }
        if let Some(pin) = c.pin(decision.release)
            && let Some(why) = store::kv_get(self.store().read(), &rejected_key(decision.release, pin))?
            && !was_transit_fault(&why)
        {
            return up_to_date(format!(
                "release {} was rejected on this device ({why}); waiting for the publisher to re-publish it",
                decision.release
            ));
        }
        let manifest_url = join_url(&self.catalog_root()?, &format!("releases/{}.json", decision.release))?;
        let installed = row
            .filter(|r| matches!(r.status, BundleStatus::Pending | BundleStatus::Success))
            .filter(|r| self.layout.bundle(&r.id).is_dir())
            .map(crate::boot::row_info);
        let version = match (c.pinned_version(decision.release), &installed) {
            (Some(v), _) => v.to_string(),
            (None, Some(b)) => b.version.clone(),
            (None, None) => self.manifest_version(&c, decision.release, &manifest_url, cancel)?,
        };
        Ok(CheckResult::Available {
            release: decision.release,
            version,
            manifest_url,
            install: decision.install,
            installed,
        })
    }

    /// Check, then download the decided release if needed (manifest pinned by the catalog) and queue it as next.
    /// Returns the bundle queued, or `None` when up to date. Emits Capgo's check events.
    pub fn update(&self, cancel: &Cancel) -> Result<Option<BundleInfo>> {
        match self.check_reported(cancel)? {
            CheckResult::UpToDate { .. } => Ok(None),
            CheckResult::Available { release, manifest_url, installed, .. } => {
                let bundle = match installed {
                    Some(b) => b,
                    None => self.download_pinned(release, &manifest_url, cancel)?,
                };
                let current = self.current()?.bundle;
                if bundle.id != current.id && self.next_bundle()?.is_none_or(|n| n.id != bundle.id) {
                    self.set_next(&bundle.id)?;
                }
                Ok(Some(bundle))
            }
        }
    }

    /// `check`, emitting Capgo's `updateCheckResult` (and `noNeedUpdate`) for failures and up-to-date answers.
    pub(crate) fn check_reported(&self, cancel: &Cancel) -> Result<CheckResult> {
        match self.check(cancel) {
            Err(e) => {
                let bundle = self.current()?.bundle;
                let message = Some(e.to_string());
                self.emit(Event::UpdateCheckResult { kind: "failed".into(), message, version: None, bundle });
                Err(e)
            }
            Ok(CheckResult::UpToDate { current, reason }) => {
                let message = Some(reason.clone());
                let bundle = current.clone();
                self.emit(Event::UpdateCheckResult { kind: "up_to_date".into(), message, version: None, bundle });
                self.emit(Event::NoNeedUpdate { bundle: current.clone() });
                Ok(CheckResult::UpToDate { current, reason })
            }
            available => available,
        }
    }

    /// Downloads a release whose manifest must match the current catalog's pin.
    pub(crate) fn download_pinned(&self, release: u64, manifest_url: &str, cancel: &Cancel) -> Result<BundleInfo> {
        let channel = self.channel()?;
        let c = self.cached_catalog(&channel)?.ok_or_else(|| Error::Network("no catalog cached".into()))?;
        let bytes = self.fetch_pinned_manifest(&c, release, manifest_url, cancel)?;
        let offer = match self.resolve_manifest_bytes(manifest_url, &bytes) {
            Err(e) if e.reject_code() == Some("incompatible_native") => {
                // Capgo's "breaking" signal: the release needs a newer native app (store update).
                let version = ReleaseManifestPeek::version(&bytes).unwrap_or_else(|| format!("release {release}"));
                self.emit(Event::BreakingAvailable { version });
                return Err(e);
            }
            other => other?,
        };
        if offer.release != Some(release) {
            return Err(Error::rejected(
                "pin_mismatch",
                format!("manifest at {manifest_url} is release {:?}, the catalog pinned {release}", offer.release),
            ));
        }
        let result = self.install(&offer, cancel);
        if let Some(pin) = c.pin(release)
            && let Err(e) = self.count_transit_failure(&transit_key(release, pin), &result)
        {
            log::warn!("could not record the download outcome of release {release} for the retry backoff: {e}");
        }
        if let Err(e) = &result {
            if e.kind() == crate::error::ErrorKind::Rejected
                && let Some(pin) = c.pin(release)
            {
                // Remember it (DESIGN §4): the same pinned manifest is not fetched again until the catalog changes it.
                // Only publisher defects get here: bytes corrupt in transit are transient (`CorruptInTransit`).
                let key = rejected_key(release, pin);
                let mut store = self.store();
                let _lock = FileLock::exclusive(&self.layout.lock())?;
                store.write(|tx| store::kv_set(tx, &key, &e.to_string()))?;
            }
            let _ = self.queue_stat("download_fail", &offer.version, None, Some(&e.to_string()));
            self.emit(Event::DownloadFailed { version: offer.version.clone(), reason: e.to_string() });
        }
        result
    }

    /// Bytes corrupt in transit are counted for the automatic pipeline's backoff, never remembered as a
    /// rejection; a success forgets them.
    fn count_transit_failure(&self, key: &str, result: &Result<BundleInfo>) -> Result<()> {
        let failures = match result {
            Err(Error::CorruptInTransit { .. }) => {
                let prior = self.transit_failures(key)?.map_or(0, |f| f.count);
                Some(TransitFailures { count: prior.saturating_add(1), last_ms: self.clock.now_ms() })
            }
            Ok(_) if self.transit_failures(key)?.is_some() => None,
            _ => return Ok(()),
        };
        let json =
            failures.map(|f| serde_json::to_string(&f)).transpose().map_err(|e| Error::Storage(e.to_string()))?;
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| match &json {
            Some(json) => store::kv_set(tx, key, json),
            None => tx.execute("DELETE FROM kv WHERE key = ?1", [key]).map(|_| ()).map_err(Error::from),
        })
    }

    fn transit_failures(&self, key: &str) -> Result<Option<TransitFailures>> {
        Ok(store::kv_get(self.store().read(), key)?.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// When the automatic pipeline may next download `release` after its bytes arrived corrupt in transit
    /// (`None`: now). The wait starts at 5 minutes and doubles per failure up to 6 hours; a due time further
    /// ahead than that (the clock was set back) is due now. Manual calls (`update`, `download`) never wait.
    pub(crate) fn transit_retry_due(&self, release: u64) -> Result<Option<i64>> {
        let Some(c) = self.cached_catalog(&self.channel()?)? else { return Ok(None) };
        let Some(pin) = c.pin(release) else { return Ok(None) };
        let Some(f) = self.transit_failures(&transit_key(release, pin))? else { return Ok(None) };
        let wait = TRANSIT_BACKOFF_MIN_MS
            .saturating_mul(1i64 << f.count.saturating_sub(1).min(20))
            .min(TRANSIT_BACKOFF_MAX_MS);
        let now = self.clock.now_ms();
        let due = f.last_ms.saturating_add(wait);
        Ok((now < due && due - now <= TRANSIT_BACKOFF_MAX_MS).then_some(due))
    }

    fn cached_catalog(&self, channel: &str) -> Result<Option<Catalog>> {
        let Some(json) = store::kv_get(self.store().read(), &format!("catalog:{channel}"))? else { return Ok(None) };
        let Ok(c) = serde_json::from_str::<Cached>(&json) else { return Ok(None) };
        let payload = STANDARD.decode(&c.payload_b64).map_err(|e| Error::Database(e.to_string()))?;
        Catalog::parse(&payload).map(Some)
    }

    /// Releases the catalog revokes are never run again: blocklisted, and replaced at the next launch.
    fn revoke_local(&self, c: &Catalog) -> Result<()> {
        if c.revoked.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| {
            let rows = store::list_bundles(tx)?;
            let mut s = store::load_state(tx)?;
            let revoked_ids: Vec<String> = rows
                .iter()
                .filter(|r| r.release.is_some_and(|n| c.revoked.contains(&n)))
                .map(|r| r.id.clone())
                .collect();
            // Never install again, on any path: by content hash for what is here, by release number for the rest.
            for n in &c.revoked {
                store::blocklist_add(
                    tx,
                    &format!("revoked-release-{n}"),
                    &format!("release {n}"),
                    Some(*n),
                    "revoked by the publisher",
                    now,
                )?;
            }
            for row in rows.iter().filter(|r| revoked_ids.contains(&r.id)) {
                store::blocklist_add(tx, &row.checksum, &row.version, row.release, "revoked by the publisher", now)?;
                if row.status != BundleStatus::Deleted {
                    store::set_status(tx, &row.id, BundleStatus::Error)?;
                }
            }
            if s.last_good != BUILTIN_ID && revoked_ids.contains(&s.last_good) {
                s.last_good = BUILTIN_ID.into();
            }
            if s.next.as_ref().is_some_and(|n| revoked_ids.contains(n)) {
                s.next = None;
            }
            if revoked_ids.contains(&s.current) {
                // Uninstalled at the next load whatever the app's delay conditions (a publisher safety action):
                // the pointer moves now, the running page keeps its files until it reloads.
                s.current = s.last_good.clone();
            }
            store::save_state(tx, &s)
        })
    }

    /// JS `getLatest({channel?})`: what the channel offers this device, without downloading.
    pub fn latest(&self, channel: Option<&str>, cancel: &Cancel) -> Result<LatestVersion> {
        let channel = match channel {
            Some(c) => c.to_string(),
            None => self.channel()?,
        };
        let c = self.fetch_catalog(&channel, cancel)?;
        let Some(d) = segment::decide(&c, &self.profile()?)? else {
            return Ok(LatestVersion {
                version: self.current()?.bundle.version,
                kind: Some("up_to_date".into()),
                message: Some("no rule targets this device".into()),
                ..Default::default()
            });
        };
        let manifest_url = join_url(&self.catalog_root()?, &format!("releases/{}.json", d.release))?;
        let bytes = self.fetch_pinned_manifest(&c, d.release, &manifest_url, cancel)?;
        let offer = self.resolve_manifest_bytes(&manifest_url, &bytes)?;
        Ok(LatestVersion {
            version: offer.version,
            checksum: offer.sha256,
            url: Some(manifest_url),
            link: offer.link,
            comment: offer.comment,
            ..Default::default()
        })
    }

    /// JS `setChannel({channel})`: only to channels whose catalog allows self-assignment.
    pub fn set_channel(&self, channel: &str, cancel: &Cancel) -> Result<ChannelInfo> {
        if !self.config.plugin.allow_set_default_channel {
            let message = "disabled_by_config: allowSetDefaultChannel is false".to_string();
            self.emit(Event::ChannelPrivate { channel: channel.into(), message: message.clone() });
            return Err(Error::InvalidRequest(message));
        }
        let c = self.fetch_catalog(channel, cancel)?;
        if !segment::may_self_assign(&c) {
            let message = format!("channel {channel} does not allow devices to assign themselves");
            self.emit(Event::ChannelPrivate { channel: channel.into(), message: message.clone() });
            return Err(Error::InvalidRequest(message));
        }
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| store::kv_set(tx, CHANNEL_KEY, channel))?;
        Ok(ChannelInfo { channel: channel.into(), status: "set".into(), allow_set: true })
    }

    /// JS `unsetChannel()`: back to `defaultChannel` (local only).
    pub fn unset_channel(&self) -> Result<()> {
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| {
            tx.execute("DELETE FROM kv WHERE key = ?1", [CHANNEL_KEY])?;
            Ok(())
        })
    }

    /// JS `getChannel()`.
    pub fn get_channel(&self) -> Result<ChannelInfo> {
        let assigned = store::kv_get(self.store().read(), CHANNEL_KEY)?;
        Ok(ChannelInfo {
            channel: self.channel()?,
            status: if assigned.is_some() { "self_assigned".into() } else { "default".into() },
            allow_set: self.config.plugin.allow_set_default_channel,
        })
    }

    /// JS `listChannels()`: the self-assignable channels named in the repo's signed channel index.
    pub fn list_channels(&self, cancel: &Cancel) -> Result<Vec<ChannelEntry>> {
        let url = join_url(&self.catalog_root()?, "channels/index.json")?;
        let missing = self.missing_catalog_means(None);
        let bytes = match self.http.get_conditional_or(&url, None, &[], MAX_INDEX_BYTES, cancel, Some(&missing))? {
            Fetched::Body { bytes, .. } => bytes,
            Fetched::NotModified => {
                return Err(Error::Network(format!("{url} answered 304 to an unconditional request")));
            }
        };
        let payload =
            envelope::verify(&bytes, INDEX_PAYLOAD_TYPE, &self.trusted, self.config.plugin.signature_threshold)?;
        let index: ChannelIndex = serde_json::from_slice(&payload)
            .map_err(|e| Error::rejected("bad_metadata", format!("channel index is malformed: {e}")))?;
        if index.app_id != self.config.app_id() {
            return Err(Error::rejected("wrong_app", format!("channel index is for {}", index.app_id)));
        }
        Ok(index
            .channels
            .into_iter()
            .filter(|c| c.self_assign)
            .map(|c| ChannelEntry { id: c.name.clone(), name: c.name, public: true, allow_self_set: true })
            .collect())
    }
}

impl Agent {
    /// Fetches the manifest of `release` and checks it against the catalog's pin. The catalog signs its hash, so
    /// whatever else arrives (cut, re-encoded, endless, another publish's file) is corrupt in transit: discarded
    /// and retried, never remembered against the release.
    fn fetch_pinned_manifest(&self, c: &Catalog, release: u64, url: &str, cancel: &Cancel) -> Result<Vec<u8>> {
        let bytes = self.http.get_bytes(url, MAX_MANIFEST_BYTES, cancel).map_err(|e| match e.reject_code() {
            Some("too_large") => Error::corrupt_in_transit(
                "too_long",
                format!(
                    "{url} sent more than the {MAX_MANIFEST_BYTES} bytes a release manifest may have, so it is not \
                     the manifest the channel pins (an endless or spoiled body); it was discarded and will be retried"
                ),
            ),
            _ => e,
        })?;
        self.count_fetched(bytes.len() as u64);
        catalog::check_pin(c, release, &bytes)?;
        Ok(bytes)
    }

    /// The display version of `release` read from its pinned, verified manifest: for catalogs written before pins
    /// carried the version.
    fn manifest_version(&self, c: &Catalog, release: u64, manifest_url: &str, cancel: &Cancel) -> Result<String> {
        let bytes = self.fetch_pinned_manifest(c, release, manifest_url, cancel)?;
        let payload =
            envelope::verify(&bytes, RELEASE_PAYLOAD_TYPE, &self.trusted, self.config.plugin.signature_threshold)?;
        drop(bytes);
        Ok(ReleaseManifest::parse(&payload)?.version)
    }
}

/// Key under which a rejected (release, manifest pin) pair is remembered.
fn rejected_key(release: u64, pin: &str) -> String {
    format!("rejected:{release}:{pin}")
}

/// True for a rejection an older agent remembered for bytes that were only spoiled in transit (the served
/// bundle's size or hash did not match the signed one): such a memory is ignored, the release is retried.
fn was_transit_fault(why: &str) -> bool {
    why.starts_with("bundle rejected (checksum_mismatch)")
        || why.starts_with("bundle rejected (size_mismatch)")
        || (why.starts_with("bundle rejected (too_large)") && why.contains(" bytes allowed (at least "))
}

/// Key under which the corrupt-in-transit failures of a (release, manifest pin) pair are counted.
fn transit_key(release: u64, pin: &str) -> String {
    format!("transit:{release}:{pin}")
}

/// First wait of the automatic pipeline after a download corrupt in transit; doubled per further failure.
const TRANSIT_BACKOFF_MIN_MS: i64 = 5 * 60_000;
/// Longest wait of that backoff.
const TRANSIT_BACKOFF_MAX_MS: i64 = 6 * 3_600_000;

/// Downloads of one pinned release whose bytes arrived corrupt in transit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct TransitFailures {
    count: u32,
    last_ms: i64,
}

/// Reads the display version from a release envelope (only for messages; the envelope already verified). Typed
/// and borrowed: only the payload and the version string are ever allocated.
struct ReleaseManifestPeek;

impl ReleaseManifestPeek {
    fn version(envelope_bytes: &[u8]) -> Option<String> {
        #[derive(Deserialize)]
        struct Env<'a> {
            #[serde(borrow)]
            payload: std::borrow::Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct Version {
            version: String,
        }
        let env: Env<'_> = serde_json::from_slice(envelope_bytes).ok()?;
        let payload = STANDARD.decode(env.payload.as_bytes()).ok()?;
        Some(serde_json::from_slice::<Version>(&payload).ok()?.version)
    }
}

/// Payload type of the signed list of a repo's channels (`channels/index.json`).
pub const INDEX_PAYLOAD_TYPE: &str = "airlock.channels.v1";

/// The signed channel index payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelIndex {
    pub spec: u64,
    pub app_id: String,
    pub channels: Vec<IndexEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    #[serde(default)]
    pub self_assign: bool,
}
