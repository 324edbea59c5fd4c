//! `airlock agent reload` is the JS `reload()` a shell forwards to `Agent::reload`, not a cold-start `launch`: it
//! applies a queued bundle whatever its delay conditions, and a page that reloads itself before calling
//! `notifyAppReady()` interrupted its load by choice — it is not counted as a failed boot.

use airlock_testkit::bundle::{Device, Dist, sha256_hex};
use airlock_testkit::server::TestServer;
use serde_json::Value;
use std::process::Command;

fn agent(cfg: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["--json", "agent", "--config", cfg])
        .args(args)
        .output()
        .expect("spawn");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "airlock agent {args:?} failed: {v} {}", String::from_utf8_lossy(&out.stderr));
    v
}

/// A device (unsigned bundles allowed) with release 2.0.0 downloaded and queued as next.
fn device_with_a_queued_bundle(server: &TestServer) -> (Device, String, String) {
    let device = Device::new();
    let cfg = device.write_config().to_string_lossy().into_owned();
    let zip = Dist::small("v2").zip();
    server.put("/v2.zip", zip.clone());
    let url = server.url("/v2.zip");
    let info = agent(&cfg, &["download", "--url", &url, "--version", "2.0.0", "--checksum", &sha256_hex(&zip)]);
    let id = info["id"].as_str().unwrap().to_string();
    agent(&cfg, &["next", "--id", &id]);
    (device, cfg, id)
}

fn bundle_status(cfg: &str, id: &str) -> Value {
    let list = agent(cfg, &["list"]);
    list["bundles"].as_array().unwrap().iter().find(|b| b["id"] == id).map(|b| b["status"].clone()).unwrap_or_default()
}

#[test]
fn reload_applies_a_queued_bundle_whose_delay_conditions_do_not_hold_yet() {
    let server = TestServer::start();
    let (device, cfg, id) = device_with_a_queued_bundle(&server);
    agent(&cfg, &["delay", r#"[{"kind":"date","value":"2099-01-01T00:00:00Z"}]"#]);

    // A cold start honours the conditions: the bundle stays queued.
    let cold = agent(&cfg, &["launch"]);
    assert_eq!(cold["bundle"]["id"], "builtin", "a cold start holds the bundle: {cold}");
    assert_eq!(agent(&cfg, &["current"])["bundle"]["id"], "builtin");

    // The app's explicit reload() applies it now, as on a phone.
    let reload = agent(&cfg, &["reload"]);
    assert_eq!(reload["bundle"]["id"], id.as_str(), "reload applies the queued bundle: {reload}");
    assert_eq!(agent(&cfg, &["current"])["bundle"]["id"], id.as_str());
    let path = std::path::PathBuf::from(reload["path"].as_str().unwrap());
    assert_eq!(path, device.root().join("bundles").join(&id));
    Dist::small("v2").assert_tree(&path);
}

#[test]
fn a_page_that_reloads_itself_before_ready_is_not_counted_as_a_failed_boot() {
    let server = TestServer::start();
    let (_device, cfg, id) = device_with_a_queued_bundle(&server);
    let first = agent(&cfg, &["launch"]);
    assert_eq!(first["bundle"]["id"], id.as_str());

    // The page is alive and calls reload() twice (maxBootAttempts is 2) before it calls notifyAppReady().
    let mut token = first["token"].as_str().unwrap().to_string();
    for n in 1..=2 {
        let again = agent(&cfg, &["reload"]);
        assert_eq!(again["bundle"]["id"], id.as_str(), "reload {n} stays on the new bundle: {again}");
        assert_ne!(again["token"].as_str().unwrap(), token, "each load has its own token");
        token = again["token"].as_str().unwrap().to_string();
    }
    assert_eq!(bundle_status(&cfg, &id), "pending", "no failed boot was counted");
    assert_eq!(agent(&cfg, &["failed-update"]), Value::Null, "nothing was rolled back");

    // The last load's ready blesses it.
    let ready = agent(&cfg, &["ready", "--token", &token]);
    assert_eq!(ready["bundle"]["status"], "success", "{ready}");
    assert_eq!(agent(&cfg, &["current"])["bundle"]["id"], id.as_str());
}
