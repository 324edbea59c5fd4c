//! `airlock channel set | rollback | pause | show`: edit a channel's signed catalog. Invariant: every change is a
//! new catalog with a strictly higher serial, pins exactly the releases its rules name (by the SHA-256 of their
//! envelope bytes, with their display version), stays within the size devices accept, and is re-signed; the
//! previous catalog is read from the repo itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

use airlock_core::catalog::{
    CATALOG_PAYLOAD_TYPE, Catalog, InstallPolicy, MAX_CATALOG_BYTES, Match, ReleasePin, Rollout, Rule, Variant, Window,
};
use airlock_core::envelope::{self, Signer};
use airlock_core::source::{ChannelIndex, INDEX_PAYLOAD_TYPE, IndexEntry};
use airlock_core::{Error, clock, fsutil};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Failure;
use crate::args::Args;
use crate::keys::read_key32;

/// Where a channel lives and who signs it.
pub struct ChannelRepo {
    pub app_dir: PathBuf,
    pub app_id: String,
    pub name: String,
}

impl ChannelRepo {
    pub fn catalog_path(&self) -> PathBuf {
        self.app_dir.join("channels").join(format!("{}.json", self.name))
    }

    /// The current catalog (decoded from its envelope without verification: this is the publisher's own repo).
    pub fn load(&self) -> Result<Option<Catalog>, Error> {
        let path = self.catalog_path();
        let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
        let env: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::InvalidRequest(format!("{} is not an envelope: {e}", path.display())))?;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(env["payload"].as_str().unwrap_or_default())
            .map_err(|e| Error::InvalidRequest(format!("{} has a bad payload: {e}", path.display())))?;
        Catalog::parse(&payload).map(Some)
    }

    /// Pins every release the rules name, bumps the serial, renews expiry, signs and writes atomically.
    pub fn save(&self, mut c: Catalog, signers: &[&Signer], expires_in_days: u64, now_ms: i64) -> Result<Value, Error> {
        c.serial += 1;
        c.expires_at = clock::iso8601(now_ms + (expires_in_days as i64) * 86_400_000);
        let mut pins = BTreeMap::new();
        for r in c.rules.iter() {
            let named: Vec<u64> = match (&r.release, &r.variants) {
                (Some(n), _) => vec![*n],
                (None, Some(vs)) => vs.iter().map(|v| v.release).collect(),
                _ => vec![],
            };
            for n in named {
                let path = self.app_dir.join("releases").join(format!("{n}.json"));
                let bytes = std::fs::read(&path).map_err(|_| {
                    Error::InvalidRequest(format!("release {n} is not published in {}", self.app_dir.display()))
                })?;
                let version = Some(release_version(&path, &bytes)?);
                pins.insert(n.to_string(), ReleasePin { sha256: hex::encode(Sha256::digest(&bytes)), version });
            }
        }
        c.releases = pins;
        let payload = serde_json::to_vec(&c).map_err(|e| Error::Storage(e.to_string()))?;
        Catalog::parse(&payload)?; // the device's own validation, before anything is written
        let size = base64::encoded_len(payload.len(), true).unwrap_or(usize::MAX) as u64 + 1024;
        if size > MAX_CATALOG_BYTES {
            return Err(Error::InvalidRequest(format!(
                "the {} catalog would be about {size} bytes, over the {MAX_CATALOG_BYTES}-byte limit devices \
                 accept; use fewer rules or shorter device lists (docs/formats.md)",
                self.name
            )));
        }
        let env = envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, signers);
        std::fs::create_dir_all(self.app_dir.join("channels")).map_err(|e| Error::io("create channels/", e))?;
        fsutil::write_atomic(&self.catalog_path(), &env)?;
        self.write_index(signers)?;
        Ok(summary(&c))
    }

    /// Re-signs `channels/index.json`, the list of channels devices read for `listChannels()`.
    fn write_index(&self, signers: &[&Signer]) -> Result<(), Error> {
        let dir = self.app_dir.join("channels");
        let mut channels = Vec::new();
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("list channels/", e))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
            .filter(|n| n != "index")
            .collect();
        names.sort();
        for name in names {
            let repo = ChannelRepo { app_dir: self.app_dir.clone(), app_id: self.app_id.clone(), name: name.clone() };
            if let Some(c) = repo.load()? {
                channels.push(IndexEntry { name, self_assign: c.self_assign });
            }
        }
        let index = ChannelIndex { spec: 1, app_id: self.app_id.clone(), channels };
        let payload = serde_json::to_vec(&index).map_err(|e| Error::Storage(e.to_string()))?;
        fsutil::write_atomic(&dir.join("index.json"), &envelope::sign(INDEX_PAYLOAD_TYPE, &payload, signers))
    }

    pub fn empty(&self) -> Catalog {
        Catalog {
            spec: 1,
            app_id: self.app_id.clone(),
            channel: self.name.clone(),
            serial: 0,
            expires_at: String::new(),
            self_assign: false,
            releases: BTreeMap::new(),
            revoked: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// The display `version` of the release manifest envelope at `path` (the publisher's own repo: read, not verified).
fn release_version(path: &std::path::Path, envelope_bytes: &[u8]) -> Result<String, Error> {
    #[derive(serde::Deserialize)]
    struct Env {
        payload: String,
    }
    #[derive(serde::Deserialize)]
    struct Manifest {
        version: String,
    }
    let unreadable =
        |what: &str| Error::InvalidRequest(format!("{} is not a release manifest ({what})", path.display()));
    let env: Env = serde_json::from_slice(envelope_bytes).map_err(|e| unreadable(&e.to_string()))?;
    let payload =
        base64::engine::general_purpose::STANDARD.decode(env.payload).map_err(|e| unreadable(&e.to_string()))?;
    let m: Manifest = serde_json::from_slice(&payload).map_err(|e| unreadable(&e.to_string()))?;
    Ok(m.version)
}

/// A compact view of a catalog for people and scripts.
pub fn summary(c: &Catalog) -> Value {
    let rules: Vec<Value> = c
        .rules
        .iter()
        .map(|r| {
            json!({
                "release": r.release,
                "variants": r.variants.as_ref().map(|v| v.iter().map(|v| json!({"release": v.release, "weight": v.weight})).collect::<Vec<_>>()),
                "percent": r.rollout.as_ref().map_or(100.0, |r| r.percent),
                "match": r.matcher,
                "install": r.install,
            })
        })
        .collect();
    json!({"channel": c.channel, "serial": c.serial, "expires_at": c.expires_at, "self_assign": c.self_assign,
           "revoked": c.revoked, "rules": rules})
}

fn list(v: Option<String>) -> Option<Vec<String>> {
    v.map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
}

pub fn run(mut args: Args) -> Result<Value, Failure> {
    let verb = args.next().ok_or_else(|| Failure::Usage("channel needs set | rollback | pause | show".into()))?;
    let name = args.next().ok_or_else(|| Failure::Usage("channel needs a channel name".into()))?;
    let repo = PathBuf::from(args.required("repo")?);
    let app_id = args.required("app-id")?;
    let ch = ChannelRepo { app_dir: repo.join(&app_id), app_id, name };
    if verb == "show" {
        args.finish()?;
        let c = ch.load()?.ok_or_else(|| Error::InvalidRequest(format!("channel {} has no catalog yet", ch.name)))?;
        return Ok(json!({"catalog": c, "summary": summary(&c)}));
    }
    let mut keys = Vec::new();
    while let Some(k) = args.value("key")? {
        keys.push(k);
    }
    if keys.is_empty() {
        return Err(Failure::Usage("--key FILE (a signing key) is required to publish a catalog".into()));
    }
    let expires: u64 = args
        .value("expires-in-days")?
        .map_or(Ok(30), |v| v.parse())
        .map_err(|_| Failure::Usage("--expires-in-days must be a whole number".into()))?;
    let now = clock::Clock::now_ms(&clock::SystemClock);
    let mut c = ch.load()?.unwrap_or_else(|| ch.empty());
    match verb.as_str() {
        "set" => set(&mut args, &mut c, &ch)?,
        "rollback" => {
            let to =
                args.value("to")?.map(|v| v.parse::<u64>()).transpose().map_err(|_| Failure::Usage("--to N".into()))?;
            match to {
                Some(n) => c.rules = vec![plain_rule(n)],
                None if c.rules.len() > 1 => {
                    c.rules.remove(0);
                }
                None => {
                    return Err(Failure::Error(Error::InvalidRequest(
                        "nothing to roll back to: the channel has one rule; use --to N".into(),
                    )));
                }
            }
            if args.flag("revoke") {
                return Err(Failure::Usage("use `channel set --revoke N` to revoke a release".into()));
            }
        }
        "pause" => {
            let top = c.rules.first_mut().ok_or_else(|| Error::InvalidRequest("the channel has no rules".into()))?;
            let salt = top.rollout.as_ref().map_or_else(|| format!("{}-{}", ch.name, c.serial + 1), |r| r.salt.clone());
            top.rollout = Some(Rollout { percent: 0.0, salt });
        }
        other => return Err(Failure::Usage(format!("unknown channel command \"{other}\""))),
    }
    args.finish()?;
    let signers: Vec<Signer> =
        keys.iter().map(|k| read_key32(k).map(|s| Signer::from_seed(&s))).collect::<Result<_, _>>()?;
    Ok(ch.save(c, &signers.iter().collect::<Vec<_>>(), expires, now)?)
}

fn plain_rule(release: u64) -> Rule {
    Rule { matcher: None, rollout: None, release: Some(release), variants: None, install: None }
}

/// `channel set`: a new rule on top (first match wins), or `--replace` for a single rule.
fn set(args: &mut Args, c: &mut Catalog, ch: &ChannelRepo) -> Result<(), Failure> {
    let release = args
        .value("release")?
        .map(|v| v.parse::<u64>())
        .transpose()
        .map_err(|_| Failure::Usage("--release N".into()))?;
    let variants = args.value("variants")?.map(|v| parse_variants(&v)).transpose()?;
    let percent = args
        .value("rollout")?
        .map(|v| v.trim_end_matches('%').parse::<f64>())
        .transpose()
        .map_err(|_| Failure::Usage("--rollout takes a percentage like 20 or 12.5".into()))?;
    let salt = args.value("salt")?;
    let mut attributes = BTreeMap::new();
    while let Some(kv) = args.value("match-attr")? {
        let (k, v) = kv.split_once('=').ok_or_else(|| Failure::Usage("--match-attr takes key=value".into()))?;
        attributes.insert(k.to_string(), v.to_string());
    }
    let matcher = Match {
        platforms: list(args.value("match-platforms")?),
        native: args.value("match-native")?,
        custom_ids: list(args.value("match-custom-ids")?),
        device_ids: list(args.value("match-device-ids")?),
        attributes: (!attributes.is_empty()).then_some(attributes),
    };
    let has_match = matcher.platforms.is_some()
        || matcher.native.is_some()
        || matcher.custom_ids.is_some()
        || matcher.device_ids.is_some()
        || matcher.attributes.is_some();
    let mode = args.value("install-mode")?;
    let window = args.value("window")?.map(|w| {
        let (start, end) = w.split_once('-').unwrap_or((&w, &w));
        Window { start: start.to_string(), end: end.to_string() }
    });
    let mandatory = args.flag("mandatory");
    let install =
        (mode.is_some() || window.is_some() || mandatory).then_some(InstallPolicy { mode, window, mandatory });
    if args.flag("self-assign") {
        c.self_assign = true;
    }
    if args.flag("no-self-assign") {
        c.self_assign = false;
    }
    while let Some(n) = args.value("revoke")? {
        let n = n.parse::<u64>().map_err(|_| Failure::Usage("--revoke N".into()))?;
        if !c.revoked.contains(&n) {
            c.revoked.push(n);
        }
    }
    let replace = args.flag("replace");
    if release.is_none() && variants.is_none() {
        if replace {
            return Err(Failure::Usage("--replace needs --release N or --variants".into()));
        }
        return Ok(()); // flags-only change (self-assign, revoke)
    }
    let rollout =
        percent.map(|p| Rollout { percent: p, salt: salt.unwrap_or_else(|| format!("{}-{}", ch.name, c.serial + 1)) });
    let rule = Rule {
        matcher: has_match.then_some(matcher),
        rollout,
        release: if variants.is_some() { None } else { release },
        variants,
        install,
    };
    if replace {
        c.rules = vec![rule];
    } else {
        c.rules.insert(0, rule);
    }
    Ok(())
}

/// `42:50,43:50` → weighted variants.
fn parse_variants(s: &str) -> Result<Vec<Variant>, Failure> {
    s.split(',')
        .map(|part| {
            let (r, w) =
                part.split_once(':').ok_or_else(|| Failure::Usage("--variants takes release:weight,…".into()))?;
            Ok(Variant {
                release: r.trim().parse().map_err(|_| Failure::Usage(format!("bad release in --variants: {r}")))?,
                weight: w.trim().parse().map_err(|_| Failure::Usage(format!("bad weight in --variants: {w}")))?,
            })
        })
        .collect()
}
