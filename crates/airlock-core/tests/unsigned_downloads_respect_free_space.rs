//! Downloads never fill the disk: an unsigned zip is refused before unpacking when free space is below what its
//! central directory declares plus the download; an endless unsigned body stops before free space falls under
//! the reserve (8 MiB + 2 % of the volume); a `.part` cut by a full disk is deleted, never kept as resumable.
//!
//! The device's data directory lives on a small tmpfs mounted by the test (CI runs as root).

mod common;

use airlock_core::envelope::Signer;
use airlock_core::events::{Event, EventSink};
use airlock_core::http::free_space_reserve;
use airlock_core::install::DownloadRequest;
use airlock_core::{Agent, Cancel, ErrorKind, ManualClock};
use airlock_testkit::bundle::{Device, Dist, ReleaseSpec, b64, publish};
use airlock_testkit::server::{Fault, TestServer};
use airlock_testkit::tmpfs::{Tmpfs, device_on_tmpfs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn open(device: &Device, sink: Arc<dyn EventSink>) -> Agent {
    Agent::open(device.config(), sink, Arc::new(ManualClock::new(common::T0))).unwrap()
}

fn root(disk: &Tmpfs) -> PathBuf {
    disk.0.join("airlock")
}

/// Names under `downloads/`.
fn downloads(disk: &Tmpfs) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root(disk).join("downloads"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn free_and_total(path: &Path) -> (u64, u64) {
    let out = Command::new("df").args(["-B1", "--output=avail,size"]).arg(path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let nums: Vec<u64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (nums[0], nums[1])
}

#[test]
fn an_unsigned_zip_declaring_more_than_the_free_space_is_refused_before_unpacking() {
    let (device, disk) = device_on_tmpfs(serde_json::json!({}), "24m");
    let server = TestServer::start();
    let agent = open(&device, Arc::new(airlock_core::NoopSink));
    // 36 MB of zeros zip to ~36 KB: a 3 × download-size check lets it through; its central directory does not.
    let zeros = vec![0u8; 12_000_000];
    let big = Dist::from_files(&[
        ("index.html", b"<html>big</html>"),
        ("a.bin", &zeros),
        ("b.bin", &zeros),
        ("c.bin", &zeros),
    ]);
    server.put("/big.zip", big.zip());
    let req =
        DownloadRequest { url: Some(server.url("/big.zip")), version: Some("2.0.0".into()), ..Default::default() };
    let err = agent.download(&req, &Cancel::never()).unwrap_err();
    assert_eq!(err.kind_name(), "disk_full", "{err}");
    let msg = err.to_string();
    assert!(msg.contains("declares 34 MiB of files") && msg.contains("nothing was unpacked"), "{msg}");
    assert!(msg.contains("free some space"), "the message says what to do: {msg}");
    assert_eq!(std::fs::read_dir(root(&disk).join("staging")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(root(&disk).join("bundles")).unwrap().count(), 0);
    assert_eq!(agent.current().unwrap().bundle.id, "builtin");
}

#[test]
fn an_endless_unsigned_body_stops_before_free_space_falls_under_the_reserve() {
    let (device, disk) = device_on_tmpfs(serde_json::json!({}), "64m");
    let server = TestServer::start();
    let agent = open(&device, Arc::new(airlock_core::NoopSink));
    server.put("/endless.zip", Dist::small("x").zip());
    server.set_fault("/endless.zip", Fault::Endless);
    let req =
        DownloadRequest { url: Some(server.url("/endless.zip")), version: Some("2.0.0".into()), ..Default::default() };
    let err = agent.download(&req, &Cancel::never()).unwrap_err();
    assert_eq!((err.kind(), err.kind_name()), (ErrorKind::Transient, "disk_full"), "{err}");
    assert!(err.to_string().contains("8 MiB + 2 % of the volume"), "the message names the reserve: {err}");
    let (free, total) = free_and_total(&disk.0);
    assert!(free >= free_space_reserve(total), "{free} bytes free, under the reserve of {}", free_space_reserve(total));
    assert!(
        downloads(&disk).iter().all(|n| !n.ends_with(".part") && !n.ends_with(".json")),
        "the endless part is deleted: {:?}",
        downloads(&disk)
    );
    assert_eq!(agent.current().unwrap().bundle.id, "builtin");
}

/// Fills the disk the first time a download reports progress (another app writing while we download).
struct FillDiskOnFirstProgress {
    filler: PathBuf,
    done: AtomicBool,
}

impl EventSink for FillDiskOnFirstProgress {
    fn on_event(&self, event: Event) {
        if matches!(event, Event::Download { .. }) && !self.done.swap(true, Ordering::SeqCst) {
            let mut f = std::fs::File::create(&self.filler).unwrap();
            let block = vec![1u8; 1 << 20];
            while f.write_all(&block).is_ok() {}
            let _ = f.sync_all();
        }
    }
}

#[test]
fn a_part_that_ended_in_enospc_is_deleted_not_kept_as_resumable() {
    let publisher = Signer::from_seed(&[5u8; 32]);
    let (device, disk) = device_on_tmpfs(serde_json::json!({"trustedKeys": [b64(&publisher.public_key())]}), "48m");
    let server = TestServer::start();
    let filler = disk.0.join("other-app-data");
    let sink = Arc::new(FillDiskOnFirstProgress { filler: filler.clone(), done: AtomicBool::new(false) });
    let agent = open(&device, sink);
    let dist = Dist::generate(10, 4_000_000, 11);
    let p = publish(&dist, &ReleaseSpec::new("2.0.0", "/b.zip"), &[&publisher]);
    server.put("/b.zip", p.bundle);
    server.put("/r.json", p.envelope);
    let req = DownloadRequest { manifest_url: Some(server.url("/r.json")), ..Default::default() };

    let err = agent.download(&req, &Cancel::never()).unwrap_err();
    assert_eq!(err.kind_name(), "disk_full", "{err}");
    assert!(err.to_string().contains("the partial download was deleted"), "{err}");
    assert!(
        downloads(&disk).iter().all(|n| !n.ends_with(".part") && !n.ends_with(".json")),
        "a part cut by a full disk is not kept as resumable: {:?}",
        downloads(&disk)
    );
    assert_eq!(agent.current().unwrap().bundle.id, "builtin");

    // The other app frees its space: the download starts over from byte zero and installs.
    std::fs::remove_file(&filler).unwrap();
    server.reset_counters();
    let info = agent.download(&req, &Cancel::never()).unwrap();
    dist.assert_tree(&root(&disk).join("bundles").join(&info.id));
    assert!(server.requests_for("/b.zip").iter().all(|r| r.range.is_none()), "fetched from zero");
}
