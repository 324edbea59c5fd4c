//! File-level delta: a release that changes 1 file out of 500 makes an updating device fetch only that file's
//! object, and the installed tree is byte-identical to a full install of the same release.

use airlock_testkit::bundle::{Device, Dist};
use airlock_testkit::server::TestServer;
use serde_json::Value;
use std::process::Command;

fn airlock(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock")).arg("--json").args(args).output().expect("spawn");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "airlock {args:?} failed: {v} {}", String::from_utf8_lossy(&out.stderr));
    v
}

fn device_config(keys: &Value) -> (Device, String) {
    let mut device = Device::new();
    device.plugin = serde_json::json!({ "trustedKeys": keys["capacitor_config"]["trustedKeys"] });
    let cfg = device.write_config().to_string_lossy().into_owned();
    (device, cfg)
}

#[test]
fn changing_one_file_of_500_fetches_only_that_object() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let s = |p: &str| w.join(p).to_string_lossy().into_owned();
    let v1 = Dist::generate(500, 5_000_000, 31);
    let v2 = v1.with_file("assets/d7/f7.bin", b"the one file that changed in release 2");
    v1.write_to(&w.join("dist1"));
    v2.write_to(&w.join("dist2"));
    let keys = airlock(&["keys", "new", "--out", &s("keys")]);
    let key = s("keys/publisher.signing.key");
    let common = ["--repo", &s("repo"), "--app-id", "com.example.app", "--key", &key];
    let r1 = airlock(&[&["release", &s("dist1"), "--version", "1.0.1"][..], &common[..]].concat());
    let r2 = airlock(&[&["release", &s("dist2"), "--version", "1.0.2"][..], &common[..]].concat());
    let server = TestServer::start();
    server.put_dir(&w.join("repo"));

    // Device A installs release 1 in full, then updates to release 2.
    let (dev_a, cfg_a) = device_config(&keys);
    airlock(&["agent", "--config", &cfg_a, "download", "--manifest", &server.url("/com.example.app/releases/1.json")]);
    server.reset_counters();
    let b2 = airlock(&[
        "agent",
        "--config",
        &cfg_a,
        "download",
        "--manifest",
        &server.url("/com.example.app/releases/2.json"),
    ]);
    let bundle2 = format!("/com.example.app/bundles/{}.zip", r2["bundle"]["sha256"].as_str().unwrap());
    let manifest_bytes = server.body_bytes_sent_for("/com.example.app/releases/2.json");
    let total = server.body_bytes_sent();
    let objects: Vec<String> =
        server.requests().into_iter().filter(|r| r.path.contains("/objects/")).map(|r| r.path).collect();
    println!(
        "delta update: {} bytes fetched ({} manifest + {} object bytes in {} request(s)); full bundle is {} bytes",
        total,
        manifest_bytes,
        total - manifest_bytes,
        objects.len(),
        r2["bundle"]["size"]
    );
    assert_eq!(server.body_bytes_sent_for(&bundle2), 0, "the full bundle was not downloaded");
    assert_eq!(objects.len(), 1, "exactly one object fetched: {objects:?}");
    let changed_sha = v2.entries().into_iter().find(|e| e.path == "assets/d7/f7.bin").unwrap().sha256;
    assert!(objects[0].contains(&changed_sha), "{objects:?}");
    assert!(total - manifest_bytes <= 64, "only the changed file's bytes: {}", total - manifest_bytes);
    let id_a = b2["id"].as_str().unwrap();
    let tree_a = dev_a.root().join("bundles").join(id_a);
    v2.assert_tree(&tree_a);

    // Device B installs release 2 in full: the same bytes.
    let (dev_b, cfg_b) = device_config(&keys);
    let b2_full = airlock(&[
        "agent",
        "--config",
        &cfg_b,
        "download",
        "--manifest",
        &server.url("/com.example.app/releases/2.json"),
    ]);
    let tree_b = dev_b.root().join("bundles").join(b2_full["id"].as_str().unwrap());
    v2.assert_tree(&tree_b);
    assert_eq!(b2["checksum"], b2_full["checksum"]);
    let _ = r1;
}
