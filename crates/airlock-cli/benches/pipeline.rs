//! Install-pipeline benchmark (not a test): prints ratios against a naive pipeline measured in the same run.
//!
//! 1. Install a generated 30 MB, 2 000-file bundle served from loopback: Airlock (download + hash + unpack +
//!    fsync + commit) against `curl -o` + `sha256sum` + `unzip`, median of several runs.
//! 2. Peak RSS of the `airlock agent download` process while it installs a 200 MB bundle.
//! 3. `launch()` on a 2 000-file bundle, median of many calls.
//!
//! Run: `cargo bench -p airlock-cli --bench pipeline` (AIRLOCK_BENCH_RUNS sets the install runs, default 5).

use airlock_core::install::DownloadRequest;
use airlock_core::{Agent, Cancel, NoopSink, SystemClock};
use airlock_testkit::bundle::{Device, Dist, sha256_hex};
use airlock_testkit::server::TestServer;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn sh(cmd: &mut Command) {
    let st = cmd.status().expect("spawn tool");
    assert!(st.success(), "{cmd:?} failed");
}

fn airlock_install(server: &TestServer, path: &str, zip: &[u8]) -> Duration {
    let device = Device::new();
    let agent = Agent::open(device.config(), Arc::new(NoopSink), Arc::new(SystemClock)).expect("agent");
    let req = DownloadRequest {
        url: Some(server.url(path)),
        version: Some("2.0.0".into()),
        checksum: Some(sha256_hex(zip)),
        ..Default::default()
    };
    let t = Instant::now();
    agent.download(&req, &Cancel::never()).expect("install");
    t.elapsed()
}

fn naive_install(server: &TestServer, path: &str) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("b.zip");
    let out = dir.path().join("out");
    let t = Instant::now();
    sh(Command::new("curl").arg("-sf").arg("-o").arg(&file).arg(server.url(path)));
    sh(Command::new("sha256sum").arg(&file).stdout(std::process::Stdio::null()));
    sh(Command::new("unzip").arg("-q").arg(&file).arg("-d").arg(&out));
    t.elapsed()
}

/// Runs `airlock agent download` as a child and returns its peak RSS (KiB). `VmHWM` in `/proc/<pid>/status` is
/// the high-water mark of the child's own address space; `wait4`'s `ru_maxrss` would also count the parent's
/// memory, which Linux carries across the `vfork` + `exec` that spawns the child.
fn peak_rss_kib(server: &TestServer, path: &str, zip_sha: &str) -> (u64, Duration) {
    let device = Device::new();
    let config = device.write_config();
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["agent", "--json", "--config"])
        .arg(&config)
        .args(["download", "--url", &server.url(path), "--version", "9.9.9", "--checksum", zip_sha])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn airlock");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        if let Some(st) = child.try_wait().expect("wait") {
            assert!(st.success(), "airlock download failed");
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (peak, t.elapsed())
}

fn main() {
    let runs: usize = std::env::var("AIRLOCK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let only = std::env::var("AIRLOCK_BENCH_ONLY").unwrap_or_default();
    let server = TestServer::start();
    let dist = Dist::generate(2000, 30_000_000, 42);
    let zip = dist.zip();
    server.put("/b30.zip", zip.clone());
    if only.is_empty() || only == "install" {
        install_vs_naive(&server, &dist, &zip, runs);
    }
    if only.is_empty() || only == "rss" {
        rss_200mb(&server);
    }
    if only.is_empty() || only == "launch" {
        launch_2000_files(&server, &zip);
    }
}

/// 1. 30 MB, 2 000 files, against curl + sha256sum + unzip.
fn install_vs_naive(server: &TestServer, dist: &Dist, zip: &[u8], runs: usize) {
    println!("bundle: {} files, {:.1} MB unpacked, {:.1} MB zipped", dist.files.len(), 30.0, zip.len() as f64 / 1e6);
    let mut ours = Vec::new();
    let mut naive = Vec::new();
    for _ in 0..runs {
        naive.push(naive_install(server, "/b30.zip"));
        ours.push(airlock_install(server, "/b30.zip", zip));
    }
    let (o, n) = (median(ours), median(naive));
    println!(
        "install 30 MB / 2000 files: airlock {:.1} ms, naive curl+sha256sum+unzip {:.1} ms (median of {runs}); \
         airlock/naive = {:.2}",
        ms(o),
        ms(n),
        o.as_secs_f64() / n.as_secs_f64()
    );
}

/// 2. Peak RSS of the device-simulator process installing a 200 MB bundle.
fn rss_200mb(server: &TestServer) {
    let big = Dist::generate(2000, 200_000_000, 43);
    let big_zip = big.zip();
    drop(big);
    let big_sha = sha256_hex(&big_zip);
    println!("big bundle: {:.1} MB zipped", big_zip.len() as f64 / 1e6);
    server.put("/b200.zip", big_zip);
    let (rss, took) = peak_rss_kib(server, "/b200.zip", &big_sha);
    println!(
        "install 200 MB: peak RSS of the airlock process {:.1} MB (budget 64 MB), {:.0} ms",
        rss as f64 / 1024.0,
        ms(took)
    );
}

/// 3. `launch()` on a 2 000-file bundle that has reached ready.
fn launch_2000_files(server: &TestServer, zip: &[u8]) {
    let device = Device::new();
    let agent = Agent::open(device.config(), Arc::new(NoopSink), Arc::new(SystemClock)).expect("agent");
    let req = DownloadRequest {
        url: Some(server.url("/b30.zip")),
        version: Some("2.0.0".into()),
        checksum: Some(sha256_hex(zip)),
        ..Default::default()
    };
    let info = agent.download(&req, &Cancel::never()).expect("install");
    let first = Instant::now();
    let l = agent.set_current(&info.id).expect("set");
    let first = first.elapsed();
    agent.notify_app_ready(&l.token).expect("ready");
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let l = agent.launch().expect("launch");
        times.push(t.elapsed());
        agent.notify_app_ready(&l.token).expect("ready");
    }
    let m = median(times);
    println!(
        "launch() on 2000 files: median {:.2} ms over 200 (budget 5 ms); first boot with full re-hash {:.1} ms",
        ms(m),
        ms(first)
    );
}
