//! Publisher to device through the real binary: `airlock keys new`, `airlock release` (plain and encrypted),
//! then `airlock agent download --manifest` from a loopback server, `next`, `launch`, `ready`.

use airlock_testkit::bundle::{Device, Dist};
use airlock_testkit::server::TestServer;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn airlock(args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock")).arg("--json").args(args).output().expect("spawn");
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

#[test]
fn a_published_release_installs_on_a_device_and_packing_is_deterministic() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dist = Dist::generate(25, 200_000, 21);
    dist.write_to(&w.join("dist"));
    let s = |p: &str| w.join(p).to_string_lossy().into_owned();

    let (ok, keys) = airlock(&["keys", "new", "--out", &s("keys")]);
    assert!(ok, "{keys}");
    let (ok, again) = airlock(&["keys", "new", "--out", &s("keys")]);
    assert!(!ok && again["error"]["message"].as_str().unwrap().contains("refusing to overwrite"), "{again}");

    let key = s("keys/publisher.signing.key");
    let common = ["--repo", &s("repo"), "--app-id", "com.example.app", "--key", &key];
    let (ok, r1) = airlock(&[&["release", &s("dist"), "--version", "2.0.0"][..], &common[..]].concat());
    assert!(ok, "{r1}");
    assert_eq!(r1["release"], 1);
    let (ok, r1b) = airlock(
        &[&[
            "release",
            &s("dist"),
            "--version",
            "2.0.0",
            "--repo",
            &s("repo-b"),
            "--app-id",
            "com.example.app",
            "--key",
            &key,
        ][..]]
        .concat(),
    );
    assert!(ok, "{r1b}");
    assert_eq!(r1["bundle"]["sha256"], r1b["bundle"]["sha256"], "same tree, same bytes");
    let enc = s("keys/publisher.encryption.key");
    let (ok, r2) = airlock(
        &[&["release", &s("dist"), "--version", "2.0.1", "--encrypt", "--encryption-key", &enc][..], &common[..]]
            .concat(),
    );
    assert!(ok, "{r2}");
    assert_eq!((r2["release"].as_u64(), r2["encrypted"].as_bool()), (Some(2), Some(true)));
    let (ok, dup) = airlock(&[&["release", &s("dist"), "--version", "x", "--release", "1"][..], &common[..]].concat());
    assert!(!ok && dup["error"]["message"].as_str().unwrap().contains("immutable"), "{dup}");

    let server = TestServer::start();
    server.put_dir(&w.join("repo"));
    let mut device = Device::new();
    device.plugin = serde_json::json!({
        "trustedKeys": keys["capacitor_config"]["trustedKeys"],
        "encryptionKey": keys["capacitor_config"]["encryptionKey"],
    });
    let config = device.write_config();
    let cfg = config.to_string_lossy().into_owned();
    let manifest = server.url("/com.example.app/releases/2.json");
    let (ok, info) = airlock(&["agent", "--config", &cfg, "download", "--manifest", &manifest]);
    assert!(ok, "{info}");
    assert_eq!(info["version"], "2.0.1");
    let id = info["id"].as_str().unwrap().to_string();
    assert!(airlock(&["agent", "--config", &cfg, "next", "--id", &id]).0);
    let (ok, launch) = airlock(&["agent", "--config", &cfg, "launch"]);
    assert!(ok);
    assert_eq!(launch["bundle"]["id"], id.as_str());
    dist.assert_tree(Path::new(launch["path"].as_str().unwrap()));
    let (ok, ready) = airlock(&["agent", "--config", &cfg, "ready", "--token", launch["token"].as_str().unwrap()]);
    assert!(ok);
    assert_eq!(ready["bundle"]["status"], "success");
}
