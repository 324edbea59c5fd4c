//! Crash consistency (DESIGN §7 invariant): the device simulator is SIGKILLed at random points across download,
//! install, catalog updates (delta installs from per-file objects included), set, launch, ready and delete, then
//! relaunched. Every relaunch must return a complete, verified tree
//! or builtin; `PRAGMA integrity_check` must be `ok`; nothing may be left in staging after recovery.
//!
//! `AIRLOCK_KILL_POINTS` sets how many kills to make (default 300); `AIRLOCK_CRASH_SEED` replays a run.

use airlock_core::catalog::{CATALOG_PAYLOAD_TYPE, Catalog, ReleasePin, Rule};
use airlock_core::envelope::{self, Signer};
use airlock_testkit::bundle::{Device, Dist, ReleaseSpec, Rng, b64, publish, sha256_hex};
use airlock_testkit::server::{Fault, TestServer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Sim {
    device: Device,
    config: std::path::PathBuf,
    server: TestServer,
    dists: BTreeMap<String, Dist>,
    /// Catalog releases: a base tree with a few files changed per release, so updates go through the delta path.
    publisher: Signer,
    base: Dist,
    next_release: u64,
    pins: BTreeMap<String, ReleasePin>,
}

const APP: &str = "com.example.app";

impl Sim {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_airlock"));
        c.arg("agent").arg("--config").arg(&self.config).arg("--json").args(args);
        c.stdout(Stdio::piped()).stderr(Stdio::null());
        c
    }

    /// Runs a command to completion; returns (success, stdout JSON).
    fn run(&self, args: &[&str]) -> (bool, Value) {
        let out = self.cmd(args).output().expect("spawn airlock");
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.success(), v)
    }

    /// Starts a command and SIGKILLs it after `delay`; returns true if the kill landed while it ran.
    fn run_killed(&self, args: &[&str], delay: Duration) -> bool {
        let mut child = self.cmd(args).spawn().expect("spawn airlock");
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline {
            if child.try_wait().expect("wait").is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let landed = child.try_wait().expect("wait").is_none();
        let _ = child.kill();
        let _ = child.wait();
        landed
    }

    /// Publishes catalog release n+1 (objects included) and points the production channel at it.
    fn new_release(&mut self) -> String {
        self.next_release += 1;
        let n = self.next_release;
        let version = format!("2.0.{n}");
        let mut dist = self.base.clone();
        for k in 0..5 {
            let path = dist.files[(n as usize * 7 + k * 31) % dist.files.len()].0.clone();
            dist = dist.with_file(&path, format!("release {n} file {k}").repeat(50).as_bytes());
        }
        let bundle_url = format!("../bundles/{n}.zip");
        let spec = ReleaseSpec { release: n, ..ReleaseSpec::new(&version, &bundle_url) };
        let p = publish(&dist, &spec, &[&self.publisher]);
        self.server.put(&format!("/{APP}/bundles/{n}.zip"), p.bundle);
        for (path, bytes) in &dist.files {
            let _ = path;
            self.server.put(&format!("/{APP}/objects/{}", sha256_hex(bytes)), bytes.clone());
        }
        self.server.put(&format!("/{APP}/releases/{n}.json"), p.envelope.clone());
        self.pins.insert(n.to_string(), ReleasePin { sha256: sha256_hex(&p.envelope), version: None });
        let catalog = Catalog {
            spec: 1,
            app_id: APP.into(),
            channel: "production".into(),
            serial: n,
            expires_at: "2100-01-01T00:00:00Z".into(),
            self_assign: false,
            releases: self
                .pins
                .iter()
                .filter(|(k, _)| **k == n.to_string())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            revoked: vec![],
            rules: vec![Rule { matcher: None, rollout: None, release: Some(n), variants: None, install: None }],
        };
        let payload = serde_json::to_vec(&catalog).expect("catalog json");
        self.server.put(
            &format!("/{APP}/channels/production.json"),
            envelope::sign(CATALOG_PAYLOAD_TYPE, &payload, &[&self.publisher]),
        );
        self.dists.insert(version.clone(), dist);
        version
    }

    fn list(&self) -> Vec<(String, String)> {
        let (_, v) = self.run(&["list"]);
        v["bundles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|b| {
                        (b["id"].as_str().unwrap_or("").to_string(), b["version"].as_str().unwrap_or("").to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn check_recovery(sim: &Sim, violations: &mut Vec<String>) -> Option<String> {
    let (ok, launch) = sim.run(&["launch"]);
    if !ok {
        violations.push(format!("relaunch failed: {launch}"));
        return None;
    }
    let id = launch["bundle"]["id"].as_str().unwrap_or("");
    let path = launch["path"].as_str().unwrap_or("");
    if id != "builtin" {
        let version = launch["bundle"]["version"].as_str().unwrap_or("");
        match sim.dists.get(version) {
            Some(dist) => {
                if let Err(e) = std::panic::catch_unwind(|| dist.assert_tree(Path::new(path))) {
                    violations.push(format!("bundle {id} ({version}) is incomplete: {e:?}"));
                }
            }
            None => violations.push(format!("launch returned unknown version {version}")),
        }
    }
    let root = sim.device.root();
    let staging: Vec<_> = std::fs::read_dir(root.join("staging")).map(|d| d.count()).into_iter().collect();
    if staging.first().copied().unwrap_or(0) != 0 {
        violations.push(format!("staging not empty after recovery: {staging:?}"));
    }
    let db = rusqlite::Connection::open(root.join("state.sqlite3")).expect("db");
    let ic: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    if ic != "ok" {
        violations.push(format!("integrity_check: {ic}"));
    }
    let live: Vec<String> = db
        .prepare("SELECT id FROM bundles WHERE status IN ('pending','success','error')")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("rows");
    for e in std::fs::read_dir(root.join("bundles")).expect("bundles dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !live.contains(&name) {
            violations.push(format!("orphan tree bundles/{name} survived recovery"));
        }
    }
    launch["token"].as_str().map(str::to_string)
}

/// Ignored in the plain `cargo test` run: `scripts/test` runs it on its own with `--nocapture` so its counts print.
#[test]
#[ignore = "run by scripts/test with --ignored --nocapture"]
fn sigkill_at_random_points_never_leaves_an_unbootable_state() {
    let kills: usize = std::env::var("AIRLOCK_KILL_POINTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seed: u64 = std::env::var("AIRLOCK_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    println!("crash consistency: seed {seed} (replay with AIRLOCK_CRASH_SEED={seed})");
    let mut rng = Rng::new(seed);
    let publisher = Signer::from_seed(&[7u8; 32]);
    let server = TestServer::start();
    let mut device = Device::new();
    device.plugin = serde_json::json!({"catalogUrl": server.url(""), "trustedKeys": [b64(&publisher.public_key())]});
    let config = device.write_config();
    let base = Dist::generate(200, 2_000_000, 999);
    let mut sim =
        Sim { device, config, server, dists: BTreeMap::new(), publisher, base, next_release: 0, pins: BTreeMap::new() };
    for _ in 0..3 {
        sim.new_release();
    }
    // Calibrate: how long does an uninterrupted full install take here?
    let t = Instant::now();
    let (ok, out) = sim.run(&["download", "--manifest", &sim.server.url(&format!("/{APP}/releases/1.json"))]);
    assert!(ok, "calibration install works: {out}");
    let install_time = t.elapsed();
    println!("crash consistency: one install takes {install_time:?}");

    let mut landed = 0usize;
    let mut attempts = 0usize;
    let mut violations = Vec::new();
    let mut token = check_recovery(&sim, &mut violations);
    let by_phase = &mut BTreeMap::<&str, usize>::new();
    while landed < kills && attempts < kills * 6 {
        attempts += 1;
        let installed = sim.list();
        let roll = rng.below(100);
        let (phase, args): (&str, Vec<String>) = if roll < 30 {
            // Install a release that is not on the device by its signed manifest (full, or delta from local files).
            let have: Vec<&String> = installed.iter().map(|(_, v)| v).collect();
            let candidates: Vec<String> = sim.dists.keys().filter(|v| !have.contains(v)).cloned().collect();
            let v = match candidates.get(rng.below(candidates.len() as u64) as usize) {
                Some(v) => v.clone(),
                None => sim.new_release(),
            };
            let n = v.rsplit('.').next().unwrap_or("1").to_string();
            if rng.below(3) == 0 {
                sim.server.set_fault(&format!("/{APP}/bundles/{n}.zip"), Fault::SlowDrip { bytes_per_sec: 40_000_000 });
            } else {
                sim.server.clear_faults(&format!("/{APP}/bundles/{n}.zip"));
            }
            let url = sim.server.url(&format!("/{APP}/releases/{n}.json"));
            ("download", vec!["download".into(), "--manifest".into(), url])
        } else if roll < 45 {
            // The channel moves to a new release; the device checks, fetches (delta) and queues it.
            sim.new_release();
            ("update", vec!["update".into()])
        } else if roll < 60 && !installed.is_empty() {
            let (id, _) = &installed[rng.below(installed.len() as u64) as usize];
            ("next", vec!["next".into(), "--id".into(), id.clone()])
        } else if roll < 72 && !installed.is_empty() {
            let (id, _) = &installed[rng.below(installed.len() as u64) as usize];
            ("set", vec!["set".into(), "--id".into(), id.clone()])
        } else if roll < 84 && token.is_some() {
            ("ready", vec!["ready".into(), "--token".into(), token.clone().unwrap_or_default()])
        } else if roll < 90 && !installed.is_empty() {
            let (id, _) = &installed[rng.below(installed.len() as u64) as usize];
            ("delete", vec!["delete".into(), "--id".into(), id.clone()])
        } else if roll < 93 {
            ("reset", vec!["reset".into()])
        } else {
            ("launch", vec!["launch".into()])
        };
        let budget = if phase == "download" { install_time.mul_f64(1.3) } else { Duration::from_millis(40) };
        let delay = Duration::from_micros(rng.below(budget.as_micros().max(1) as u64));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if sim.run_killed(&args, delay) {
            landed += 1;
            *by_phase.entry(phase).or_default() += 1;
        }
        token = check_recovery(&sim, &mut violations);
        // The app usually reaches ready after a relaunch; sometimes it does not (a bundle that never boots).
        if let Some(t) = &token
            && rng.below(10) < 7
        {
            sim.run(&["ready", "--token", t]);
        }
        if !violations.is_empty() {
            break;
        }
    }
    println!("crash consistency: kills by phase {by_phase:?}");
    println!("crash consistency: {landed} kill points, {} violations", violations.len());
    for v in &violations {
        println!("  violation: {v}");
    }
    assert!(violations.is_empty(), "invariant violated (seed {seed}): {violations:?}");
    assert!(landed >= kills, "only {landed} of {kills} kills landed in {attempts} attempts");
}
