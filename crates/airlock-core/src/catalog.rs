//! Channel catalog payload (`airlock.catalog.v1`) and its TUF-lite freshness rules. Invariant: a `Catalog` from
//! [`Catalog::parse`] is structurally valid (spec 1, every rule names exactly one pinned target, weights and
//! percentages in range, pins are SHA-256 hex), and a catalog is acted on only when [`check_freshness`] says it is
//! not a replay; an expired catalog means "install nothing new", never "roll back".

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::clock;
use crate::error::{Error, Result};
use crate::semver;

/// Envelope `payload_type` of a channel catalog.
pub const CATALOG_PAYLOAD_TYPE: &str = "airlock.catalog.v1";
/// The only catalog spec major this agent reads.
pub const SPEC_MAJOR: u64 = 1;
/// Largest channel catalog envelope accepted, checked before it is read into memory (about 10 000 rules of a few
/// hundred bytes, or a few thousand devices listed by id; docs/formats.md).
pub const MAX_CATALOG_BYTES: u64 = 4 << 20;

/// A signed channel catalog: which releases a channel offers, to which devices, and how to install them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub spec: u64,
    pub app_id: String,
    pub channel: String,
    /// Strictly increasing per channel; a lower serial than one already seen is a replay.
    pub serial: u64,
    /// RFC 3339; after this instant the catalog means "install nothing new".
    pub expires_at: String,
    /// May a device `setChannel` to this channel by itself.
    #[serde(default)]
    pub self_assign: bool,
    /// `"<release number>"` → pin of the release ENVELOPE bytes (stops mix-and-match).
    #[serde(default)]
    pub releases: BTreeMap<String, ReleasePin>,
    /// Release numbers to uninstall and never install.
    #[serde(default)]
    pub revoked: Vec<u64>,
    /// Ordered: the first rule that fits the device (match and rollout) decides.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// The SHA-256 (lowercase hex) of a release envelope's exact bytes, and the release's display version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePin {
    pub sha256: String,
    /// The manifest's display `version` (`1.0.3`), so that a check names the release without fetching its
    /// manifest. Catalogs written before it existed lack it; the agent then reads the pinned manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One targeting rule: which devices (`match`, `rollout`) get which release (`release` or `variants`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Missing: every device matches.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matcher: Option<Match>,
    /// Missing: 100 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<Variant>>,
    /// Missing: the app's configured install mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallPolicy>,
}

/// Device filter. An absent field matches every device; a present list matches only the devices it names (so a
/// present empty list matches nobody); every listed attribute must be set on the device to exactly that value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Match {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
    /// Space-separated comparators on the native version, e.g. `>=1.2.0 <2.0.0` (see [`semver::satisfies`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// Percentage rollout: the devices whose cohort under `salt` is below `percent` × 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub percent: f64,
    pub salt: String,
}

/// One arm of a weighted A/B split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub release: u64,
    pub weight: u32,
}

/// How the chosen release is installed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallPolicy {
    /// e.g. `background`, `immediate`, `onLaunch`; kept as written, interpreted by the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    #[serde(default)]
    pub mandatory: bool,
}

/// A daily time window, `HH:MM` to `HH:MM` (device local time; may wrap past midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// True for `HH:MM` with HH in 00..=23 and MM in 00..=59.
fn is_hh_mm(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![b[0], b[1], b[3], b[4]].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let h = (b[0] - b'0') * 10 + (b[1] - b'0');
    let m = (b[3] - b'0') * 10 + (b[4] - b'0');
    h <= 23 && m <= 59
}

fn bad(msg: String) -> Error {
    Error::rejected("bad_metadata", format!("{msg}; fix the channel and publish it again with `airlock channel`"))
}

