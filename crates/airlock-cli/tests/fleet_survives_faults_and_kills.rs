//! Fleet (issue 7, acceptance 4): at least 100 simulated devices — each its own `airlock agent` processes on its own
//! data root — live through a release story (healthy full, healthy delta, a broken release that never reaches
//! ready, healthy delta) published with the real CLI, against a loopback server in chaos mode that spoils about
//! 15 % of the answers for catalogs, manifests, objects and bundles, while device processes are SIGKILLed at
//! random moments. Every device must end on every healthy release within a bounded number of rounds, every device
//! that launched the broken release must roll back by itself, no launch (after a kill or not) may fail or return
//! an incomplete tree, and the bytes the server sent each device for a release stay under 2× what that release
//! needs (the full bundle for the first, the new objects for a delta; bodies the server replaced by wrong bytes
//! are not counted, since no client can keep them). Stats go to a real collector behind a chaos proxy spoiling the
//! same share of answers: once the network is healthy, every event a command committed must be at the collector.
//!
//! Time is the simulator's injected clock (`--now-ms`): a round is one app session per device six hours after the
//! last (so backoffs and `Retry-After` between sessions are over, as on a phone opened a few times a day).
//! `AIRLOCK_FLEET_SEED` replays the chaos and the kill plan; `AIRLOCK_FLEET_DEVICES` (default 100) sizes it;
//! `AIRLOCK_FLEET_CHAOS` (percent spoiled, default 15) and `AIRLOCK_FLEET_KILLS` (percent of sessions with a kill,
//! default 30) are for diagnosis (0 isolates the other cause).

