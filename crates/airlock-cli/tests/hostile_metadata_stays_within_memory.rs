//! Specification: a device refusing hostile metadata stays small. The real `airlock agent` process is pointed
//! at a loopback server serving a huge catalog, a huge base64 payload, an envelope with millions of signature
//! entries, deeply nested JSON, a huge channel index, and huge signed manifests (above and just below the
//! manifest cap); each is refused with its own error, and the child's peak RSS (`ru_maxrss` from `wait4`) stays
//! under 64 MiB.
//!
//! Measuring: a child spawned straight from this (large) test process inherits its high-water mark through
//! `vfork`/`fork` + `exec`, so the agent is started by a small `/bin/sh` in the background and, this process being
//! a child subreaper, reaped here directly: its `ru_maxrss` is its own.
#![cfg(target_os = "linux")]

use airlock_core::catalog::{CATALOG_PAYLOAD_TYPE, Catalog, ReleasePin, Rule};
use airlock_core::envelope::{self, Signer};
use airlock_core::release::RELEASE_PAYLOAD_TYPE;
use airlock_core::source::INDEX_PAYLOAD_TYPE;
use airlock_core::unpack::FileEntry;
use airlock_testkit::bundle::{Device, Dist, ReleaseSpec, b64, publish, sha256_hex};
use airlock_testkit::server::TestServer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const LIMIT_KB: i64 = 64 * 1024;
const APP: &str = "com.example.app";

/// Runs `airlock --json agent --config CFG ARGS…` and returns its JSON output and its own peak RSS in KiB.
fn agent(dir: &Path, cfg: &Path, args: &[&str]) -> (Value, i64) {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only changes who reaps orphans of this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "PR_SET_CHILD_SUBREAPER");
    let out = dir.join("agent.out");
    let mut script = format!("exec '{}' --json agent --config '{}'", env!("CARGO_BIN_EXE_airlock"), cfg.display());
    for a in args {
        script.push_str(&format!(" '{a}'"));
    }
    let sh = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("({script}) </dev/null >'{}' 2>/dev/null & echo $!", out.display()))
        .output()
        .expect("spawn sh");
    let pid: i32 = String::from_utf8_lossy(&sh.stdout).trim().parse().expect("agent pid");
    let mut status = 0;
    // SAFETY: plain wait4 on our (adopted) child; rusage is a plain C struct, zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let json = serde_json::from_slice(&std::fs::read(&out).expect("agent output")).unwrap_or(Value::Null);
    (json, usage.ru_maxrss)
}

struct World {
    server: TestServer,
    device: Device,
    key: Signer,
}

fn world() -> World {
    let key = Signer::from_seed(&[3u8; 32]);
    let server = TestServer::start();
    let device = Device::with_plugin(serde_json::json!({
        "catalogUrl": server.url(""), "trustedKeys": [b64(&key.public_key())], "autoUpdate": "off",
    }));
    World { server, device, key }
}

impl World {
    fn catalog(&self, serial: u64, releases: BTreeMap<String, ReleasePin>, rules: Vec<Rule>) -> Vec<u8> {
        let c = Catalog {
            spec: 1,
            app_id: APP.into(),
            channel: "production".into(),
            serial,
            expires_at: "2099-01-01T00:00:00Z".into(),
            self_assign: true,
            releases,
            revoked: vec![],
            rules,
        };
        envelope::sign(CATALOG_PAYLOAD_TYPE, &serde_json::to_vec(&c).unwrap(), &[&self.key])
    }

    /// A signed manifest for release 1 with `files` entries, refused after parsing: for another app, or (when
    /// `for_this_app`) for a newer native app.
    fn huge_signed_manifest(&self, files: usize, for_this_app: bool) -> Vec<u8> {
        let p = publish(&Dist::small("r1"), &ReleaseSpec::new("1.0.1", "../bundles/r1.zip"), &[&self.key]);
        let mut m = p.manifest;
        if for_this_app {
            m.native.min = Some("9.0.0".into());
        } else {
            m.app_id = "com.other.app".into();
        }
        m.files = (0..files)
            .map(|i| FileEntry {
                path: format!("assets/chunks/{i:08}-a-rather-long-generated-file-name-for-a-web-app-bundle.js"),
                size: 1000 + i as u64,
                sha256: sha256_hex(&i.to_le_bytes()),
            })
            .collect();
        m.files.push(FileEntry { path: "index.html".into(), size: 10, sha256: sha256_hex(b"index") });
        m.files.sort_by(|a, b| a.path.cmp(&b.path));
        envelope::sign(RELEASE_PAYLOAD_TYPE, &serde_json::to_vec(&m).unwrap(), &[&self.key])
    }
}

/// An envelope of `payload_type` around `payload_b64` with `signatures` as raw JSON text.
fn raw_envelope(payload_type: &str, payload_b64: &str, signatures: &str) -> Vec<u8> {
    format!("{{\"payload_type\":\"{payload_type}\",\"payload\":\"{payload_b64}\",\"signatures\":{signatures}}}")
        .into_bytes()
}

struct Case {
    name: &'static str,
    /// What the server serves, by path.
    serve: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    /// Expected error code (or kind when it has no code) and a piece of the message.
    code: &'static str,
    message: &'static str,
}