impl Catalog {
    /// Parses a VERIFIED payload and validates its structure.
    ///
    /// Rejections: `unsupported_spec` (spec other than 1), `bad_metadata` (not JSON, a rule naming neither or both
    /// of `release`/`variants`, empty variants or zero total weight, percent outside 0..=100, a rule target that is
    /// not pinned in `releases`, a pin that is not 64 lowercase hex digits, a bad `expires_at`, window or native
    /// range).
    pub fn parse(payload: &[u8]) -> Result<Catalog> {
        let spec = crate::envelope::payload_spec(payload)
            .map_err(|e| bad(format!("channel catalog is not valid JSON: {e}")))?;
        match spec {
            Some(SPEC_MAJOR) => {}
            Some(other) => {
                return Err(Error::rejected(
                    "unsupported_spec",
                    format!("channel catalog spec {other} is not supported (this agent reads spec 1); update the app"),
                ));
            }
            None => return Err(bad("channel catalog has no numeric \"spec\"".into())),
        }
        let c: Catalog =
            serde_json::from_slice(payload).map_err(|e| bad(format!("channel catalog is malformed: {e}")))?;
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<()> {
        if self.app_id.is_empty() || self.channel.is_empty() {
            return Err(bad("channel catalog has an empty app_id or channel".into()));
        }
        if self.expires_at_ms().is_none() {
            return Err(bad(format!("expires_at \"{}\" is not an RFC 3339 time", self.expires_at)));
        }
        for (n, pin) in &self.releases {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.parse::<u64>().is_err() {
                return Err(bad(format!("releases key \"{n}\" is not a release number")));
            }
            if !is_sha256_hex(&pin.sha256) {
                return Err(bad(format!("releases[\"{n}\"].sha256 \"{}\" is not 64 lowercase hex digits", pin.sha256)));
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            self.validate_rule(i, rule)?;
        }
        Ok(())
    }

    fn validate_rule(&self, i: usize, rule: &Rule) -> Result<()> {
        let targets: Vec<u64> = match (&rule.release, &rule.variants) {
            (Some(r), None) => vec![*r],
            (None, Some(vs)) => {
                if vs.is_empty() {
                    return Err(bad(format!("rules[{i}] has an empty variants list")));
                }
                if vs.iter().map(|v| u64::from(v.weight)).sum::<u64>() == 0 {
                    return Err(bad(format!("rules[{i}] variants have a total weight of 0")));
                }
                vs.iter().map(|v| v.release).collect()
            }
            _ => return Err(bad(format!("rules[{i}] must name exactly one of \"release\" or \"variants\""))),
        };
        for r in targets {
            if self.pin(r).is_none() {
                return Err(bad(format!("rules[{i}] targets release {r}, which is not pinned in \"releases\"")));
            }
        }
        if let Some(ro) = &rule.rollout
            && !(0.0..=100.0).contains(&ro.percent)
        {
            return Err(bad(format!("rules[{i}] rollout percent {} is outside 0..=100", ro.percent)));
        }
        if let Some(native) = rule.matcher.as_ref().and_then(|m| m.native.as_deref()) {
            semver::satisfies("0.0.0", native)
                .map_err(|_| bad(format!("rules[{i}] match.native \"{native}\" is not a version range")))?;
        }
        if let Some(w) = rule.install.as_ref().and_then(|p| p.window.as_ref())
            && !(is_hh_mm(&w.start) && is_hh_mm(&w.end))
        {
            return Err(bad(format!("rules[{i}] install window {}-{} is not HH:MM-HH:MM", w.start, w.end)));
        }
        Ok(())
    }

    /// Refuses a catalog signed for another app (`wrong_app`) or served for another channel (`wrong_channel`).
    pub fn check_binding(&self, app_id: &str, channel: &str) -> Result<()> {
        if self.app_id != app_id {
            return Err(Error::rejected(
                "wrong_app",
                format!("channel catalog is for app \"{}\", not \"{app_id}\"; check catalogUrl and appId", self.app_id),
            ));
        }
        if self.channel != channel {
            return Err(Error::rejected(
                "wrong_channel",
                format!(
                    "the catalog fetched for channel \"{channel}\" is the catalog of channel \"{}\"; the server \
                     serves the wrong file",
                    self.channel
                ),
            ));
        }
        Ok(())
    }

    /// `expires_at` as Unix milliseconds, `None` when it is not RFC 3339.
    pub fn expires_at_ms(&self) -> Option<i64> {
        clock::parse_rfc3339(&self.expires_at)
    }

    /// The pinned SHA-256 of release `release`'s envelope bytes.
    pub fn pin(&self, release: u64) -> Option<&str> {
        self.releases.get(&release.to_string()).map(|p| p.sha256.as_str())
    }

    /// The display version the catalog pins for `release` (catalogs from older publishers do not carry it).
    pub fn pinned_version(&self, release: u64) -> Option<&str> {
        self.releases.get(&release.to_string()).and_then(|p| p.version.as_deref())
    }

    /// True when the publisher revoked `release`.
    pub fn is_revoked(&self, release: u64) -> bool {
        self.revoked.contains(&release)
    }
}

/// Outcome of [`check_freshness`] for a catalog that is not a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// A newer serial: act on it and remember its serial and hash.
    Fresh,
    /// The serial already accepted, with the same bytes (or the same serial when its bytes were not kept):
    /// nothing new.
    Unchanged,
    /// Past `expires_at`: install nothing new, but never roll back or purge because of it.
    Expired,
}

/// TUF-lite freshness (DESIGN §6.1), checked in this order:
/// 1. a serial lower than `highest_serial` → `replayed_serial` (a stale or replayed copy);
/// 2. the same serial as the last accepted catalog but different bytes (`previous_sha256_for_serial` ≠
///    `this_sha256`) → `serial_reused` (the publisher re-signed without bumping the serial, or a key holder
///    forked the channel); the new copy is ignored until a higher serial arrives;
/// 3. past `expires_at` (or an unreadable one) → [`Freshness::Expired`], not an error;
/// 4. the same serial with equal (or unknown) previous bytes → [`Freshness::Unchanged`];
/// 5. otherwise [`Freshness::Fresh`].
pub fn check_freshness(
    c: &Catalog,
    highest_serial: Option<u64>,
    previous_sha256_for_serial: Option<&str>,
    this_sha256: &str,
    now_ms: i64,
) -> Result<Freshness> {
    let same_serial = highest_serial == Some(c.serial);
    if let Some(highest) = highest_serial
        && c.serial < highest
    {
        return Err(Error::rejected(
            "replayed_serial",
            format!(
                "channel \"{}\" catalog serial {} is older than serial {highest} already seen: a replayed or stale \
                 copy (a CDN or attacker served an old file); it is ignored, wait for the fresh one",
                c.channel, c.serial
            ),
        ));
    }
    if same_serial
        && let Some(prev) = previous_sha256_for_serial
        && !prev.eq_ignore_ascii_case(this_sha256)
    {
        return Err(Error::rejected(
            "serial_reused",
            format!(
                "channel \"{}\" catalog serial {} was already accepted with different content; the publisher must \
                 bump the serial for every change (run `airlock channel` again)",
                c.channel, c.serial
            ),
        ));
    }
    match c.expires_at_ms() {
        Some(exp) if now_ms < exp => {}
        _ => return Ok(Freshness::Expired),
    }
    Ok(if same_serial { Freshness::Unchanged } else { Freshness::Fresh })
}

/// Mix-and-match protection: `envelope_bytes` (the release envelope exactly as fetched) must hash to the catalog's
/// pin for `release`; otherwise `pin_mismatch` (also when the catalog does not pin that release at all).
pub fn check_pin(c: &Catalog, release: u64, envelope_bytes: &[u8]) -> Result<()> {
    let Some(pin) = c.pin(release) else {
        return Err(Error::rejected(
            "pin_mismatch",
            format!("channel \"{}\" catalog does not pin release {release}; it cannot be installed from it", c.channel),
        ));
    };
    let actual = hex::encode(Sha256::digest(envelope_bytes));
    if !actual.eq_ignore_ascii_case(pin) {
        // The signed catalog names the bytes: any other bytes were spoiled or mixed up on the way (a proxy, a CDN
        // serving files of different publishes), never the publisher's signed artifact itself.
        return Err(Error::corrupt_in_transit(
            "pin_mismatch",
            format!(
                "release {release} manifest as served hashes to {actual}, but channel \"{}\" pins {pin}: it was \
                 spoiled in transit or the server mixed files from different publishes; it was discarded and will \
                 be retried (if this persists, republish the channel or purge the CDN cache)",
                c.channel
            ),
        ));
    }
    Ok(())
}
