//! A delta update meets a flaky network: a 503 or a connection cut while objects are fetched fails the call
//! transiently (reported as `download_fail`), keeps every object already fetched, and the next attempt fetches
//! only the missing ones — the device pays about the delta, never the whole bundle. The full bundle is the
//! fallback, in the same call, only when the delta cannot work: an object missing on the server or an object that
//! does not match the signed list.

use airlock_testkit::bundle::{Device, Dist, Rng};
use airlock_testkit::server::{Fault, TestServer};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const APP: &str = "com.example.app";
/// Files release 2 adds on top of release 1, and the size of each.
const CHANGED: usize = 8;
const CHANGED_SIZE: usize = 20_000;

fn airlock(args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock")).arg("--json").args(args).output().expect("spawn");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), v)
}

fn airlock_ok(args: &[&str]) -> Value {
    let (ok, v) = airlock(args);
    assert!(ok, "airlock {args:?} failed: {v}");
    v
}

/// Two published releases on a loopback server, and a device that runs release 1 (installed in full).
struct World {
    _work: tempfile::TempDir,
    server: TestServer,
    device: Device,
    cfg: String,
    v2: Dist,
    bundle2_path: String,
    bundle2_size: u64,
    /// Server paths of the objects release 2 adds, in the order a device fetches them (the signed list's order).
    changed_objects: Vec<String>,
    /// Requests of release 1's install: (object requests, bundle bytes).
    first_install: (usize, u64),
}

impl World {
    fn new() -> World {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        let s = |p: &str| w.join(p).to_string_lossy().into_owned();
        let v1 = Dist::generate(200, 3_000_000, 41);
        let mut v2 = v1.clone();
        let mut rng = Rng::new(42);
        for k in 0..CHANGED {
            let mut bytes = vec![0u8; CHANGED_SIZE];
            rng.fill(&mut bytes);
            v2 = v2.with_file(&format!("assets/release2/c{k}.bin"), &bytes);
        }
        v1.write_to(&w.join("dist1"));
        v2.write_to(&w.join("dist2"));
        let keys = airlock_ok(&["keys", "new", "--out", &s("keys")]);
        let key = s("keys/publisher.signing.key");
        let common = ["--repo", &s("repo"), "--app-id", APP, "--key", &key];
        let r1 = airlock_ok(&[&["release", &s("dist1"), "--version", "1.0.1"][..], &common[..]].concat());
        let r2 = airlock_ok(&[&["release", &s("dist2"), "--version", "1.0.2"][..], &common[..]].concat());
        let server = TestServer::start();
        server.put_dir(&w.join("repo"));
        let mut device = Device::new();
        device.plugin = serde_json::json!({ "trustedKeys": keys["capacitor_config"]["trustedKeys"] });
        let cfg = device.write_config().to_string_lossy().into_owned();
        let changed_objects = v2
            .entries()
            .into_iter()
            .filter(|e| e.path.starts_with("assets/release2/"))
            .map(|e| format!("/{APP}/objects/{}", e.sha256))
            .collect();
        let mut world = World {
            _work: work,
            server,
            device,
            cfg,
            v2,
            bundle2_path: format!("/{APP}/bundles/{}.zip", r2["bundle"]["sha256"].as_str().unwrap()),
            bundle2_size: r2["bundle"]["size"].as_u64().unwrap(),
            changed_objects,
            first_install: (0, 0),
        };
        world.download(1).expect("release 1 installs in full");
        let bundle1 = format!("/{APP}/bundles/{}.zip", r1["bundle"]["sha256"].as_str().unwrap());
        world.first_install = (world.objects_requested().len(), world.server.body_bytes_sent_for(&bundle1));
        world.server.reset_counters();
        world
    }

    fn download(&self, release: u64) -> Result<Value, Value> {
        let manifest = self.server.url(&format!("/{APP}/releases/{release}.json"));
        match airlock(&["agent", "--config", &self.cfg, "download", "--manifest", &manifest]) {
            (true, v) => Ok(v),
            (false, v) => Err(v),
        }
    }

