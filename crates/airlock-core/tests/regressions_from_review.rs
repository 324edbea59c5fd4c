//! Regression tests from the 2026-11-29 review: each one reproduced a real defect before its fix (the
//! `Regression:` comment says which); the assertions state the behaviour the design requires.

mod common;

use airlock_core::install::DownloadRequest;
use airlock_core::unpack::FileEntry;
use airlock_core::{BundleInfo, Cancel};
use airlock_testkit::bundle::{Dist, sha256_hex};
use airlock_testkit::server::TestServer;
use common::Phone;
use common::repo::{APP, Repo};

fn repo_and_phone(extra: serde_json::Value) -> (Repo, Phone) {
    let repo = Repo::start();
    let phone = repo.phone(extra);
    (repo, phone)
}

fn entry(path: &str, bytes: &[u8]) -> FileEntry {
    FileEntry { path: path.into(), size: bytes.len() as u64, sha256: sha256_hex(bytes) }
}

fn download_manifest(agent: &airlock_core::Agent, url: String) -> airlock_core::Result<BundleInfo> {
    agent.download(&DownloadRequest { manifest_url: Some(url), ..Default::default() }, &Cancel::never())
}

/// Regression: delta joins signed-manifest paths to staging without the unpack path policy.
#[test]
fn a_dotdot_path_in_a_signed_file_list_is_refused_and_nothing_lands_outside_staging() {
    let (repo, phone) = repo_and_phone(serde_json::json!({}));
    let agent = phone.open();
    // Shares assets/logo.svg with the builtin bundle, so the delta path is taken.
    let svg = phone.device.builtin.files.iter().find(|(p, _)| p == "assets/logo.svg").unwrap().1.clone();
    let evil = b"written outside the bundle".to_vec();
    let index = b"<!doctype html><title>r1</title>".to_vec();
    let files = vec![entry("../../escaped.js", &evil), entry("assets/logo.svg", &svg), entry("index.html", &index)];
    let zip = Dist::from_files(&[("index.html", &index)]).zip();
    let size = zip.len() as u64 + 10_000_000;
    repo.release_with_files(1, "1.0.1", files, &[&evil, &index], zip, size);

    let result = download_manifest(&agent, repo.manifest_url(1));
    if let Ok(b) = &result {
        agent.set_next(&b.id).unwrap();
        let l = agent.launch().unwrap();
        println!("first-boot full re-hash accepted the tree: launch serves {}", l.bundle.id);
    }
    let escaped = phone.device.root().join("escaped.js");
    assert!(
        !escaped.exists(),
        "a file was created OUTSIDE staging/bundles at {} (install result: {result:?})",
        escaped.display()
    );
}

/// Regression: two manifest paths naming the same file ("./app.js" and "app.js") make the delta path `fs::copy`
/// over a hard link into the CURRENT bundle's tree, modifying an immutable, serving tree in place.
#[test]
fn an_aliased_path_in_a_signed_file_list_cannot_rewrite_the_serving_bundle() {
    let (repo, phone) = repo_and_phone(serde_json::json!({}));
    let agent = phone.open();
    let v1 = Dist::small("v1"); // app.js = console.log("v1");  (18 bytes)
    repo.release(1, "1.0.1", &v1);
    let r1 = download_manifest(&agent, repo.manifest_url(1)).unwrap();
    agent.set_next(&r1.id).unwrap();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, r1.id);
    agent.notify_app_ready(&l.token).unwrap();

    let app_v1 = v1.files.iter().find(|(p, _)| p == "app.js").unwrap().1.clone();
    let evil = b"alert(\"pwned!!!\");".to_vec();
    assert_eq!(evil.len(), app_v1.len());
    let svg = v1.files.iter().find(|(p, _)| p == "assets/logo.svg").unwrap().1.clone();
    let index = v1.files.iter().find(|(p, _)| p == "index.html").unwrap().1.clone();
    let files = vec![
        entry("./app.js", &app_v1), // hard-linked from bundles/<r1>/app.js (local)
        entry("app.js", &evil),     // EEXIST -> fs::copy truncates and rewrites that inode
        entry("assets/logo.svg", &svg),
        entry("index.html", &index),
    ];
    repo.release_with_files(2, "1.0.2", files, &[&evil], Dist::small("unused").zip(), 10_000_000);
    let r2 = download_manifest(&agent, repo.manifest_url(2));
    println!("release 2 install: {r2:?}");

    let served = std::fs::read(phone.device.root().join("bundles").join(&r1.id).join("app.js")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&served),
        String::from_utf8_lossy(&app_v1),
        "the serving bundle's app.js was modified in place by installing another release"
    );
}