#[test]
fn hostile_metadata_is_refused_with_a_clear_error_and_the_agent_stays_under_64_mib() {
    let w = world();
    let cfg = w.device.write_config();
    let channel = format!("/{APP}/channels/production.json");
    let manifest = format!("/{APP}/releases/1.json");
    let index = format!("/{APP}/channels/index.json");
    let manifest_url = w.server.url(&manifest);
    let pin_1 =
        |bytes: &[u8]| BTreeMap::from([("1".to_string(), ReleasePin { sha256: sha256_hex(bytes), version: None })]);
    let rule_1 = || vec![Rule { release: Some(1), ..Default::default() }];
    let check = || vec!["check".to_string()];
    let download = || vec!["download".to_string(), "--manifest".to_string(), manifest_url.clone()];

    let huge_b64 = "A".repeat(30 << 20);
    let huge_payload = raw_envelope(RELEASE_PAYLOAD_TYPE, &huge_b64, "[]");
    let big_signed = w.huge_signed_manifest(130_000, false);
    let near_cap_signed = w.huge_signed_manifest(28_000, false);
    let near_cap_newer_native = w.huge_signed_manifest(28_000, true);
    let valid_catalog_b64 = b64(&serde_json::to_vec(&serde_json::json!({"spec": 1})).unwrap());
    let two_million_sigs = format!("[{}0]", "0,".repeat(2_000_000 - 1));
    let nested = format!("{}{}", "[".repeat(1 << 20), "]".repeat(1 << 20));
    let nested_manifest = {
        let p = publish(&Dist::small("r1"), &ReleaseSpec::new("1.0.1", "../bundles/r1.zip"), &[&w.key]);
        let plain = String::from_utf8(serde_json::to_vec(&p.manifest).unwrap()).unwrap();
        format!("{{\"metadata\":{{\"deep\":{nested}}},{}", plain.strip_prefix('{').unwrap())
    };

    let cases = vec![
        Case {
            name: "a 64 MiB catalog",
            serve: vec![(channel.clone(), vec![b' '; 64 << 20])],
            args: check(),
            code: "too_large",
            message: "bytes allowed",
        },
        Case {
            name: "a catalog envelope with two million signature entries",
            serve: vec![(channel.clone(), raw_envelope(CATALOG_PAYLOAD_TYPE, &valid_catalog_b64, &two_million_sigs))],
            args: check(),
            code: "envelope_malformed",
            message: "signatures",
        },
        Case {
            name: "a signature entry nested a million levels deep",
            serve: vec![(
                channel.clone(),
                raw_envelope(CATALOG_PAYLOAD_TYPE, &valid_catalog_b64, &format!("[{nested}]")),
            )],
            args: check(),
            code: "signature_invalid",
            message: "only 0 of the 1",
        },
        Case {
            name: "a signed manifest whose metadata is nested a million levels deep",
            serve: vec![(
                manifest.clone(),
                envelope::sign(RELEASE_PAYLOAD_TYPE, nested_manifest.as_bytes(), &[&w.key]),
            )],
            args: download(),
            code: "bad_metadata",
            message: "recursion limit",
        },
        Case {
            name: "a manifest with a 30 MiB base64 payload",
            serve: vec![(manifest.clone(), huge_payload.clone())],
            args: download(),
            code: "too_large",
            message: "bytes allowed",
        },
        Case {
            name: "a pinned manifest with a 30 MiB base64 payload, through update",
            serve: vec![
                (channel.clone(), w.catalog(1, pin_1(&huge_payload), rule_1())),
                (manifest.clone(), huge_payload.clone()),
            ],
            args: vec!["update".into()],
            // The channel pins the manifest's hash: more bytes than a manifest may have cannot be the pinned one.
            code: "corrupt_in_transit",
            message: "bytes a release manifest may have",
        },
        Case {
            name: "a signed manifest of 130 000 files",
            serve: vec![(manifest.clone(), big_signed.clone())],
            args: download(),
            code: "too_large",
            message: "bytes allowed",
        },
        Case {
            name: "a signed manifest just under the cap, for another app",
            serve: vec![(manifest.clone(), near_cap_signed.clone())],
            args: download(),
            code: "wrong_app",
            message: "com.other.app",
        },
        Case {
            name: "a pinned manifest just under the cap, for a newer native app, through update",
            serve: vec![
                (channel.clone(), w.catalog(2, pin_1(&near_cap_newer_native), rule_1())),
                (manifest.clone(), near_cap_newer_native.clone()),
            ],
            args: vec!["update".into()],
            code: "incompatible_native",
            message: "9.0.0",
        },
        Case {
            name: "a huge channel index",
            serve: vec![(index.clone(), raw_envelope(INDEX_PAYLOAD_TYPE, &"A".repeat(6 << 20), "[]"))],
            args: vec!["list-channels".into()],
            code: "too_large",
            message: "bytes allowed",
        },
    ];
    assert!(near_cap_signed.len() > 6 << 20, "the near-cap manifest is {} bytes", near_cap_signed.len());

    let mut failures = Vec::new();
    for case in &cases {
        for (path, bytes) in &case.serve {
            w.server.put(path, bytes.clone());
        }
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let (out, rss_kb) = agent(w.device.dir.path(), &cfg, &args);
        let err = &out["error"];
        let code = err["code"].as_str().or(err["kind"].as_str()).unwrap_or("none");
        let message = err["message"].as_str().unwrap_or_default();
        println!("{}: {} KiB peak RSS, {code}: {message}", case.name, rss_kb);
        if rss_kb >= LIMIT_KB {
            failures.push(format!("{}: peak RSS {rss_kb} KiB >= {LIMIT_KB} KiB", case.name));
        }
        if code != case.code || !message.contains(case.message) {
            failures.push(format!("{}: expected {} ({:?}), got {out}", case.name, case.code, case.message));
        }
        for (path, _) in &case.serve {
            w.server.remove(path);
        }
    }
    assert!(w.device.root().join("bundles").read_dir().map_or(true, |mut d| d.next().is_none()), "nothing installed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
