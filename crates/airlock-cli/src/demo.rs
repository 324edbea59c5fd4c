//! `airlock demo`: the whole system on one machine, on embedded defaults. Invariant: it only talks to loopback,
//! everything lives in a temporary directory, and it checks its own story — every device ends on a release its
//! rules allow, the broken release runs on no device, and rollbacks equal the devices that got it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use airlock_core::catalog::Catalog;
use airlock_core::envelope::Signer;
use airlock_core::lifecycle::AutoOutcome;
use airlock_core::release::NativeRange;
use airlock_core::schedule::Trigger;
use airlock_core::segment::{self, DeviceProfile};
use airlock_core::{Agent, Cancel, Config, Error, Event, EventSink, SystemClock};
use airlock_server::{Server, ServerConfig};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::Args;
use crate::channel_cmd::ChannelRepo;
use crate::release_cmd::{ReleaseOptions, publish};

const APP_ID: &str = "com.example.demo";

/// Counts what a device's agent reports.
#[derive(Default)]
struct Tally {
    rollbacks: AtomicU64,
}

impl EventSink for Tally {
    fn on_event(&self, event: Event) {
        if matches!(event, Event::UpdateFailed { .. }) {
            self.rollbacks.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Device {
    agent: Agent,
    tally: Arc<Tally>,
    channel: String,
    /// (channel at the time, version) → bytes fetched while installing it
    bytes: BTreeMap<(String, String), u64>,
    installs: BTreeMap<(String, String), u64>,
    got_broken: bool,
}

/// Publisher side of the story.
struct Publisher {
    repo: PathBuf,
    work: PathBuf,
    signer: Signer,
    now_ms: i64,
}

impl Publisher {
    fn release(&self, version: &str, label: &str, native_min: &str) -> Result<u64, Error> {
        let dist = self.work.join(format!("dist-{version}"));
        write_app(&dist, version, label)?;
        let opts = ReleaseOptions {
            app_id: APP_ID.into(),
            version: version.into(),
            release: None,
            native: NativeRange { min: Some(native_min.into()), max: None },
            platforms: vec![],
            link: None,
            comment: Some(label.into()),
            encrypt_with: None,
        };
        let out = publish(&self.repo, &dist, &opts, &[&self.signer])?;
        Ok(out["release"].as_u64().unwrap_or(0))
    }

    fn channel(&self, name: &str) -> ChannelRepo {
        ChannelRepo { app_dir: self.repo.join(APP_ID), app_id: APP_ID.into(), name: name.into() }
    }

    fn edit(&self, name: &str, f: impl FnOnce(&mut Catalog)) -> Result<Catalog, Error> {
        let ch = self.channel(name);
        let mut c = ch.load()?.unwrap_or_else(|| ch.empty());
        f(&mut c);
        ch.save(c, &[&self.signer], 30, self.now_ms)?;
        ch.load()?.ok_or_else(|| Error::Storage("catalog vanished".into()))
    }
}

/// A small web app: a shared vendor file (so delta updates have something to reuse) and versioned files.
fn write_app(dir: &Path, version: &str, label: &str) -> Result<(), Error> {
    let io = |e| Error::io(format!("write demo app {}", dir.display()), e);
    std::fs::create_dir_all(dir.join("assets")).map_err(io)?;
    let page = format!("<!doctype html><title>demo {version}</title><h1>{label}</h1><script src=app.js></script>");
    std::fs::write(dir.join("index.html"), page).map_err(io)?;
    std::fs::write(dir.join("app.js"), format!("window.APP_VERSION = {version:?};\n").repeat(200)).map_err(io)?;
    let vendor: String = (0..4000).map(|i| format!("function v{i}(a){{return a*{i}+1;}}\n")).collect();
    std::fs::write(dir.join("vendor.js"), vendor).map_err(io)?;
    let mut logo = vec![0u8; 64 * 1024];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in logo.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(dir.join("assets/logo.bin"), logo).map_err(io)?;
    std::fs::write(dir.join("styles.css"), format!("/* {version} */ body {{ font-family: sans-serif }}\n")).map_err(io)
}

pub fn run(mut args: Args, json_out: bool) -> Result<Value, Failure> {
    let devices: usize = args
        .value("devices")?
        .map_or(Ok(200), |v| v.parse())
        .map_err(|_| Failure::Usage("--devices takes a number".into()))?;
    let keep = args.flag("keep");
    args.finish()?;
    let started = Instant::now();
    let tmp = tempfile::Builder::new().prefix("airlock-demo-").tempdir().map_err(|e| Error::io("temp dir", e))?;
    let work = tmp.path().to_path_buf();
    let say = |line: String| {
        if !json_out {
            println!("{line}");
        }
    };
    let publisher = Publisher {
        repo: work.join("repo"),
        work: work.clone(),
        signer: Signer::generate()?,
        now_ms: airlock_core::Clock::now_ms(&SystemClock),
    };
    std::fs::create_dir_all(&publisher.repo).map_err(|e| Error::io("create repo", e))?;
    let server = Server::start(ServerConfig::new(&publisher.repo))
        .map_err(|e| Error::Storage(format!("could not start the demo server: {e}")))?;
    say(format!(
        "airlock demo: {devices} simulated devices, repo {} served at {}",
        publisher.repo.display(),
        server.url()
    ));

    // The app as shipped in the store: builtin 1.0.0.
    let builtin = work.join("builtin");
    write_app(&builtin, "1.0.0", "shipped in the app")?;
    let public_key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, publisher.signer.public_key());

    // v1 to production before any device starts.
    let r1 = publisher.release("1.1.0", "v1: first live update", "1.0.0")?;
    publisher.edit("production", |c| c.rules = vec![rule(r1, None)])?;
    publisher.edit("beta", |c| {
        c.self_assign = true;
        c.rules = vec![rule(r1, None)];
    })?;

    let mut fleet = Vec::with_capacity(devices);
    for i in 0..devices {
        let platform = if i % 3 == 0 { "ios" } else { "android" };
        let native = if i % 5 == 0 { "1.1.0" } else { "1.0.0" };
        let plugin = json!({"catalogUrl": server.url(), "trustedKeys": [public_key], "defaultChannel": "production",
                            "autoUpdate": "atBackground"});
        let device = json!({"platform": platform, "appId": APP_ID, "nativeVersion": native, "nativeBuild": "100",
                            "builtinDir": builtin, "dataDir": work.join("devices").join(format!("d{i:03}"))});
        let config = Config::from_parts(&plugin, &device)?;
        let tally = Arc::new(Tally::default());
        let agent = Agent::open(config, tally.clone(), Arc::new(SystemClock))?;
        if i % 10 < 3 {
            agent.set_attributes(&BTreeMap::from([("plan".to_string(), "pro".to_string())]))?;
        }
        fleet.push(Device {
            agent,
            tally,
            channel: "production".into(),
            bytes: BTreeMap::new(),
            installs: BTreeMap::new(),
            got_broken: false,
        });
    }
    sessions(&mut fleet, 2, "1.4.0");
    say(step_line(1, "v1 (1.1.0) to production", &fleet, started));

    // v2 to beta (self-assigned by 15 % of devices) and to 20 % of production.
    let r2 = publisher.release("1.2.0", "v2: new onboarding", "1.0.0")?;
    publisher.edit("beta", |c| c.rules = vec![rule(r2, None)])?;
    publisher.edit("production", |c| c.rules.insert(0, rule(r2, Some((20.0, "v2-prod")))))?;
    for (i, d) in fleet.iter_mut().enumerate() {
        if i % 20 < 3 {
            d.agent.set_channel("beta", &Cancel::never())?;
            d.channel = "beta".into();
        }
    }
    sessions(&mut fleet, 2, "1.4.0");
    say(step_line(2, "v2 (1.2.0) to beta and 20 % of production", &fleet, started));

    // A/B split for pro users: 1.3.0-a vs 1.3.0-b, 50/50.
    let ra = publisher.release("1.3.0-a", "A: green button", "1.0.0")?;
    let rb = publisher.release("1.3.0-b", "B: blue button", "1.0.0")?;
    publisher.edit("production", |c| {
        let mut r = rule(ra, None);
        r.release = None;
        r.variants = Some(vec![
            airlock_core::catalog::Variant { release: ra, weight: 50 },
            airlock_core::catalog::Variant { release: rb, weight: 50 },
        ]);
        r.matcher = Some(airlock_core::catalog::Match {
            attributes: Some(BTreeMap::from([("plan".to_string(), "pro".to_string())])),
            ..Default::default()
        });
        c.rules.insert(0, r);
    })?;
    sessions(&mut fleet, 2, "1.4.0");
    say(step_line(3, "A/B split 1.3.0-a / 1.3.0-b for plan=pro", &fleet, started));

    // A broken release (never calls ready) to 10 % of production.
    let r5 = publisher.release("1.4.0", "v3: broken build", "1.0.0")?;
    publisher.edit("production", |c| c.rules.insert(0, rule(r5, Some((10.0, "v3-prod")))))?;
    sessions(&mut fleet, 1, "1.4.0");
    say(step_line(4, "broken 1.4.0 to 10 % of production: downloaded and queued", &fleet, started));
    sessions(&mut fleet, 1, "1.4.0");
    say(step_line(4, "… 1.4.0 launched, never reports ready (killed before ready)", &fleet, started));
    sessions(&mut fleet, 2, "1.4.0");
    let rolled: u64 = fleet.iter().map(|d| d.tally.rollbacks.load(Ordering::Relaxed)).sum();
    say(step_line(
        4,
        &format!("… second attempt fails too: {rolled} devices rolled back by themselves"),
        &fleet,
        started,
    ));

    // The publisher rolls back: a new serial without the broken rule.
    let after = publisher.edit("production", |c| c.rules.retain(|r| r.release != Some(r5)))?;
    let beta = publisher.channel("beta").load()?.ok_or_else(|| Error::Storage("beta catalog missing".into()))?;
    sessions(&mut fleet, 2, "1.4.0");
    say(step_line(5, "publisher rollback of production (serial bumped)", &fleet, started));

    // Convergence.
    let mut rounds = 0;
    loop {
        let before: Vec<String> = fleet.iter().map(current_version).collect();
        sessions(&mut fleet, 1, "1.4.0");
        rounds += 1;
        if rounds >= 3 || fleet.iter().map(current_version).collect::<Vec<_>>() == before {
            break;
        }
    }
    say(step_line(6, "convergence", &fleet, started));

    let releases = BTreeMap::from([
        ("1.1.0".to_string(), r1),
        ("1.2.0".to_string(), r2),
        ("1.3.0-a".to_string(), ra),
        ("1.3.0-b".to_string(), rb),
        ("1.4.0".to_string(), r5),
    ]);
    let report = report(&fleet, &after, &beta, &releases, &server, started)?;
    if !json_out {
        print_table(&report);
    }
    if keep {
        let kept = tmp.keep();
        say(format!("kept {}", kept.display()));
    }
    if report["consistency"]["ok"] != true {
        return Err(Failure::Error(Error::Storage(format!(
            "demo consistency check failed: {}",
            report["consistency"]
        ))));
    }
    Ok(report)
}

fn rule(release: u64, rollout: Option<(f64, &str)>) -> airlock_core::catalog::Rule {
    airlock_core::catalog::Rule {
        matcher: None,
        rollout: rollout.map(|(percent, salt)| airlock_core::catalog::Rollout { percent, salt: salt.into() }),
        release: Some(release),
        variants: None,
        install: None,
    }
}

fn current_version(d: &Device) -> String {
    d.agent.current().map(|c| c.bundle.version).unwrap_or_default()
}

/// `n` app sessions on every device (in parallel): launch, ready (unless the build is broken), check + update.
fn sessions(fleet: &mut [Device], n: usize, broken: &str) {
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get()).clamp(2, 8);
    let chunk = fleet.len().div_ceil(threads).max(1);
    for _ in 0..n {
        std::thread::scope(|s| {
            for part in fleet.chunks_mut(chunk) {
                s.spawn(move || {
                    for d in part {
                        session(d, broken);
                    }
                });
            }
        });
    }
}

/// One app session as Capgo's default `atBackground` mode runs it: cold start → launch → ready → automatic check
/// (download, queue) → the app goes to background → the queued bundle is applied and loaded → ready. A broken build
/// never calls ready: the process is killed and the next cold start counts the failed attempt.
fn session(d: &mut Device, broken: &str) {
    let Ok(launch) = d.agent.launch() else { return };
    if !page_loads(d, &launch, broken) {
        return;
    }
    let before = d.agent.bytes_fetched();
    if let Ok(AutoOutcome::Downloaded { bundle, .. }) = d.agent.check_and_update(Trigger::ColdStart, &Cancel::never()) {
        let fetched = d.agent.bytes_fetched() - before;
        let key = (d.channel.clone(), bundle.version);
        *d.bytes.entry(key.clone()).or_default() += fetched;
        *d.installs.entry(key).or_default() += 1;
    }
    if let Ok(Some(next)) = d.agent.on_background() {
        page_loads(d, &next, broken);
    }
}

/// The WebView loads `launch`; a healthy page reports ready with its token, the broken one never does.
fn page_loads(d: &mut Device, launch: &airlock_core::Launch, broken: &str) -> bool {
    if launch.bundle.version == broken {
        d.got_broken = true;
        return false;
    }
    let _ = d.agent.notify_app_ready(&launch.token);
    true
}

fn step_line(n: usize, what: &str, fleet: &[Device], started: Instant) -> String {
    let mut on: BTreeMap<String, usize> = BTreeMap::new();
    for d in fleet {
        *on.entry(current_version(d)).or_default() += 1;
    }
    let dist: Vec<String> = on.iter().map(|(v, n)| format!("{v}: {n}")).collect();
    format!("[{:>5.1}s] step {n}: {what}\n          devices on: {}", started.elapsed().as_secs_f64(), dist.join(", "))
}

fn report(
    fleet: &[Device],
    production: &Catalog,
    beta: &Catalog,
    releases: &BTreeMap<String, u64>,
    server: &Server,
    started: Instant,
) -> Result<Value, Error> {
    let mut rows: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    let mut violations = Vec::new();
    let (mut rollbacks, mut got_broken, mut on_broken) = (0u64, 0u64, 0u64);
    for d in fleet {
        let current = d.agent.current()?.bundle;
        let key = (d.channel.clone(), current.version.clone());
        rows.entry(key).or_default()[0] += 1;
        for (k, n) in &d.installs {
            rows.entry(k.clone()).or_default()[1] += n;
        }
        for (k, b) in &d.bytes {
            rows.entry(k.clone()).or_default()[4] += b;
        }
        let rb = d.tally.rollbacks.load(Ordering::Relaxed);
        rollbacks += rb;
        if rb > 0 {
            rows.entry((d.channel.clone(), "1.4.0".into())).or_default()[2] += rb;
            rows.entry((d.channel.clone(), "1.4.0".into())).or_default()[3] += rb;
        }
        got_broken += u64::from(d.got_broken);
        if current.version == "1.4.0" {
            on_broken += 1;
        }
        // Every device must run what its channel's rules give it.
        let catalog = if d.channel == "beta" { beta } else { production };
        let profile: DeviceProfile = d.agent.profile()?;
        let expected = segment::decide(catalog, &profile)?.map(|x| x.release);
        let running = d.agent.list()?.into_iter().find(|b| b.id == current.id);
        let running_release = running.and_then(|b| releases.get(&b.version).copied());
        if expected != running_release && !(expected.is_none() && current.is_builtin()) {
            violations.push(format!(
                "{} on {} but its rules give release {:?}",
                profile.device_id, current.version, expected
            ));
        }
    }
    if on_broken > 0 {
        violations.push(format!("{on_broken} devices still run the broken release"));
    }
    if rollbacks != got_broken {
        violations.push(format!("{rollbacks} rollbacks but {got_broken} devices got the broken release"));
    }
    let counters = server.counters();
    Ok(json!({
        "devices": fleet.len(),
        "seconds": started.elapsed().as_secs_f64(),
        "rows": rows.iter().map(|((ch, v), r)| json!({"channel": ch, "version": v, "devices": r[0], "installs": r[1],
            "failures": r[2], "rollbacks": r[3], "bytes": r[4]})).collect::<Vec<_>>(),
        "server": {"requests": counters.requests, "bytes": counters.body_bytes, "not_modified": counters.not_modified},
        "consistency": {"ok": violations.is_empty(), "devices_that_got_broken": got_broken, "rollbacks": rollbacks,
                        "on_broken": on_broken, "violations": violations},
    }))
}

fn print_table(r: &Value) {
    println!();
    println!(
        "{:<12} {:<9} {:>8} {:>9} {:>9} {:>10} {:>12}",
        "channel", "release", "devices", "installs", "failures", "rollbacks", "bytes"
    );
    for row in r["rows"].as_array().into_iter().flatten() {
        let n = |k: &str| row[k].as_u64().unwrap_or(0);
        println!(
            "{:<12} {:<9} {:>8} {:>9} {:>9} {:>10} {:>12}",
            row["channel"].as_str().unwrap_or(""),
            row["version"].as_str().unwrap_or(""),
            n("devices"),
            n("installs"),
            n("failures"),
            n("rollbacks"),
            n("bytes")
        );
    }
    let c = &r["consistency"];
    println!(
        "\nserver: {} requests, {} body bytes, {} answered 304 Not Modified",
        r["server"]["requests"], r["server"]["bytes"], r["server"]["not_modified"]
    );
    println!(
        "consistency: {} — {} devices got the broken 1.4.0, {} rolled back by themselves, {} still on it; done in {:.1} s",
        if c["ok"] == true { "ok" } else { "VIOLATED" },
        c["devices_that_got_broken"],
        c["rollbacks"],
        c["on_broken"],
        r["seconds"].as_f64().unwrap_or(0.0)
    );
}