/// Regression: a revoked release stays `success`/last_good; a later rollback (or set_next) serves it again.
#[test]
fn a_rollback_never_lands_on_a_revoked_release() {
    let (repo, phone) = repo_and_phone(serde_json::json!({}));
    let agent = phone.open();
    repo.release(1, "1.0.1", &Dist::small("r1"));
    repo.catalog(1, vec![]);
    let r1 = agent.update(&Cancel::never()).unwrap().unwrap();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, r1.id);
    agent.notify_app_ready(&l.token).unwrap();

    // The publisher revokes release 1 and ships release 2 (which turns out to be broken).
    repo.release(2, "1.0.2", &Dist::small("r2"));
    repo.catalog(2, vec![1]);
    let r2 = agent.update(&Cancel::never()).unwrap().unwrap();
    let l = agent.reload().unwrap();
    assert_eq!(l.bundle.id, r2.id);
    // Release 2 never reaches ready.
    let fallback = agent.ready_timeout(&l.token).unwrap().expect("rolled back");
    assert_ne!(fallback.bundle.id, r1.id, "rolled back ONTO the revoked release 1");
}

#[test]
fn a_revoked_release_cannot_be_queued_with_set_next() {
    let (repo, phone) = repo_and_phone(serde_json::json!({"autoDeletePrevious": false}));
    let agent = phone.open();
    repo.release(1, "1.0.1", &Dist::small("r1"));
    repo.catalog(1, vec![]);
    let r1 = agent.update(&Cancel::never()).unwrap().unwrap();
    let l = agent.launch().unwrap();
    agent.notify_app_ready(&l.token).unwrap();
    repo.release(2, "1.0.2", &Dist::small("r2"));
    repo.catalog(2, vec![1]);
    agent.update(&Cancel::never()).unwrap().unwrap();
    let l = agent.reload().unwrap();
    agent.notify_app_ready(&l.token).unwrap();
    let r = agent.set_next(&r1.id);
    assert!(r.is_err(), "set_next accepted the revoked (blocklisted) release 1: {r:?}");
    let l = agent.reload().unwrap();
    assert_ne!(l.bundle.id, r1.id, "and reload() serves the revoked release");
}

/// Regression: revocation is only applied to releases already on the device; a manual download of the revoked
/// release's signed manifest still installs it.
#[test]
fn a_revoked_release_cannot_be_installed_by_a_manual_download() {
    let (repo, phone) = repo_and_phone(serde_json::json!({}));
    let agent = phone.open();
    repo.release(1, "1.0.1", &Dist::small("r1"));
    repo.release(2, "1.0.2", &Dist::small("r2"));
    repo.catalog(2, vec![1]);
    agent.update(&Cancel::never()).unwrap(); // the device has seen the catalog revoking release 1
    let r = download_manifest(&agent, repo.manifest_url(1));
    assert!(r.is_err(), "revoked release 1 was installed: {r:?}");
}

/// Regression: after a crash between roll_back's commit and the tree removal (autoDeleteFailed), the `error`
/// tree is never swept: sweep_orphan_trees treats `error` rows as live. (Simulated: roll back with
/// autoDeleteFailed=false, then open as the app normally runs, autoDeleteFailed=true.)
#[test]
fn an_error_tree_left_by_a_crash_is_swept_at_the_next_start() {
    let mut phone = Phone::new(serde_json::json!({"autoDeleteFailed": false}));
    let server = TestServer::start();
    let agent = phone.open();
    let bad = common::install(&agent, &server, &Dist::small("bad"), "2.0.0");
    agent.set_next(&bad.id).unwrap();
    let l = agent.launch().unwrap();
    agent.ready_timeout(&l.token).unwrap().unwrap();
    drop(agent);
    let tree = phone.device.root().join("bundles").join(&bad.id);
    assert!(tree.exists());
    phone.device.plugin["autoDeleteFailed"] = serde_json::json!(true);
    let agent = phone.open();
    agent.launch().unwrap();
    assert!(!tree.exists(), "the failed bundle's tree survives start-up sweeps forever");
}

