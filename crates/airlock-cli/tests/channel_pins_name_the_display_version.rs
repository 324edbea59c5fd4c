//! Specification: `airlock channel set` pins each release with its display version beside the manifest hash
//! (`{"sha256", "version"}`), so a device's `airlock agent check` names `2.0.3`, not `release 1`, without
//! fetching the manifest; and the catalog it writes stays readable as before (older agents ignore the field).

use airlock_testkit::bundle::{Device, Dist};
use airlock_testkit::server::TestServer;
use base64::Engine;
use serde_json::Value;
use std::process::Command;

fn airlock(args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock")).arg("--json").args(args).output().expect("spawn");
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

#[test]
fn channel_set_pins_the_display_version_and_a_device_check_names_it() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let s = |p: &str| w.join(p).to_string_lossy().into_owned();
    Dist::generate(5, 20_000, 3).write_to(&w.join("dist"));
    let (ok, keys) = airlock(&["keys", "new", "--out", &s("keys")]);
    assert!(ok, "{keys}");
    let key = s("keys/publisher.signing.key");
    let common = ["--repo", &s("repo"), "--app-id", "com.example.app", "--key", &key];
    let (ok, r1) = airlock(&[&["release", &s("dist"), "--version", "2.0.3"][..], &common[..]].concat());
    assert!(ok, "{r1}");
    let (ok, set) = airlock(&[&["channel", "set", "production", "--release", "1"][..], &common[..]].concat());
    assert!(ok, "{set}");

    let env: Value =
        serde_json::from_slice(&std::fs::read(w.join("repo/com.example.app/channels/production.json")).unwrap())
            .unwrap();
    let payload = base64::engine::general_purpose::STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();
    let catalog: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(catalog["releases"]["1"]["version"], "2.0.3", "{catalog}");
    assert_eq!(catalog["releases"]["1"]["sha256"].as_str().map(str::len), Some(64), "{catalog}");

    let server = TestServer::start();
    server.put_dir(&w.join("repo"));
    let mut device = Device::new();
    device.plugin = serde_json::json!({
        "catalogUrl": server.url(""), "trustedKeys": keys["capacitor_config"]["trustedKeys"], "autoUpdate": "off",
    });
    let cfg = device.write_config();
    let (ok, check) = airlock(&["agent", "--config", &cfg.to_string_lossy(), "check"]);
    assert!(ok, "{check}");
    assert_eq!((check["kind"].as_str(), check["version"].as_str()), (Some("available"), Some("2.0.3")), "{check}");
    assert!(server.requests_for("/com.example.app/releases/1.json").is_empty(), "the pin names the version");
}