use airlock_server::{Server, ServerConfig};
use airlock_testkit::bundle::{Device, Dist, Rng};
use airlock_testkit::server::{Chaos, ChaosProxy, TestServer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const APP: &str = "com.example.app";
/// Concurrent device processes (the machine is small and shared).
const WORKERS: usize = 8;
/// Rounds a release gets before a device not on it counts as stranded. Under ~15 % spoiled answers and kills in
/// ~30 % of sessions a device's round succeeds a little over half the time, so 8 rounds would leave one device in
/// about 0.4^8 × 300 ≈ 20 % of runs behind by chance alone; 16 rounds (4 simulated days) make that ~1e-4 while a
/// device that cannot converge (a release it remembers as rejected, a backoff that never ends) still fails. The
/// story moves on as soon as every device converged, so the bound costs time only when a device is behind.
const MAX_ROUNDS: usize = 16;
/// Simulated time between two rounds.
const ROUND_MS: i64 = 6 * 3_600_000;
/// Offsets in a session: its steps take the first 22 minutes, then stats are sent, then `current` is read.
const FLUSH_AT_MS: i64 = 40 * 60_000;
const CURRENT_AT_MS: i64 = 45 * 60_000;

fn cli(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock")).arg("--json").args(args).output().expect("spawn airlock");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "airlock {args:?} failed: {v} {}", String::from_utf8_lossy(&out.stderr));
    v
}

/// A web app of incompressible files (so a full bundle and the sum of its objects weigh the same).
fn app(files: usize, size: usize, seed: u64) -> Dist {
    let mut rng = Rng::new(seed);
    let mut out = vec![("index.html".to_string(), format!("<!doctype html><title>app {seed}</title>").into_bytes())];
    for i in 1..files {
        let mut data = vec![0u8; size];
        rng.fill(&mut data);
        out.push((format!("assets/d{}/f{i}.bin", i % 6), data));
    }
    out.sort();
    Dist { files: out }
}

/// `base` with `n` of its files replaced by new random bytes.
fn changed(base: &Dist, n: usize, seed: u64) -> Dist {
    let mut rng = Rng::new(seed);
    let mut dist = base.clone();
    for k in 0..n {
        let (path, old) = dist.files[1 + (seed as usize * 5 + k * 7) % (dist.files.len() - 1)].clone();
        let mut data = vec![0u8; old.len()];
        rng.fill(&mut data);
        dist = dist.with_file(&path, &data);
    }
    dist
}

/// One step of the release story: what to publish, and the release a delta is measured from.
struct Step {
    version: &'static str,
    label: &'static str,
    dist: Dist,
    broken: bool,
    delta_from: Option<Dist>,
}

/// One published release and what a device needs to fetch for it.
#[derive(Clone)]
struct Release {
    version: String,
    label: &'static str,
    dist: Dist,
    broken: bool,
    /// Bytes a device needs: catalog + manifest + (full bundle, or the objects new since `from`).
    need: u64,
}

struct Publisher {
    work: PathBuf,
    repo: PathBuf,
    key: String,
    releases: Vec<Release>,
}

impl Publisher {
    fn s(p: &Path) -> String {
        p.to_string_lossy().into_owned()
    }

    /// `airlock release` + `airlock channel set production`, then the repo is served.
    fn publish(&mut self, server: &TestServer, step: Step) {
        let Step { version, label, dist, broken, delta_from } = step;
        let dir = self.work.join(format!("dist-{version}"));
        dist.write_to(&dir);
        let repo = Self::s(&self.repo);
        let out = cli(&[
            "release",
            &Self::s(&dir),
            "--version",
            version,
            "--repo",
            &repo,
            "--app-id",
            APP,
            "--key",
            &self.key,
        ]);
        let n = out["release"].as_u64().expect("release number").to_string();
        cli(&[
            "channel",
            "set",
            "production",
            "--repo",
            &repo,
            "--app-id",
            APP,
            "--key",
            &self.key,
            "--release",
            &n,
            "--replace",
        ]);
        server.put_dir(&self.repo);
        let app_dir = self.repo.join(APP);
        let size =
            |p: PathBuf| std::fs::metadata(&p).map(|m| m.len()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let meta = size(app_dir.join("channels/production.json")) + size(app_dir.join(format!("releases/{n}.json")));
        let payload = match &delta_from {
            None => out["bundle"]["size"].as_u64().expect("bundle size"),
            Some(from) => {
                let had: BTreeSet<String> = from.entries().into_iter().map(|e| e.sha256).collect();
                let new: BTreeSet<String> =
                    dist.entries().into_iter().map(|e| e.sha256).filter(|h| !had.contains(h)).collect();
                new.iter().map(|h| size(app_dir.join(format!("objects/{h}")))).sum()
            }
        };
        self.releases.push(Release { version: version.into(), label, dist, broken, need: meta + payload });
    }
}

/// One simulated phone.
struct Phone {
    device: Device,
    config: String,
    prefix: String,
    /// Version `current` names after its last session.
    current: String,
    /// The broken release was launched on this device.
    got_broken: bool,
    /// What it ran when the broken release was first launched: where it must roll back to.
    before_broken: String,
    /// The last session's kill landed in the boot window (launch → ready): one more there would be a second
    /// missed ready, which rightly rolls a healthy bundle back, so the next session aims elsewhere.
    boot_kill_last: bool,
    /// The last session ended in a kill: its next launch is a launch after a kill.
    killed_last: bool,
    /// The last answer of its automatic check (an error, up to date, skipped), for a stranded device's report.
    last_auto: String,
    /// Every automatic check's answer, for the failure report of a device left behind.
    autos: Vec<String>,
    bytes_at_phase_start: u64,
    wrong_at_phase_start: u64,
    /// Stats the collector must end up with: (action, version) seen committed by this device's commands.
    expected_stats: BTreeSet<(String, String)>,
}

/// Durations of unkilled commands, by step, to aim kills inside a command's lifetime.
#[derive(Default)]
struct Timing(Mutex<BTreeMap<&'static str, (Duration, u32)>>);

impl Timing {
    fn record(&self, step: &'static str, d: Duration) {
        let mut t = self.0.lock().unwrap();
        let e = t.entry(step).or_insert((Duration::ZERO, 0));
        e.0 += d;
        e.1 += 1;
    }
    fn typical(&self, step: &'static str) -> Duration {
        let t = self.0.lock().unwrap();
        match t.get(step) {
            Some((sum, n)) if *n > 0 => *sum / *n,
            _ => Duration::from_millis(if step == "auto" { 300 } else { 40 }),
        }
    }
}

enum Run {
    Done { ok: bool, out: Value },
    Killed,
}

struct Fleet {
    releases: Vec<Release>,
    timing: Timing,
    violations: Mutex<Vec<String>>,
    kills: AtomicUsize,
    seed: u64,
    /// Simulated time of round 0 (the real time the test started: catalogs expire in real days).
    t0_ms: i64,
    /// Share of sessions (percent) in which a SIGKILL is aimed at one of the device's processes.
    kill_percent: u64,
}

impl Fleet {
    fn violation(&self, v: String) {
        self.violations.lock().unwrap().push(v);
    }

    /// Runs one `airlock agent` command at simulated time `now_ms`; when `kill_after` is set, SIGKILLs it then if
    /// it still runs. (The wait below is the kill's random moment, not a wait for a result.)
    fn run(&self, p: &Phone, now_ms: i64, step: &'static str, args: &[&str], kill_after: Option<Duration>) -> Run {
        let now = now_ms.to_string();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
        cmd.args(["--json", "agent", "--config", &p.config, "--now-ms", &now]).args(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn airlock agent");
        if let Some(delay) = kill_after {
            while started.elapsed() < delay {
                if child.try_wait().expect("try_wait").is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(250));
            }
            if child.try_wait().expect("try_wait").is_none() {
                let _ = child.kill();
                let _ = child.wait();
                self.kills.fetch_add(1, Ordering::Relaxed);
                return Run::Killed;
            }
        }
        let out = child.wait_with_output().expect("wait airlock agent");
        if kill_after.is_none() {
            self.timing.record(step, started.elapsed());
        }
        Run::Done { ok: out.status.success(), out: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null) }
    }

    /// A launch result: the tree it names must be complete; returns (version, token).
    fn check_launch(&self, p: &mut Phone, ok: bool, out: &Value, what: &str) -> Option<(String, String)> {
        if !ok {
            let after = if p.killed_last { " after a kill" } else { "" };
            self.violation(format!("{}: {what}{after} failed: {out}", p.prefix));
            return None;
        }
        let version = out["bundle"]["version"].as_str().unwrap_or("").to_string();
        let token = out["token"].as_str().unwrap_or("").to_string();
        let path = PathBuf::from(out["path"].as_str().unwrap_or(""));
        let dist = if out["bundle"]["id"] == "builtin" {
            Some(&p.device.builtin)
        } else {
            self.releases.iter().find(|r| r.version == version).map(|r| &r.dist)
        };
        match dist {
            Some(d) => {
                if let Err(e) = std::panic::catch_unwind(|| d.assert_tree(&path)) {
                    let e = e.downcast_ref::<String>().cloned().unwrap_or_default();
                    self.violation(format!("{}: {what} returned an incomplete {version} tree: {e}", p.prefix));
                }
            }
            None => self.violation(format!("{}: {what} returned unknown version {version:?}: {out}", p.prefix)),
        }
        if self.is_broken(&version) && !p.got_broken {
            p.got_broken = true;
            p.before_broken = p.current.clone();
        }
        Some((version, token))
    }

    fn is_broken(&self, version: &str) -> bool {
        self.releases.iter().any(|r| r.broken && r.version == version)
    }

    /// One app session as a phone in `atBackground` mode runs it: cold start → launch → ready (the broken build
    /// never calls it) → automatic check and download → background applies the queued bundle → its page loads →
    /// ready; after a failed check, one more foreground later in the session. A planned SIGKILL ends the session
    /// where it lands (the user reopens the app next round).
    fn session(&self, p: &mut Phone, round: usize) {
        let mut rng = Rng::new(self.seed ^ (round as u64).wrapping_mul(0x9E37_79B9) ^ fnv(&p.prefix));
        let base = self.t0_ms + round as i64 * ROUND_MS;
        const STEPS: [&str; 5] = ["launch", "ready", "auto", "background", "ready-after-apply"];
        let boot_window = |s: &str| s != "auto";
        let mut target = (rng.below(100) < self.kill_percent).then(|| {
            let roll = rng.below(100);
            if roll < 50 { "auto" } else { STEPS[(roll % 5) as usize] }
        });
        if p.boot_kill_last && target.is_some_and(boot_window) {
            target = Some("auto");
        }
        let kill_roll = rng.below(1_000_000);
        let kill_for = |step: &'static str| {
            (target == Some(step)).then(|| self.timing.typical(step).mul_f64(1.3).mul_f64(kill_roll as f64 / 1e6))
        };
        let killed = |p: &mut Phone, step: &'static str| {
            p.killed_last = true;
            p.boot_kill_last = boot_window(step);
        };
        let at = |k: i64| base + k * 10_000;
        let blessed = |p: &mut Phone, ok: bool, out: &Value| {
            if ok && out["ignored"].is_null() {
                let v = out["bundle"]["version"].as_str().unwrap_or("").to_string();
                p.expected_stats.insert(("app_launch_ready".into(), v));
            }
        };

        let (ok, out) = match self.run(p, at(0), "launch", &["launch"], kill_for("launch")) {
            Run::Killed => return killed(p, "launch"),
            Run::Done { ok, out } => (ok, out),
        };
        let Some((version, token)) = self.check_launch(p, ok, &out, "launch") else { return };
        p.current = version.clone();
        p.killed_last = false;
        p.boot_kill_last = false;
        if !self.is_broken(&version) {
            match self.run(p, at(1), "ready", &["ready", "--token", &token], kill_for("ready")) {
                Run::Killed => return killed(p, "ready"),
                Run::Done { ok, out } => blessed(p, ok, &out),
            }
        }
        let auto_failed = match self.run(p, at(2), "auto", &["auto", "--trigger", "cold-start"], kill_for("auto")) {
            Run::Killed => return killed(p, "auto"),
            Run::Done { ok, out } => {
                self.downloaded(p, &out);
                !ok
            }
        };
        // Visit 0 ends with the app going to the background (the queued bundle is applied and its page loads).
        // When the cold-start check failed, the user comes back 20 minutes later: the foreground check retries,
        // and visit 1 ends the same way (no kills aimed there).
        for visit in 0..2 {
            let kill = |step: &'static str| if visit == 0 { kill_for(step) } else { None };
            let t = if visit == 0 { 3 } else { 130 };
            let out = match self.run(p, at(t), "background", &["background"], kill("background")) {
                Run::Killed => return killed(p, "background"),
                Run::Done { ok: false, out } => {
                    self.violation(format!("{}: background failed: {out}", p.prefix));
                    return;
                }
                Run::Done { ok: true, out } => out,
            };
            if !out["reload"].is_null() {
                let Some((version, token)) = self.check_launch(p, true, &out["reload"], "background apply") else {
                    return;
                };
                p.current = version.clone();
                if !self.is_broken(&version) {
                    let args = ["ready", "--token", &token];
                    match self.run(p, at(t + 1), "ready-after-apply", &args, kill("ready-after-apply")) {
                        Run::Killed => return killed(p, "ready-after-apply"),
                        Run::Done { ok, out } => blessed(p, ok, &out),
                    }
                }
            }
            if visit == 1 || !auto_failed {
                return;
            }
            let args = ["foreground", "--background-ms", "1200000"];
            match self.run(p, at(120), "foreground", &args, None) {
                Run::Done { ok: true, out } => self.downloaded(p, &out),
                Run::Done { out, .. } => {
                    p.last_auto = out.to_string();
                    p.autos.push(out.to_string().chars().take(240).collect());
                    return;
                }
                Run::Killed => return,
            }
        }
    }

    /// Notes an automatic check's answer (a download commits a `download_complete` stat).
    fn downloaded(&self, p: &mut Phone, out: &Value) {
        if out["kind"] == "downloaded" {
            let v = out["bundle"]["version"].as_str().unwrap_or("").to_string();
            p.expected_stats.insert(("download_complete".into(), v));
        }
        p.last_auto = out.to_string();
        p.autos.push(out.to_string().chars().take(240).collect());
    }

    /// The app sends its queued stats (through the chaos proxy); one flush in ten is SIGKILLed.
    fn flush(&self, p: &mut Phone, round: usize) {
        let mut rng = Rng::new(self.seed ^ 0xF1u64.wrapping_mul(round as u64 + 1) ^ fnv(&p.prefix));
        let kill = (rng.below(100) < self.kill_percent / 3)
            .then(|| self.timing.typical("flush-stats").mul_f64(1.3 * rng.below(1000) as f64 / 1000.0));
        let now = self.t0_ms + round as i64 * ROUND_MS + FLUSH_AT_MS;
        if let Run::Killed = self.run(p, now, "flush-stats", &["flush-stats"], kill) {
            p.killed_last = true;
            p.boot_kill_last = false;
        }
    }

    /// What `current` names (after a kill the session could not tell).
    fn current(&self, p: &Phone, round: usize) -> String {
        match self.run(p, self.t0_ms + round as i64 * ROUND_MS + CURRENT_AT_MS, "current", &["current"], None) {
            Run::Done { ok: true, out } => out["bundle"]["version"].as_str().unwrap_or("").to_string(),
            _ => String::new(),
        }
    }

    /// One round: a session on every phone, `WORKERS` phones at a time.
    fn round(&self, phones: &mut [Phone], round: usize) {
        let next = AtomicUsize::new(0);
        let cells: Vec<Mutex<&mut Phone>> = phones.iter_mut().map(Mutex::new).collect();
        std::thread::scope(|s| {
            for _ in 0..WORKERS {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(cell) = cells.get(i) else { break };
                        let mut p = cell.lock().unwrap();
                        self.session(&mut p, round);
                        if !p.killed_last {
                            self.flush(&mut p, round);
                        }
                        if p.killed_last {
                            let now = self.current(&p, round);
                            // A kill after the broken bundle was applied but before its launch was printed: the
                            // device got it all the same, and must roll back to what it ran before.
                            if self.is_broken(&now) && !p.got_broken {
                                p.got_broken = true;
                                p.before_broken = p.current.clone();
                            }
                            p.current = now;
                        }
                    }
                });
            }
        });
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Ignored in the plain `cargo test` run (it takes a few minutes of two cores): `scripts/test` runs it on its own
/// with `--nocapture` so its rounds print.
#[test]
#[ignore = "run by scripts/test with --ignored --nocapture"]
fn a_fleet_under_chaos_and_sigkills_ends_on_every_healthy_release_and_rolls_back_the_broken_one() {
    let devices: usize = std::env::var("AIRLOCK_FLEET_DEVICES").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let seed: u64 = std::env::var("AIRLOCK_FLEET_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    println!("fleet: {devices} devices, seed {seed} (replay with AIRLOCK_FLEET_SEED={seed})");
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let keys = cli(&["keys", "new", "--out", &Publisher::s(&work.path().join("keys"))]);
    let mut publisher = Publisher {
        work: work.path().to_path_buf(),
        repo: work.path().join("repo"),
        key: Publisher::s(&work.path().join("keys/publisher.signing.key")),
        releases: Vec::new(),
    };
    let server = TestServer::start();
    let chaos: u32 = std::env::var("AIRLOCK_FLEET_CHAOS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    server.set_chaos(Some(Chaos::new(seed, chaos).with_client_prefix("/fleet")));
    // Stats go to a real collector behind a chaos proxy that spoils the same share of its answers.
    std::fs::create_dir_all(work.path().join("collector")).unwrap();
    let collector = Server::start(ServerConfig::new(work.path().join("collector"))).expect("collector");
    let proxy = ChaosProxy::start(collector.addr(), Chaos::new(seed ^ 0x57A7, chaos).with_client_prefix("/fleet"));

    let mut phones: Vec<Phone> = (0..devices)
        .map(|i| {
            let prefix = format!("/fleet/d{i:03}");
            let mut device = Device::new();
            device.plugin = serde_json::json!({
                "catalogUrl": server.url(&prefix),
                "trustedKeys": keys["capacitor_config"]["trustedKeys"],
                "defaultChannel": "production",
                "autoUpdate": "atBackground",
                "responseTimeout": 2,
                "statsUrl": proxy.url(&format!("{prefix}/stats")),
            });
            let config = Publisher::s(&device.write_config());
            Phone {
                device,
                config,
                prefix: format!("{prefix}/"),
                current: String::new(),
                got_broken: false,
                before_broken: String::new(),
                boot_kill_last: false,
                killed_last: false,
                last_auto: String::new(),
                autos: Vec::new(),
                bytes_at_phase_start: 0,
                wrong_at_phase_start: 0,
                expected_stats: BTreeSet::new(),
            }
        })
        .collect();

    let v1 = app(24, 16 * 1024, seed | 1);
    let v2 = changed(&v1, 4, 2);
    let v3 = changed(&v2, 3, 3);
    let v4 = changed(&v2, 4, 4);
    let step = |version, label, dist: &Dist, broken, delta_from: Option<&Dist>| Step {
        version,
        label,
        dist: dist.clone(),
        broken,
        delta_from: delta_from.cloned(),
    };
    let story = vec![
        step("1.0.1", "v1 full", &v1, false, None),
        step("2.0.0", "v2 delta", &v2, false, Some(&v1)),
        step("3.0.0", "v3 broken", &v3, true, Some(&v2)),
        step("4.0.0", "v4 delta", &v4, false, Some(&v2)),
    ];
    let mut fleet = Fleet {
        releases: Vec::new(),
        timing: Timing::default(),
        violations: Mutex::new(Vec::new()),
        kills: AtomicUsize::new(0),
        seed,
        kill_percent: std::env::var("AIRLOCK_FLEET_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(30),
        t0_ms: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64,
    };
    let mut round = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut last_healthy = String::new();
    let mut all_kills = 0usize;
    for spec in story {
        publisher.publish(&server, spec);
        fleet.releases = publisher.releases.clone();
        let release = fleet.releases.last().unwrap().clone();
        let log_start = server.request_count();
        for p in phones.iter_mut() {
            p.bytes_at_phase_start = server.body_bytes_sent_under(&p.prefix);
            p.wrong_at_phase_start = server.wrong_bytes_under(&p.prefix);
        }
        let mut rounds_here = 0;
        loop {
            round += 1;
            rounds_here += 1;
            fleet.kills.store(0, Ordering::Relaxed);
            fleet.round(&mut phones, round);
            let kills = fleet.kills.load(Ordering::Relaxed);
            all_kills += kills;
            let on = |v: &str| phones.iter().filter(|p| p.current == v).count();
            if release.broken {
                let got = phones.iter().filter(|p| p.got_broken).count();
                let on_broken = on(&release.version);
                println!(
                    "round {round} ({}): {}/{devices} on {last_healthy}, {got} got {}, {} rolled back, {on_broken} on it, {kills} kills",
                    release.label,
                    on(&last_healthy),
                    release.version,
                    phones.iter().filter(|p| p.got_broken && p.current == p.before_broken).count(),
                );
                if (rounds_here >= 4 && on_broken == 0) || rounds_here >= MAX_ROUNDS + 2 {
                    break;
                }
            } else {
                let n = on(&release.version);
                println!(
                    "round {round} ({}): {n}/{devices} on {}, {} stranded, {kills} kills",
                    release.label,
                    release.version,
                    devices - n
                );
                if n == devices || rounds_here >= MAX_ROUNDS {
                    break;
                }
            }
        }
        // The release's verdict.
        if release.broken {
            for p in phones.iter().filter(|p| p.got_broken && p.current != p.before_broken) {
                failures.push(format!(
                    "{}: launched broken {} but is on {:?}, not rolled back to {:?}",
                    p.prefix, release.version, p.current, p.before_broken
                ));
            }
        } else {
            for p in phones.iter().filter(|p| p.current != release.version) {
                failures.push(format!(
                    "{}: stranded on {:?} after {rounds_here} rounds of {} (its last automatic check answered: {})",
                    p.prefix, p.current, release.version, p.last_auto
                ));
                println!("    {} asked: {}", p.prefix, asked(&server, log_start, &p.prefix));
                let recent = p.autos.len().saturating_sub(12);
                println!("    {} automatic checks: {}", p.prefix, p.autos[recent..].join(" | "));
            }
            last_healthy = release.version.clone();
        }
        // Bytes: what the server sent each device while this release was the channel's, less the bodies chaos
        // replaced by wrong bytes (no client can keep those), must stay under 2× what the release needs.
        let mut worst = (0u64, String::new());
        let mut sum = 0u64;
        let mut explained = 0;
        for p in &phones {
            let spent = server.body_bytes_sent_under(&p.prefix) - p.bytes_at_phase_start;
            let unusable = server.wrong_bytes_under(&p.prefix) - p.wrong_at_phase_start;
            let counted = spent.saturating_sub(unusable);
            sum += counted;
            if counted > worst.0 {
                worst = (counted, p.prefix.clone());
            }
            if counted >= 2 * release.need {
                failures.push(format!(
                    "{}: fetched {spent} bytes ({unusable} of them wrong bytes from the server) for {}, which needs {} \
                     (≥ 2×)",
                    p.prefix, release.version, release.need
                ));
                if explained < 2 {
                    explained += 1;
                    // What it asked for while this release was out (for whoever fixes it).
                    println!("    {} asked: {}", p.prefix, asked(&server, log_start, &p.prefix));
                }
            }
        }
        println!(
            "  {}: needs {} bytes per device; fetched {:.2}× that on average, at most {:.2}× ({})",
            release.version,
            release.need,
            sum as f64 / phones.len() as f64 / release.need as f64,
            worst.0 as f64 / release.need as f64,
            worst.1
        );
    }
    // Stats: with the network healthy again, every device delivers its queue; every event a command of the story
    // committed (a download, a ready, a rollback) must be at the collector — none lost to a spoiled answer.
    proxy.set_percent(0);
    let db = rusqlite::Connection::open(work.path().join("collector/stats.sqlite3")).expect("stats db");
    let mut lost = 0usize;
    for p in phones.iter_mut() {
        let now = fleet.t0_ms + (round as i64 + 1) * ROUND_MS;
        let mut remaining = None;
        for _ in 0..5 {
            if let Run::Done { ok: true, out } = fleet.run(p, now, "flush-stats", &["flush-stats", "--force"], None) {
                remaining = out["remaining"].as_u64();
                if remaining == Some(0) {
                    break;
                }
            }
        }
        if remaining != Some(0) {
            failures
                .push(format!("{}: stats queue not delivered with a healthy collector ({remaining:?} left)", p.prefix));
        }
        let id = match fleet.run(p, now, "device-id", &["device-id"], None) {
            Run::Done { out, .. } => out["deviceId"].as_str().unwrap_or("").to_string(),
            Run::Killed => String::new(),
        };
        let got: BTreeSet<(String, String)> = db
            .prepare("SELECT action, version_name FROM events WHERE device_id = ?1")
            .and_then(|mut q| q.query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("stats rows");
        let mut expected = p.expected_stats.clone();
        if p.got_broken && p.current == p.before_broken {
            let broken = fleet.releases.iter().find(|r| r.broken).map(|r| r.version.clone()).unwrap_or_default();
            expected.insert(("update_fail".into(), broken));
        }
        for (action, version) in expected.difference(&got) {
            lost += 1;
            failures.push(format!("{}: stats event {action} for {version} never reached the collector", p.prefix));
        }
    }
    println!("fleet: stats: {lost} expected events missing at the collector; proxy spoiled {:?}", proxy.spoiled());
    let violations = fleet.violations.into_inner().unwrap();
    println!("fleet: chaos spoiled {:?}", server.spoiled());
    println!(
        "fleet: {devices} devices, {round} rounds, {all_kills} kills, {} launch violations, {} outcome failures in {:.0?}",
        violations.len(),
        failures.len(),
        started.elapsed()
    );
    for v in violations.iter().chain(&failures) {
        println!("  {v}");
    }
    assert!(violations.is_empty() && failures.is_empty(), "fleet story failed (seed {seed}); see the lines above");
}

/// What a device asked for since `log_start` (statuses as answered; for whoever debugs a failure).
fn asked(server: &TestServer, log_start: usize, prefix: &str) -> String {
    let asked: Vec<String> = server.requests()[log_start..]
        .iter()
        .filter(|r| r.path.starts_with(prefix) && !r.path.ends_with("/stats"))
        .map(|r| {
            let tail = r.path[prefix.len()..].trim_start_matches(APP).trim_start_matches('/');
            let tail = if tail.len() > 24 { &tail[..24] } else { tail };
            format!("{tail}{} {}", r.range.as_deref().map(|g| format!(" [{g}]")).unwrap_or_default(), r.status)
        })
        .collect();
    asked.join(", ")
}