    /// Object paths answered 200 since the last counter reset.
    fn objects_served(&self) -> BTreeSet<String> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/objects/") && r.status == 200)
            .map(|r| r.path)
            .collect()
    }

    fn objects_requested(&self) -> Vec<String> {
        self.server.requests().into_iter().filter(|r| r.path.contains("/objects/")).map(|r| r.path).collect()
    }

    /// Body bytes sent since the last counter reset, not counting release 2's manifest.
    fn bytes_besides_the_manifest(&self) -> u64 {
        self.server.body_bytes_sent() - self.server.body_bytes_sent_for(&format!("/{APP}/releases/2.json"))
    }

    fn objects_dir(&self) -> PathBuf {
        self.device.root().join("objects")
    }

    /// `objects/` on the device: complete objects by name, and any other entry (temporaries).
    fn objects_on_disk(&self) -> (BTreeSet<String>, Vec<String>) {
        let mut complete = BTreeSet::new();
        let mut other = Vec::new();
        for e in std::fs::read_dir(self.objects_dir()).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                complete.insert(format!("/{APP}/objects/{name}"));
            } else {
                other.push(name);
            }
        }
        (complete, other)
    }

    fn bundle_versions(&self) -> Vec<String> {
        let list = airlock_ok(&["agent", "--config", &self.cfg, "list"]);
        let mut v: Vec<String> =
            list["bundles"].as_array().unwrap().iter().map(|b| b["version"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    }

    fn queued_stats(&self) -> Vec<String> {
        let db = rusqlite::Connection::open(self.device.root().join("state.sqlite3")).unwrap();
        let mut s = db.prepare("SELECT action FROM stats_queue").unwrap();
        s.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    }

    fn assert_installed_as_release_2(&self, info: &Value) {
        assert_eq!(info["version"], "1.0.2", "{info}");
        self.v2.assert_tree(&self.device.root().join("bundles").join(info["id"].as_str().unwrap()));
    }
}

fn assert_transient(err: &Value, what: &str) {
    assert_eq!(err["error"]["kind"], "network", "{what}: a transient network error, got {err}");
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("will retry") || message.contains("next attempt"),
        "{what}: says what happens next: {err}"
    );
}

#[test]
fn a_503_on_an_object_keeps_the_fetched_objects_and_the_next_attempt_fetches_only_the_missing_one() {
    let w = World::new();
    let last = w.changed_objects.last().unwrap().clone();
    w.server.set_fault(&last, Fault::Status(503));

    let err = w.download(2).expect_err("the delta fails while an object answers 503");
    assert_transient(&err, "a 503 on an object");
    assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), 0, "the full bundle was not fetched: {err}");
    let fetched = w.objects_served();
    let expected: BTreeSet<String> = w.changed_objects[..CHANGED - 1].iter().cloned().collect();
    assert_eq!(fetched, expected, "every object before the failing one was fetched");
    let (on_disk, temporaries) = w.objects_on_disk();
    assert!(on_disk.is_superset(&expected), "the fetched objects are kept in objects/: {on_disk:?}");
    assert!(!on_disk.contains(&last), "the failed object is not there");
    assert!(temporaries.is_empty(), "no temporaries are left behind: {temporaries:?}");
    assert_eq!(w.bundle_versions(), vec!["1.0.1"], "nothing was installed");
    assert!(w.queued_stats().contains(&"download_fail".to_string()), "the failure is reported");
    let first_attempt_bytes = w.bytes_besides_the_manifest();

    w.server.clear_faults(&last);
    w.server.reset_counters();
    let info = w.download(2).expect("the next attempt completes the delta");
    assert_eq!(w.objects_requested(), vec![last], "only the missing object is fetched");
    assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), 0, "the full bundle was not fetched");
    w.assert_installed_as_release_2(&info);
    let total = first_attempt_bytes + w.bytes_besides_the_manifest();
    let delta = (CHANGED * CHANGED_SIZE) as u64;
    println!("503 on an object: {total} bytes over two attempts; delta {delta}; full bundle {}", w.bundle2_size);
    assert!(total <= delta + 1024, "the delta and a 503 page, not the full bundle ({})", w.bundle2_size);
}