/// Regression: a rejected artifact is not remembered; every check downloads it again in full. (A publisher
/// defect is remembered; bytes spoiled in transit are not, see corrupt_in_transit_never_blocks_a_release.rs.)
#[test]
fn a_rejected_release_is_not_downloaded_again_until_the_catalog_changes_its_pin() {
    let (repo, phone) = repo_and_phone(serde_json::json!({}));
    let agent = phone.open();
    // Nothing in common with the builtin bundle: no delta.
    let dist = Dist::from_files(&[("index.html", b"<!doctype html><title>unique</title>"), ("x.bin", &[9u8; 50_000])]);
    // The publisher signed a zip whose tree is not its signed file list (an extra file).
    let zip = dist.with_file("extra.js", b"not in the signed list").zip();
    let size = zip.len() as u64;
    repo.release_with_files(1, "1.0.1", dist.entries(), &[], zip.clone(), size);
    repo.catalog(1, vec![]);
    let e = agent.update(&Cancel::never()).unwrap_err();
    assert_eq!(e.kind(), airlock_core::ErrorKind::Rejected, "{e}");
    for _ in 0..2 {
        assert!(agent.update(&Cancel::never()).unwrap().is_none(), "a remembered rejection is not retried");
    }
    let sent = repo.server.body_bytes_sent_for(&format!("/{APP}/bundles/1.zip"));
    assert!(
        sent <= zip.len() as u64,
        "the same rejected bundle was downloaded {} times ({sent} bytes)",
        sent / zip.len() as u64
    );
}

/// Regression: JS `reload()` / `set()` called by the LIVE page of a pending bundle count that load as a failed
/// boot; two such calls before notifyAppReady roll back and blocklist a healthy bundle.
#[test]
fn reload_from_a_live_page_is_not_a_failed_boot() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let b = common::install(&agent, &server, &Dist::small("healthy"), "2.0.0");
    agent.set_next(&b.id).unwrap();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, b.id);
    // The page is running (it is the one calling reload) but has not called notifyAppReady yet.
    let l = agent.reload().unwrap();
    assert_eq!(l.bundle.id, b.id);
    let l = agent.reload().unwrap();
    assert_eq!(l.bundle.id, b.id, "a healthy bundle was rolled back because its page called reload() twice");
}

/// Regression: commit_tree does not re-check "already installed" / blocklist inside its transaction: two
/// concurrent installs of one release (here: the same signed manifest reached through two URLs, as the
/// automatic pipeline and a JS download() would) commit two rows with one checksum; after one is rolled back
/// (checksum blocklisted) the twin is still installable with set_next.
#[test]
fn concurrent_installs_of_the_same_bytes_cannot_escape_the_blocklist() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let zip =
        Dist::from_files(&[("index.html", b"<!doctype html><title>twin</title>"), ("big.bin", &[5u8; 6000])]).zip();
    server.put("/b.zip", zip.clone());
    server.set_fault("/b.zip", airlock_testkit::server::Fault::SlowDrip { bytes_per_sec: 2000 });
    let req = |url: String| DownloadRequest {
        url: Some(url),
        version: Some("1.0.1".into()),
        checksum: Some(sha256_hex(&zip)),
        ..Default::default()
    };
    let (r1, r2) = (req(server.url("/b.zip")), req(format!("{}?cachebust=1", server.url("/b.zip"))));
    let (a, b) = std::thread::scope(|s| {
        let h1 = s.spawn(|| agent.download(&r1, &Cancel::never()));
        let h2 = s.spawn(|| agent.download(&r2, &Cancel::never()));
        (h1.join().unwrap(), h2.join().unwrap())
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    println!("a={} b={}", a.id, b.id);
    agent.set_next(&a.id).unwrap();
    let l = agent.launch().unwrap();
    agent.ready_timeout(&l.token).unwrap(); // a is rolled back: error + blocklisted
    let r = agent.set_next(&b.id);
    assert!(r.is_err() || a.id == b.id, "the blocklisted content is queued again through its twin row: {r:?}");
}
