//! Device-side segmentation of a channel catalog. Invariant: the decision is a pure function of the catalog and
//! the device profile (cohorts are SHA-256 based, no randomness, no clock), raising a rollout percentage only adds
//! devices, and a revoked release is never chosen.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::catalog::{Catalog, InstallPolicy, Match, Variant};
use crate::error::{Error, Result};
use crate::semver;

/// Number of cohort buckets: a cohort is in `0..COHORTS`; one bucket is 0.01 %.
pub const COHORTS: u32 = 10_000;

/// What the rules of a catalog may look at on this device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceProfile {
    pub device_id: String,
    /// `ios` | `android` | `linux` (the simulator).
    pub platform: String,
    /// The native app's version name.
    pub native_version: String,
    /// Set by the app with `setCustomId`.
    pub custom_id: Option<String>,
    /// Set by the app with `setAttributes`.
    pub attributes: BTreeMap<String, String>,
}

/// First 8 bytes of SHA-256(`salt` ‖ `device_id`) (UTF-8 bytes, concatenated) as a big-endian u64, mod 10 000.
pub fn cohort(salt: &str, device_id: &str) -> u32 {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(device_id.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(COHORTS)) as u32
}

/// The cohort bound of a percentage: round(percent × 100), clamped to 0..=10 000 (NaN counts as 0).
fn threshold(percent: f64) -> u32 {
    // `as` saturates and maps NaN to 0; the clamp keeps values above 100 % at everyone.
    ((percent * 100.0).round() as u32).min(COHORTS)
}

/// True when the device is inside a `percent` rollout under `salt`: cohort < round(percent × 100). Raising the
/// percentage only adds devices; 0 includes nobody and 100 everybody.
pub fn in_rollout(percent: f64, salt: &str, device_id: &str) -> bool {
    cohort(salt, device_id) < threshold(percent)
}

/// The variant of a weighted split for this device: v = cohort(`salt` + "/variant", device), then the first
/// variant whose cumulative weight × 10 000 / total weight exceeds v (computed exactly in integers). `None` when
/// the list is empty or the total weight is 0.
pub fn pick_variant<'a>(variants: &'a [Variant], salt: &str, device_id: &str) -> Option<&'a Variant> {
    pick_variant_index(variants, salt, device_id).and_then(|i| variants.get(i))
}

fn pick_variant_index(variants: &[Variant], salt: &str, device_id: &str) -> Option<usize> {
    let total: u64 = variants.iter().map(|v| u64::from(v.weight)).sum();
    if total == 0 {
        return None;
    }
    let v = u64::from(cohort(&format!("{salt}/variant"), device_id));
    let mut cumulative = 0u64;
    for (i, variant) in variants.iter().enumerate() {
        cumulative += u64::from(variant.weight);
        if cumulative * u64::from(COHORTS) > v * total {
            return Some(i);
        }
    }
    None
}

/// True when every present field of `m` fits the device: an absent field matches every device, a present list
/// matches only what it names (a present empty list matches nobody), `native` is a range for
/// [`semver::satisfies`], and every listed attribute must be set on the device to exactly that value. Platform,
/// id and attribute comparisons are exact (case-sensitive).
///
/// Errors: a malformed `native` range is `bad_metadata`; a device native version that is not a version number is
/// an [`Error::Config`].
pub fn rule_matches(m: &Match, device: &DeviceProfile) -> Result<bool> {
    let listed = |list: &Option<Vec<String>>, value: Option<&str>| match list {
        None => true,
        Some(items) => value.is_some_and(|v| items.iter().any(|i| i == v)),
    };
    if !listed(&m.platforms, Some(&device.platform))
        || !listed(&m.custom_ids, device.custom_id.as_deref())
        || !listed(&m.device_ids, Some(&device.device_id))
    {
        return Ok(false);
    }
    if let Some(attrs) = &m.attributes
        && !attrs.iter().all(|(k, v)| device.attributes.get(k) == Some(v))
    {
        return Ok(false);
    }
    match &m.native {
        None => Ok(true),
        Some(range) => semver::satisfies(&device.native_version, range),
    }
}

/// What a catalog says this device should run.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The release number to install (pinned by the catalog, not revoked).
    pub release: u64,
    /// Index of the deciding rule in `catalog.rules`.
    pub rule_index: usize,
    /// The rule's install policy; `None` means the app's configured mode.
    pub install: Option<InstallPolicy>,
    /// Index into the rule's `variants` when it is a split.
    pub variant_index: Option<usize>,
}

/// The decision for a device: the first rule whose `match` fits and whose rollout includes the device decides.
/// A device outside a rule's rollout falls through to the next rule, and so does one whose chosen release (or
/// variant) is revoked; no deciding rule → `None` (the device stays where it is). Variants are picked with the
/// rollout's salt, or the channel name when the rule has no rollout.
///
/// Errors: see [`rule_matches`]; a rule targeting a release the catalog does not pin is `bad_metadata` (only
/// possible for a catalog that did not come from [`Catalog::parse`]).
pub fn decide(c: &Catalog, device: &DeviceProfile) -> Result<Option<Decision>> {
    for (rule_index, rule) in c.rules.iter().enumerate() {
        if let Some(m) = &rule.matcher
            && !rule_matches(m, device)?
        {
            continue;
        }
        if let Some(ro) = &rule.rollout
            && !in_rollout(ro.percent, &ro.salt, &device.device_id)
        {
            continue;
        }
        let (release, variant_index) = match (rule.release, &rule.variants) {
            (Some(r), _) => (r, None),
            (None, Some(vs)) => {
                let salt = rule.rollout.as_ref().map_or(c.channel.as_str(), |r| r.salt.as_str());
                let picked = pick_variant_index(vs, salt, &device.device_id).and_then(|i| Some((vs.get(i)?, i)));
                match picked {
                    Some((v, i)) => (v.release, Some(i)),
                    None => continue,
                }
            }
            (None, None) => continue,
        };
        if c.is_revoked(release) {
            continue;
        }
        if c.pin(release).is_none() {
            return Err(Error::rejected(
                "bad_metadata",
                format!("rules[{rule_index}] targets release {release}, which the catalog does not pin"),
            ));
        }
        return Ok(Some(Decision { release, rule_index, install: rule.install.clone(), variant_index }));
    }
    Ok(None)
}

/// The channel a device reads: the one explicitly assigned (`setChannel`) when there is one, else the configured
/// default (`defaultChannel`).
pub fn resolve_channel<'a>(assigned: Option<&'a str>, default_channel: &'a str) -> &'a str {
    match assigned {
        Some(ch) if !ch.is_empty() => ch,
        _ => default_channel,
    }
}

/// May a device assign itself to this catalog's channel with `setChannel`.
pub fn may_self_assign(c: &Catalog) -> bool {
    c.self_assign
}
