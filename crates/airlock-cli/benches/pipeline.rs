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

/// Runs `airlock agent download` as a child and returns its peak RSS (KiB) from `wait4`.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std does not know about
fn peak_rss_kib(server: &TestServer, path: &str, zip_sha: &str) -> (i64, Duration) {
    let device = Device::new();
    let config = device.write_config();
    let t = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["agent", "--json", "--config"])
        .arg(&config)
        .args(["download", "--url", &server.url(path), "--version", "9.9.9", "--checksum", zip_sha])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn airlock");
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; rusage is a zeroed out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(rc, child.id() as libc::pid_t, "wait4");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "airlock download failed");
    (usage.ru_maxrss, t.elapsed())
}

fn main() {
    let runs: usize = std::env::var("AIRLOCK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let server = TestServer::start();

    // 1. 30 MB, 2 000 files.
    let dist = Dist::generate(2000, 30_000_000, 42);
    let zip = dist.zip();
    server.put("/b30.zip", zip.clone());
    println!("bundle: {} files, {:.1} MB unpacked, {:.1} MB zipped", dist.files.len(), 30.0, zip.len() as f64 / 1e6);
    let mut ours = Vec::new();
    let mut naive = Vec::new();
    for _ in 0..runs {
        naive.push(naive_install(&server, "/b30.zip"));
        ours.push(airlock_install(&server, "/b30.zip", &zip));
    }
    let (o, n) = (median(ours), median(naive));
    println!(
        "install 30 MB / 2000 files: airlock {:.1} ms, naive curl+sha256sum+unzip {:.1} ms (median of {runs}); \
         airlock/naive = {:.2}",
        ms(o),
        ms(n),
        o.as_secs_f64() / n.as_secs_f64()
    );

    // 2. Peak RSS on a 200 MB bundle.
    let big = Dist::generate(2000, 200_000_000, 43);
    let big_zip = big.zip();
    drop(big);
    let big_sha = sha256_hex(&big_zip);
    println!("big bundle: {:.1} MB zipped", big_zip.len() as f64 / 1e6);
    server.put("/b200.zip", big_zip);
    let (rss, took) = peak_rss_kib(&server, "/b200.zip", &big_sha);
    println!(
        "install 200 MB: peak RSS of the airlock process {:.1} MB (budget 64 MB), {:.0} ms",
        rss as f64 / 1024.0,
        ms(took)
    );

    // 3. launch() on a 2 000-file bundle that has reached ready.
    let device = Device::new();
    let agent = Agent::open(device.config(), Arc::new(NoopSink), Arc::new(SystemClock)).expect("agent");
    let req = DownloadRequest {
        url: Some(server.url("/b30.zip")),
        version: Some("2.0.0".into()),
        checksum: Some(sha256_hex(&zip)),
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