#[test]
fn a_connection_cut_inside_an_object_is_resumed_as_a_delta_and_never_costs_the_full_bundle() {
    let w = World::new();
    let middle = w.changed_objects[CHANGED / 2].clone();
    w.server.set_fault(&middle, Fault::CutAfter { bytes: 5_000, times: 1 });

    let err = w.download(2).expect_err("the delta fails when the connection is cut");
    assert_transient(&err, "a cut connection");
    assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), 0, "the full bundle was not fetched: {err}");
    let expected: BTreeSet<String> = w.changed_objects[..CHANGED / 2].iter().cloned().collect();
    let (on_disk, temporaries) = w.objects_on_disk();
    assert!(on_disk.is_superset(&expected), "the objects fetched before the cut are kept: {on_disk:?}");
    assert!(!on_disk.contains(&middle), "the cut object is not kept as if complete");
    let sha = middle.rsplit('/').next().unwrap();
    let mut kept = temporaries.clone();
    kept.sort();
    assert_eq!(
        kept,
        vec![format!("{sha}.part"), format!("{sha}.part.json")],
        "the cut object's bytes are kept to resume"
    );
    assert_eq!(w.bundle_versions(), vec!["1.0.1"]);
    assert!(w.queued_stats().contains(&"download_fail".to_string()), "the failure is reported");
    let first_attempt_bytes = w.bytes_besides_the_manifest();

    w.server.reset_counters();
    let info = w.download(2).expect("the next attempt completes the delta");
    let refetched: BTreeSet<String> = w.objects_requested().into_iter().collect();
    let missing: BTreeSet<String> = w.changed_objects[CHANGED / 2..].iter().cloned().collect();
    assert_eq!(refetched, missing, "only the missing objects are fetched");
    assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), 0, "the full bundle was not fetched");
    w.assert_installed_as_release_2(&info);
    let total = first_attempt_bytes + w.bytes_besides_the_manifest();
    let delta = (CHANGED * CHANGED_SIZE) as u64;
    println!("cut inside an object: {total} bytes over two attempts; delta {delta}; full bundle {}", w.bundle2_size);
    assert!(total <= delta + 1024, "the delta once: the cut object resumes where it was cut ({total} bytes)");
    let range = w.server.requests().into_iter().find(|r| r.path == middle).and_then(|r| r.range);
    assert_eq!(range.as_deref(), Some("bytes=5000-"), "the cut object resumed with a Range request");
    assert!(w.objects_on_disk().1.is_empty(), "no temporaries are left once the delta is installed");
}

#[test]
fn an_object_missing_on_the_server_falls_back_to_the_full_bundle_in_the_same_call() {
    // 403: what a private bucket answers for a key that was never uploaded.
    for status in [404, 410, 403] {
        let w = World::new();
        w.server.set_fault(&w.changed_objects[2], Fault::Status(status));
        let info =
            w.download(2).unwrap_or_else(|e| panic!("HTTP {status} on an object: the full bundle installs: {e}"));
        w.assert_installed_as_release_2(&info);
        assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), w.bundle2_size, "HTTP {status}: full bundle");
        assert_eq!(w.bundle_versions(), vec!["1.0.1", "1.0.2"]);
    }
}

#[test]
fn an_object_that_does_not_match_the_signed_list_falls_back_to_the_full_bundle_in_the_same_call() {
    let w = World::new();
    let spoiled = &w.changed_objects[3];
    w.server.put(spoiled, vec![b'x'; CHANGED_SIZE]);
    let info = w.download(2).expect("the full bundle installs");
    w.assert_installed_as_release_2(&info);
    assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), w.bundle2_size);
    let name = spoiled.rsplit('/').next().unwrap();
    assert!(!w.objects_dir().join(name).exists() || verify_object(&w.objects_dir().join(name)), "never kept spoiled");
}

/// True when the object file's content hashes to its name.
#[test]
fn an_object_spoiled_once_in_transit_is_fetched_again_and_the_update_stays_a_delta() {
    let w = World::new();
    let spoiled = &w.changed_objects[3];
    w.server.set_fault(spoiled, Fault::OtherBytesTimes(1));
    let info = w.download(2).expect("the delta installs");
    w.assert_installed_as_release_2(&info);
    assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), 0, "the full bundle was not fetched");
    let total = w.bytes_besides_the_manifest();
    let delta = (CHANGED * CHANGED_SIZE) as u64;
    println!("an object spoiled once: {total} bytes; delta {delta}; full bundle {}", w.bundle2_size);
    assert!(total <= delta + CHANGED_SIZE as u64 + 1024, "the delta and one refetched object ({total} bytes)");
    let (_, temporaries) = w.objects_on_disk();
    assert!(temporaries.is_empty(), "no temporaries are left behind: {temporaries:?}");
}

fn verify_object(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    airlock_testkit::bundle::sha256_hex(&bytes) == path.file_name().unwrap().to_string_lossy()
}

#[test]
fn a_first_install_with_nothing_to_reuse_fetches_the_bundle_not_one_request_per_file() {
    // Release 1 repeats some contents (its script files are identical): deduplicated, fewer objects than files
    // are missing, yet nothing on the device can be reused.
    let w = World::new();
    let (object_requests, bundle_bytes) = w.first_install;
    assert_eq!(object_requests, 0, "no per-file requests for a tree with nothing to reuse");
    assert!(bundle_bytes > 0, "the bundle was downloaded");
}

