//! Regression tests from the review of the issue-7 changes: each one reproduced a real defect before its fix;
//! the assertions state the behaviour issue 7 requires.

mod common;

use airlock_core::Cancel;
use airlock_core::install::DownloadRequest;
use airlock_testkit::bundle::{Dist, sha256_hex};
use airlock_testkit::server::{Fault, TestServer};
use common::Phone;
use common::repo::Repo;
use serde_json::json;

/// Regression: a resumed part of a `download({url, checksum})` (no signed size) whose final hash failed was
/// rejected as "changed on the server" instead of being refetched from zero (issue 7, points 1 and 2).
#[test]
fn a_torn_part_of_a_download_with_only_a_checksum_is_refetched_from_zero_in_the_same_call() {
    let server = TestServer::start();
    let phone = Phone::new(json!({}));
    // Incompressible, so the zip is larger than the cut.
    let noise: Vec<u8> = (0..4000u32).flat_map(|i| sha256_hex(&i.to_le_bytes()).into_bytes()).collect();
    let dist = Dist::from_files(&[("index.html", b"<!doctype html><title>torn</title>"), ("big.bin", &noise)]);
    let zip = dist.zip();
    server.put("/b.zip", zip.clone());
    let req = DownloadRequest {
        url: Some(server.url("/b.zip")),
        version: Some("2.0.0".into()),
        checksum: Some(sha256_hex(&zip)),
        ..Default::default()
    };
    server.set_fault("/b.zip", Fault::CutAfter { bytes: 50_000, times: 1 });
    let agent = phone.open();
    let cut = agent.download(&req, &Cancel::never()).unwrap_err();
    assert!(cut.is_transient(), "{cut}");
    drop(agent);
    // A crash tore the part: its bytes on disk are not what was received.
    let part = std::fs::read_dir(phone.device.root().join("downloads"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "part"))
        .expect("the cut download left a resumable part");
    let len = std::fs::metadata(&part).unwrap().len() as usize;
    std::fs::write(&part, vec![0u8; len]).unwrap();

    let agent = phone.open();
    let info = agent.download(&req, &Cancel::never()).expect("the torn part is discarded and the bundle refetched");
    dist.assert_tree(&phone.device.root().join("bundles").join(&info.id));
}

/// Regression: a 400 (or 413/422) whose body is not the collector's JSON — a captive portal or proxy answering
/// the POST — was taken as the collector refusing every event, and the whole queue was dropped (point 17).
#[test]
fn a_400_that_is_not_the_collectors_answer_keeps_every_event_queued() {
    let server = TestServer::start();
    let phone = Phone::new(json!({ "statsUrl": server.url("/stats") }));
    let agent = phone.open();
    for action in ["set", "app_launch_ready", "download_complete"] {
        agent.queue_stat(action, "1.0.0", None, None).unwrap();
    }
    for status in [400, 413, 422] {
        server.set_fault("/stats", Fault::Status(status));
        let err = agent.flush_stats(true, &Cancel::never()).expect_err("not a delivery");
        assert!(err.is_transient(), "HTTP {status}: {err}");
        assert!(err.to_string().contains("retr"), "HTTP {status}: the message says it will retry: {err}");
        assert_eq!(phone.queued_actions().len(), 3, "HTTP {status}: every event stays queued");
        server.clear_faults("/stats");
    }
}

/// Regression: the state database's space reserve was written through a link planted at its temporary name,
/// overwriting what the link pointed at (point 8).
#[test]
fn the_database_reserve_is_never_written_through_a_planted_link() {
    let phone = Phone::new(json!({}));
    let root = phone.device.root();
    std::fs::create_dir_all(&root).unwrap();
    let victim = phone.device.dir.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let tmp = root.join(format!("state.sqlite3-reserve.tmp{}", std::process::id()));
    std::os::unix::fs::symlink(&victim, &tmp).unwrap();

    let agent = phone.open();
    agent.launch().unwrap();
    drop(agent);
    let after = std::fs::read(&victim).unwrap();
    assert!(after == b"precious", "the link's target was overwritten ({} bytes now)", after.len());
}

/// Regression: a launch in a second process of the app deleted the tree of a revoked bundle that the first
/// process's page was still serving (the second process never served it, so its launch did not move away from
/// it; point 5).
#[test]
fn a_launch_in_another_process_never_deletes_the_tree_a_live_page_still_serves() {
    let repo = Repo::start();
    let phone = repo.phone(json!({}));
    let agent = phone.open();
    let r1 = repo.ship(&agent, 1, "1.0.1");
    let tree = phone.device.root().join("bundles").join(&r1.id);

    // This process's page serves release 1 when the publisher revokes it.
    repo.catalog(1, vec![1]);
    agent.check(&Cancel::never()).unwrap();
    assert!(tree.join("index.html").is_file());

    // A second process of the app starts and loads its WebView: it never served release 1.
    let other = phone.open();
    let l2 = other.launch().unwrap();
    assert_ne!(l2.bundle.id, r1.id);
    assert!(tree.join("index.html").is_file(), "another process's launch deleted the tree a live page serves");
    drop(other);

    // This process moves away from release 1: now its tree goes.
    let l = agent.launch().unwrap();
    assert_ne!(l.bundle.id, r1.id);
    assert!(!tree.exists(), "the revoked tree outlived the launch that moved away from it");
}
