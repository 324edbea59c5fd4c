//! One unreadable launch loses nothing (issue 7, point 3): when the chosen tree cannot be read at launch, builtin
//! serves for that launch only; `current` stays the bundle, nothing is purged, and the ready of the fallback page
//! neither deletes, demotes nor replaces the bundle. The next readable launch serves it again.
//!
//! The fault is real: the device simulator (`airlock agent`, the real binary) runs as an unprivileged user
//! (uid 65534 through `setpriv`), so `chmod 000` on a tree or its `index.html` gives it a real EACCES — root,
//! which runs the tests, ignores file modes.

use airlock_testkit::bundle::{Device, Dist, sha256_hex};
use airlock_testkit::server::TestServer;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOBODY: &str = "65534";

struct Phone {
    device: Device,
    config: String,
    server: TestServer,
}

impl Phone {
    fn new() -> Phone {
        let device = Device::new();
        let config = device.write_config().to_string_lossy().into_owned();
        let st = Command::new("chown").args(["-R", &format!("{NOBODY}:{NOBODY}")]).arg(device.dir.path()).status();
        assert!(st.is_ok_and(|s| s.success()), "chown of the device directory failed (the test runs as root)");
        Phone { device, config, server: TestServer::start() }
    }

    /// Runs `airlock --json agent --config … ARGS` as uid/gid 65534 with no supplementary groups.
    fn agent(&self, args: &[&str]) -> Value {
        let out = Command::new("setpriv")
            .args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_airlock"))
            .args(["--json", "agent", "--config", &self.config])
            .args(args)
            .output()
            .expect("setpriv (util-linux) runs the agent as an unprivileged user");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert!(out.status.success(), "airlock agent {args:?} failed: {v}\n{}", String::from_utf8_lossy(&out.stderr));
        v
    }

    fn install(&self, dist: &Dist, version: &str) -> String {
        let zip = dist.zip();
        let path = format!("/{version}.zip");
        self.server.put(&path, zip.clone());
        let url = self.server.url(&path);
        let info = self.agent(&["download", "--url", &url, "--version", version, "--checksum", &sha256_hex(&zip)]);
        info["id"].as_str().expect("bundle id").to_string()
    }

    fn launch(&self) -> Value {
        self.agent(&["launch"])
    }

    fn ready(&self, launch: &Value) -> Value {
        self.agent(&["ready", "--token", launch["token"].as_str().expect("token")])
    }

    fn tree(&self, id: &str) -> PathBuf {
        self.device.root().join("bundles").join(id)
    }

    fn state(&self, column: &str) -> Option<String> {
        let c = rusqlite::Connection::open(self.device.root().join("state.sqlite3")).unwrap();
        c.query_row(&format!("SELECT {column} FROM state WHERE id = 1"), [], |r| r.get(0)).unwrap()
    }

    fn status(&self, id: &str) -> String {
        let c = rusqlite::Connection::open(self.device.root().join("state.sqlite3")).unwrap();
        c.query_row("SELECT status FROM bundles WHERE id = ?1", [id], |r| r.get(0)).unwrap()
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn assert_served_builtin(phone: &Phone, launch: &Value, what: &str) {
    assert_eq!(launch["bundle"]["id"], "builtin", "{what}: launch did not fall back to builtin: {launch}");
    let builtin = phone.device.dir.path().join("builtin");
    assert_eq!(launch["path"].as_str(), Some(builtin.to_string_lossy().as_ref()), "{launch}");
}

#[test]
fn an_unreadable_healthy_tree_serves_builtin_for_one_launch_and_its_ready_deletes_nothing() {
    let phone = Phone::new();
    let v1 = Dist::small("v1");
    let id = phone.install(&v1, "1.1.0");
    phone.agent(&["next", "--id", &id]);
    let l = phone.launch();
    assert_eq!(l["bundle"]["id"], id.as_str());
    phone.ready(&l);
    assert_eq!(phone.status(&id), "success");

    // The tree cannot be opened at the next launch (EACCES; an iOS data-protection lock looks the same).
    chmod(&phone.tree(&id), 0o000);
    let l = phone.launch();
    assert_served_builtin(&phone, &l, "tree mode 000");
    assert_eq!(phone.agent(&["current"])["bundle"]["id"], id.as_str(), "current moved off the healthy bundle");
    // The builtin page the shell loaded instead reports ready.
    phone.ready(&l);
    chmod(&phone.tree(&id), 0o755);
    assert!(phone.tree(&id).join("index.html").is_file(), "the healthy bundle's tree was purged");
    assert_eq!(phone.status(&id), "success", "the healthy bundle was demoted");
    assert_eq!(phone.state("current").as_deref(), Some(id.as_str()), "current was replaced by the fallback");
    assert_eq!(phone.state("last_good").as_deref(), Some(id.as_str()), "last good was replaced by the fallback");
    v1.assert_tree(&phone.tree(&id));

    // Readable again: the bundle serves, as if nothing happened.
    let l = phone.launch();
    assert_eq!(l["bundle"]["id"], id.as_str(), "the bundle did not come back once readable: {l}");
    v1.assert_tree(Path::new(l["path"].as_str().unwrap()));
    phone.ready(&l);
    assert_eq!(phone.status(&id), "success");
}

#[test]
fn an_unreadable_index_html_serves_builtin_for_one_launch_and_a_queued_bundle_stays_queued_for_the_next() {
    let phone = Phone::new();
    let v1 = Dist::small("v1");
    let v1_id = phone.install(&v1, "1.1.0");
    phone.agent(&["next", "--id", &v1_id]);
    let l = phone.launch();
    phone.ready(&l);

    // A verified bundle whose entry page cannot be opened (the cheap size check alone would pass it).
    let index = phone.tree(&v1_id).join("index.html");
    chmod(&index, 0o000);
    let l = phone.launch();
    assert_served_builtin(&phone, &l, "index.html mode 000");
    phone.ready(&l);
    chmod(&index, 0o644);
    assert_eq!(phone.state("last_good").as_deref(), Some(v1_id.as_str()));
    let l = phone.launch();
    assert_eq!(l["bundle"]["id"], v1_id.as_str(), "{l}");
    phone.ready(&l);

    // A new bundle at its first boot (full re-hash) cannot be read: builtin this once, and it stays current.
    let v2 = Dist::small("v2");
    let v2_id = phone.install(&v2, "1.2.0");
    phone.agent(&["next", "--id", &v2_id]);
    let index = phone.tree(&v2_id).join("index.html");
    chmod(&index, 0o000);
    let l = phone.launch();
    assert_served_builtin(&phone, &l, "first boot, index.html mode 000");
    phone.ready(&l);
    chmod(&index, 0o644);
    assert_eq!(phone.state("current").as_deref(), Some(v2_id.as_str()), "the new bundle was dropped");
    assert_eq!(phone.status(&v2_id), "pending", "an unreadable first boot changed the new bundle's status");
    assert_eq!(phone.state("last_good").as_deref(), Some(v1_id.as_str()), "last good moved to the fallback");
    assert!(phone.tree(&v1_id).join("index.html").is_file(), "the last good bundle was auto-deleted");
    let l = phone.launch();
    assert_eq!(l["bundle"]["id"], v2_id.as_str(), "the new bundle does not boot once readable: {l}");
    v2.assert_tree(Path::new(l["path"].as_str().unwrap()));
    phone.ready(&l);
    assert_eq!(phone.status(&v2_id), "success");
}
