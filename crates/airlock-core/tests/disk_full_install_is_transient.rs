//! A full disk is a transient error: the install fails cleanly, the previous bundle keeps serving, staging is
//! cleaned, and the same download succeeds (resuming, not refetching) once space is back.
//!
//! The device's data directory lives on a small tmpfs mounted by the test (CI runs as root).

mod common;

use airlock_core::envelope::Signer;
use airlock_core::install::DownloadRequest;
use airlock_core::{Agent, Cancel, ErrorKind, ManualClock};
use airlock_testkit::bundle::{Device, Dist, ReleaseSpec, b64, publish, sha256_hex};
use airlock_testkit::server::TestServer;
use airlock_testkit::tmpfs::device_on_tmpfs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn open(device: &Device) -> Agent {
    Agent::open(device.config(), Arc::new(airlock_core::NoopSink), Arc::new(ManualClock::new(common::T0))).unwrap()
}

#[test]
fn enospc_while_unpacking_is_transient_and_the_previous_bundle_keeps_serving() {
    let (device, disk) = device_on_tmpfs(serde_json::json!({}), "24m");
    let server = TestServer::start();
    let agent = open(&device);
    let v1 = Dist::small("v1");
    let zip1 = v1.zip();
    server.put("/v1.zip", zip1.clone());
    let req1 = DownloadRequest {
        url: Some(server.url("/v1.zip")),
        version: Some("1.1.0".into()),
        checksum: Some(sha256_hex(&zip1)),
        ..Default::default()
    };
    let b1 = agent.download(&req1, &Cancel::never()).unwrap();
    let l = agent.set_current(&b1.id).unwrap();
    agent.notify_app_ready(&l.token).unwrap();

    // 40 MB of zeros zip to ~40 KB: the download fits, the unpacked tree does not.
    let zeros = vec![0u8; 10_000_000];
    let big = Dist::from_files(&[
        ("index.html", b"<html>big</html>"),
        ("a.bin", &zeros),
        ("b.bin", &zeros),
        ("c.bin", &zeros),
        ("d.bin", &zeros),
    ]);
    let zip2 = big.zip();
    server.put("/v2.zip", zip2.clone());
    let req2 = DownloadRequest {
        url: Some(server.url("/v2.zip")),
        version: Some("2.0.0".into()),
        checksum: Some(sha256_hex(&zip2)),
        ..Default::default()
    };
    let err = agent.download(&req2, &Cancel::never()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert_eq!(err.kind_name(), "disk_full", "{err}");
    assert!(err.to_string().contains("free some space"), "the message says what to do: {err}");

    // Nothing changed for the app: v1 still serves, byte-identical; staging is empty; the DB is healthy.
    let root = PathBuf::from(device.device["dataDir"].as_str().unwrap()).join("airlock");
    assert_eq!(agent.current().unwrap().bundle.id, b1.id);
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, b1.id);
    v1.assert_tree(Path::new(&l.path));
    assert_eq!(std::fs::read_dir(root.join("staging")).unwrap().count(), 0, "staging cleaned");
    assert_eq!(std::fs::read_dir(root.join("bundles")).unwrap().count(), 1, "no partial bundle published");
    assert_eq!(agent.list().unwrap().len(), 1);
    assert_eq!(agent.integrity_check().unwrap(), "ok");

    // Space comes back: the same download completes without fetching the bundle again.
    disk.resize("96m");
    let sent_before = server.body_bytes_sent_for("/v2.zip");
    let b2 = agent.download(&req2, &Cancel::never()).unwrap();
    assert_eq!(server.body_bytes_sent_for("/v2.zip"), sent_before, "the complete .part was reused");
    big.assert_tree(&root.join("bundles").join(&b2.id));
    drop(agent);
}

#[test]
fn a_signed_bundle_larger_than_free_space_is_refused_before_any_byte_is_fetched() {
    let publisher = Signer::from_seed(&[5u8; 32]);
    let (device, _disk) = device_on_tmpfs(serde_json::json!({"trustedKeys": [b64(&publisher.public_key())]}), "24m");
    let server = TestServer::start();
    let agent = open(&device);
    let dist = Dist::generate(10, 12_000_000, 9); // half random: ~6 MB zipped, 12 MB unpacked
    let p = publish(&dist, &ReleaseSpec::new("2.0.0", "/big.zip"), &[&publisher]);
    server.put("/big.zip", p.bundle);
    server.put("/r.json", p.envelope);
    let req = DownloadRequest { manifest_url: Some(server.url("/r.json")), ..Default::default() };
    let err = agent.download(&req, &Cancel::never()).unwrap_err();
    assert_eq!(err.kind_name(), "disk_full", "{err}");
    assert_eq!(server.body_bytes_sent_for("/big.zip"), 0, "refused before downloading");
    assert_eq!(agent.current().unwrap().bundle.id, "builtin");
}