#[test]
fn through_update_a_503_on_an_object_is_not_remembered_and_the_next_update_installs_the_delta() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let s = |p: &str| w.join(p).to_string_lossy().into_owned();
    let v1 = Dist::generate(60, 600_000, 51);
    let (mut a, mut b) = (vec![0u8; 30_000], vec![0u8; 30_000]);
    let mut rng = Rng::new(52);
    rng.fill(&mut a);
    rng.fill(&mut b);
    let v2 = v1.with_file("assets/release2/a.bin", &a).with_file("assets/release2/b.bin", &b);
    v1.write_to(&w.join("dist1"));
    v2.write_to(&w.join("dist2"));
    let keys = airlock_ok(&["keys", "new", "--out", &s("keys")]);
    let key = s("keys/publisher.signing.key");
    let repo = ["--repo", &s("repo"), "--app-id", APP];
    let publish = |dist: &str, version: &str| {
        airlock_ok(&[&["release", &s(dist), "--version", version, "--key", &key][..], &repo[..]].concat())
    };
    let channel_to = |release: &str| {
        airlock_ok(&[&["channel", "set", "production", "--release", release, "--key", &key][..], &repo[..]].concat())
    };
    let server = TestServer::start();
    publish("dist1", "1.0.1");
    channel_to("1");
    server.put_dir(&w.join("repo"));
    let mut device = Device::new();
    device.plugin = serde_json::json!({
        "trustedKeys": keys["capacitor_config"]["trustedKeys"], "catalogUrl": server.url(""),
        "defaultChannel": "production",
    });
    let cfg = device.write_config().to_string_lossy().into_owned();
    let update = || airlock(&["agent", "--config", &cfg, "update"]);
    let (ok, first) = update();
    assert!(ok && first["bundle"]["version"] == "1.0.1", "release 1 installs: {first}");

    let r2 = publish("dist2", "1.0.2");
    channel_to("2");
    server.put_dir(&w.join("repo"));
    let objects: Vec<String> = v2
        .entries()
        .into_iter()
        .filter(|e| e.path.starts_with("assets/release2/"))
        .map(|e| format!("/{APP}/objects/{}", e.sha256))
        .collect();
    server.set_fault(&objects[1], Fault::Status(503));
    server.reset_counters();
    let (ok, err) = update();
    assert!(!ok, "the update fails while an object answers 503: {err}");
    assert_transient(&err, "update with a 503 on an object");
    let bundle2 = format!("/{APP}/bundles/{}.zip", r2["bundle"]["sha256"].as_str().unwrap());
    assert_eq!(server.body_bytes_sent_for(&bundle2), 0, "the full bundle was not fetched");

    server.clear_faults(&objects[1]);
    server.reset_counters();
    let (ok, second) = update();
    assert!(ok, "the next update installs release 2 (the failure was not remembered as a rejection): {second}");
    assert_eq!(second["bundle"]["version"], "1.0.2", "{second}");
    let fetched: Vec<String> =
        server.requests().into_iter().filter(|r| r.path.contains("/objects/")).map(|r| r.path).collect();
    assert_eq!(fetched, vec![objects[1].clone()], "only the missing object is fetched");
    assert_eq!(server.body_bytes_sent_for(&bundle2), 0, "the full bundle was not fetched");
    v2.assert_tree(&device.root().join("bundles").join(second["bundle"]["id"].as_str().unwrap()));
}

#[test]
fn an_object_that_keeps_failing_transiently_falls_back_to_the_full_bundle_after_five_attempts_without_progress() {
    let w = World::new();
    // The first object to fetch answers 503 every time (a CDN edge that lost it): no attempt makes progress.
    let first = w.changed_objects[0].clone();
    w.server.set_fault(&first, Fault::Status(503));
    for attempt in 1..=4 {
        let err = w.download(2).expect_err("a stalled delta fails transiently");
        assert_transient(&err, &format!("stalled attempt {attempt}"));
        assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), 0, "attempt {attempt}: no full bundle yet");
    }
    let info = w.download(2).expect("the fifth attempt without progress installs the full bundle");
    w.assert_installed_as_release_2(&info);
    assert_eq!(w.server.body_bytes_sent_for(&w.bundle2_path), w.bundle2_size);
    assert_eq!(w.bundle_versions(), vec!["1.0.1", "1.0.2"]);
}
