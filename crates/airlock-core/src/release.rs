//! Release manifest type (payload `airlock.release.v1`). Invariant: a `ReleaseManifest` value has passed
//! structural validation (spec major, hashes, sorted unique canonical file list with `index.html`), and
//! `check_for_device` refuses anything not meant for this app, platform and native version.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::semver;
use crate::unpack::FileEntry;

pub const RELEASE_PAYLOAD_TYPE: &str = "airlock.release.v1";
pub const SPEC_MAJOR: u64 = 1;
/// Largest release manifest envelope accepted, checked before it is read into memory: about 30 000 files with
/// 100-byte paths (a 2 000-file manifest is about 0.5 MiB; docs/formats.md).
pub const MAX_MANIFEST_BYTES: u64 = 8 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encryption {
    pub alg: String,
    pub key_id: String,
    pub wrapped_key: String,
    pub chunk_size: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleRef {
    /// Absolute, or relative to the manifest's URL.
    pub url: String,
    pub size: u64,
    /// SHA-256 of the bytes as served (ciphertext when encrypted).
    pub sha256: String,
    #[serde(default)]
    pub encryption: Option<Encryption>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseManifest {
    pub spec: u64,
    pub app_id: String,
    pub release: u64,
    pub version: String,
    pub native: NativeRange,
    pub platforms: Vec<String>,
    pub created_at: String,
    pub bundle: BundleRef,
    pub files: Vec<FileEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// SHA-256s of the per-file objects also published deflated (`objects/<sha256>.deflate`) because that is
    /// smaller; the others are only published raw (`objects/<sha256>`). Airlock extension, optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compressed_objects: Vec<String>,
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ReleaseManifest {
    /// Parses a verified payload and validates its structure.
    pub fn parse(payload: &[u8]) -> Result<ReleaseManifest> {
        let spec = crate::envelope::payload_spec(payload)
            .map_err(|e| Error::rejected("bad_metadata", format!("release manifest is not valid JSON: {e}")))?;
        match spec {
            Some(SPEC_MAJOR) => {}
            Some(other) => {
                return Err(Error::rejected(
                    "unsupported_spec",
                    format!("release manifest spec {other} is not supported (this agent reads spec 1); update the app"),
                ));
            }
            None => return Err(Error::rejected("bad_metadata", "release manifest has no numeric \"spec\"")),
        }
        let m: ReleaseManifest = serde_json::from_slice(payload)
            .map_err(|e| Error::rejected("bad_metadata", format!("release manifest is malformed: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::rejected("bad_metadata", msg));
        if !is_sha256_hex(&self.bundle.sha256) {
            return bad(format!("bundle.sha256 \"{}\" is not 64 lowercase hex digits", self.bundle.sha256));
        }
        if let Some(enc) = &self.bundle.encryption
            && enc.alg != crate::crypto::ALG
        {
            return Err(Error::rejected(
                "unsupported_encryption",
                format!("encryption \"{}\" is not supported (expected {})", enc.alg, crate::crypto::ALG),
            ));
        }
        let mut total = 0u64;
        for (i, f) in self.files.iter().enumerate() {
            if !is_sha256_hex(&f.sha256) {
                return bad(format!("files[{i}] ({}) has a malformed sha256", f.path));
            }
            if i > 0 && self.files[i - 1].path >= f.path {
                return bad(format!("files must be sorted and unique by path (at \"{}\")", f.path));
            }
            total = total.saturating_add(f.size);
        }
        if total > crate::unpack::Limits::default().max_total_bytes {
            return bad(format!("the bundle unpacks to {total} bytes, more than allowed"));
        }
        crate::unpack::check_file_list(&self.files, &crate::unpack::Limits::default())?;
        if !self.files.iter().any(|f| f.path == "index.html") {
            return Err(Error::rejected("missing_index", "bundle is missing index.html at its root"));
        }
        Ok(())
    }

    /// Refuses a release meant for another app, platform or native version range.
    pub fn check_for_device(&self, app_id: &str, platform: &str, native_version: &str) -> Result<()> {
        if self.app_id != app_id {
            return Err(Error::rejected(
                "wrong_app",
                format!("release {} is for app \"{}\", not \"{app_id}\"", self.release, self.app_id),
            ));
        }
        if !self.platforms.is_empty() && !self.platforms.iter().any(|p| p == platform) {
            return Err(Error::rejected(
                "wrong_platform",
                format!("release {} targets {:?}, not {platform}", self.release, self.platforms),
            ));
        }
        if !semver::in_bounds(native_version, self.native.min.as_deref(), self.native.max.as_deref())? {
            return Err(Error::rejected(
                "incompatible_native",
                format!(
                    "release {} needs native version {}..{}, the app is {native_version}; publish a release for \
                     this native version or update the app",
                    self.release,
                    self.native.min.as_deref().unwrap_or("*"),
                    self.native.max.as_deref().unwrap_or("*")
                ),
            ));
        }
        Ok(())
    }

    /// Total bytes of the unpacked tree.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).fold(0, u64::saturating_add)
    }
}
