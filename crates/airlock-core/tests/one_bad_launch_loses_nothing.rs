//! A launch or a ready that races with trouble never loses the good bundle (issue 7, points 4, 5 and the launch
//! part of 6): a ready for a bundle revoked while it was booting blesses nothing, a revoked bundle's tree stays
//! on disk while a page may still serve it (another process opening the agent does not sweep it) and goes at
//! the next launch that moves away from it, and `launch()` works on a disk filled to the last byte.
//!
//! Real loopback servers, real signed catalogs and manifests, real zips; the full-disk case mounts a small
//! tmpfs (CI runs as root).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use airlock_core::{BundleStatus, Cancel};
use airlock_testkit::bundle::Dist;
use airlock_testkit::server::TestServer;
use airlock_testkit::tmpfs::Tmpfs;
use common::Phone;
use common::repo::Repo;

/// One state column of the database, read as the test sees the file.
fn state_column(root: &Path, column: &str) -> Option<String> {
    let c = rusqlite::Connection::open(root.join("state.sqlite3")).unwrap();
    c.query_row(&format!("SELECT {column} FROM state WHERE id = 1"), [], |r| r.get(0)).unwrap()
}

fn bundle_status(root: &Path, id: &str) -> String {
    let c = rusqlite::Connection::open(root.join("state.sqlite3")).unwrap();
    c.query_row("SELECT status FROM bundles WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

#[test]
fn a_ready_for_a_bundle_revoked_while_it_was_booting_blesses_nothing_and_reset_goes_to_the_real_last_good() {
    let repo = Repo::start();
    let phone = repo.phone(serde_json::json!({}));
    let root = phone.device.root();
    let agent = phone.open();
    let r1 = repo.ship(&agent, 1, "1.0.1");

    repo.release(2, "1.0.2", &Dist::small("r2"));
    repo.catalog(2, vec![]);
    let r2 = agent.update(&Cancel::never()).unwrap().expect("release 2 installs");
    let booting = agent.launch().unwrap();
    assert_eq!(booting.bundle.id, r2.id, "release 2 boots");

    // While its page is still loading, the publisher revokes release 2 and points the channel back at 1.
    repo.catalog(1, vec![2]);
    agent.check(&Cancel::never()).unwrap();
    let ready = agent.notify_app_ready(&booting.token).unwrap();
    println!("ready for the revoked bundle: {ready:?}");

    assert_eq!(bundle_status(&root, &r2.id), "error", "the revoked bundle was blessed by its late ready");
    assert_eq!(state_column(&root, "last_good").as_deref(), Some(r1.id.as_str()), "last good moved off release 1");
    assert_eq!(state_column(&root, "booting_bundle"), None, "the load reached ready: nothing is booting");
    assert!(matches!(ready, airlock_core::boot::Ready::Ignored { .. }), "{ready:?}");

    let back = agent.reset(true).unwrap();
    assert_eq!(back.bundle.id, r1.id, "reset(toLastSuccessful) did not go to release 1, the real last good");
    assert_eq!(state_column(&root, "current").as_deref(), Some(r1.id.as_str()));
    assert!(phone.device.root().join("bundles").join(&r1.id).join("index.html").is_file());
}

#[test]
fn a_revoked_bundles_tree_stays_while_a_page_may_serve_it_and_goes_at_the_next_launch_that_moves_away() {
    let repo = Repo::start();
    let phone = repo.phone(serde_json::json!({}));
    let root = phone.device.root();
    let agent = phone.open();
    let r1 = repo.ship(&agent, 1, "1.0.1");
    let r2 = repo.ship(&agent, 2, "1.0.2");
    let tree = phone.device.root().join("bundles").join(&r2.id);
    let serving: Vec<u8> = std::fs::read(tree.join("app.js")).unwrap();

    // The page of this process serves release 2 when the publisher revokes it.
    repo.catalog(1, vec![2]);
    agent.check(&Cancel::never()).unwrap();
    assert_eq!(bundle_status(&root, &r2.id), "error");
    assert!(tree.join("index.html").is_file(), "revocation deleted the files of the page still serving them");

    // Another process of the app (a second WebView process, a background task) opens the agent and works.
    let other = phone.open();
    other.check(&Cancel::never()).unwrap();
    assert!(
        tree.join("index.html").is_file(),
        "another process opening the agent swept the tree a live page still serves: {:?}",
        phone.bundle_dirs()
    );
    assert_eq!(std::fs::read(tree.join("app.js")).unwrap(), serving, "the served files changed");
    drop(other);

    // The next launch moves away from release 2 (to builtin: release 1 was auto-deleted when 2 reached ready,
    // and the revoked release was the last good one): now its tree goes.
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert!(!tree.exists(), "the revoked tree outlived the launch that moved away from it");
    assert!(phone.bundle_dirs().is_empty(), "{:?}", phone.bundle_dirs());
    agent.notify_app_ready(&l.token).unwrap();
    assert_eq!(agent.current().unwrap().bundle.id, "builtin");
    assert_eq!(agent.current().unwrap().bundle.status, BundleStatus::Success);
    assert_ne!(r1.id, r2.id);
}

/// Writes one file until the volume refuses a single byte more.
fn fill_to_the_last_byte(dir: &Path) -> PathBuf {
    let path = dir.join("filler.bin");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut chunk = 1 << 20;
    while chunk > 0 {
        let buf = vec![0xa5u8; chunk];
        match f.write(&buf) {
            Ok(n) if n > 0 => {}
            _ => chunk /= 2,
        }
    }
    f.sync_all().ok();
    assert_eq!(airlock_core_free_space(dir), 0, "the volume still has room");
    path
}

fn airlock_core_free_space(dir: &Path) -> u64 {
    let out = Command::new("df").args(["-B1", "--output=avail"]).arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn launch_works_on_a_disk_filled_to_the_last_byte_and_keeps_serving_the_bundle() {
    let mut phone = Phone::new(serde_json::json!({}));
    let disk = Tmpfs::mount(&phone.device.dir.path().join("small-disk"), "24m");
    phone.device.device["dataDir"] = disk.0.to_string_lossy().into_owned().into();
    let root = disk.0.join("airlock");
    let server = TestServer::start();
    let agent = phone.open();
    let b = common::install(&agent, &server, &Dist::small("good"), "1.1.0");
    agent.set_next(&b.id).unwrap();
    let l = agent.launch().unwrap();
    agent.notify_app_ready(&l.token).unwrap();
    // Some history in the database, as a phone has after a while.
    for _ in 0..20 {
        let l = agent.launch().unwrap();
        agent.notify_app_ready(&l.token).unwrap();
    }
    drop(agent);

    let filler = fill_to_the_last_byte(&disk.0);
    // The app starts again on the full disk: open, launch, ready, and launch again.
    let agent = phone.open();
    let l = agent.launch().expect("launch() failed on a full disk");
    assert_eq!(l.bundle.id, b.id, "a full disk changed what serves");
    agent.notify_app_ready(&l.token).expect("ready failed on a full disk");
    for _ in 0..5 {
        let l = agent.launch().expect("a later launch() failed on the full disk");
        assert_eq!(l.bundle.id, b.id);
        agent.notify_app_ready(&l.token).expect("a later ready failed on the full disk");
    }
    drop(agent);
    assert_eq!(state_column(&root, "current").as_deref(), Some(b.id.as_str()));
    assert_eq!(state_column(&root, "last_good").as_deref(), Some(b.id.as_str()));
    assert_eq!(bundle_status(&root, &b.id), "success");
    assert!(root.join("bundles").join(&b.id).join("index.html").is_file());

    // Space comes back: the agent works as before.
    std::fs::remove_file(filler).unwrap();
    let agent = phone.open();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, b.id);
    assert_eq!(agent.integrity_check().unwrap(), "ok");
}
