//! DESIGN §7: boot attempts, the in-process ready timeout, stale tokens, fallback order, the blocklist,
//! fix-forward after ready, and the native-build reset.

mod common;

use airlock_core::boot::Ready;
use airlock_core::install::DownloadRequest;
use airlock_core::{BundleStatus, Cancel};
use airlock_testkit::bundle::{Dist, sha256_hex};
use airlock_testkit::server::TestServer;
use common::{Phone, install};

fn ready(agent: &airlock_core::Agent, token: &str) {
    assert!(matches!(agent.notify_app_ready(token).unwrap(), Ready::Blessed(_)));
}

#[test]
fn a_bundle_that_never_calls_ready_is_rolled_back_after_max_boot_attempts_launches() {
    let phone = Phone::new(serde_json::json!({"maxBootAttempts": 2}));
    let server = TestServer::start();
    let agent = phone.open();
    let bad = install(&agent, &server, &Dist::small("broken"), "2.0.0");
    agent.set_next(&bad.id).unwrap();
    drop(agent);

    // Launch 1 and 2 load the bad bundle; the app is killed before ready each time.
    for attempt in 1..=2 {
        let agent = phone.open();
        let l = agent.launch().unwrap();
        assert_eq!(l.bundle.id, bad.id, "attempt {attempt} still loads the new bundle");
    }
    phone.events.take();
    // Launch 3: rolled back to builtin (no last good yet).
    let agent = phone.open();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert!(phone.event_names().contains(&"updateFailed"));
    let failed = agent.take_failed_update().unwrap().expect("failed update recorded");
    assert_eq!((failed.id.as_str(), failed.status), (bad.id.as_str(), BundleStatus::Error));
    assert!(agent.take_failed_update().unwrap().is_none(), "cleared after the first read");
    assert!(!phone.device.root().join("bundles").join(&bad.id).exists(), "autoDeleteFailed removed the tree");
    assert_eq!(agent.integrity_check().unwrap(), "ok");
}

#[test]
fn a_single_kill_of_a_healthy_bundle_before_ready_does_not_roll_it_back() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let b = install(&agent, &server, &Dist::small("healthy"), "2.0.0");
    agent.set_next(&b.id).unwrap();
    drop(agent);
    // First load: killed (swipe) before ready.
    phone.open().launch().unwrap();
    // Second load: reaches ready.
    let agent = phone.open();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, b.id);
    ready(&agent, &l.token);
    assert_eq!(agent.current().unwrap().bundle.status, BundleStatus::Success);
}

#[test]
fn after_ready_later_crashes_are_fixed_forward_not_rolled_back() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let b = install(&agent, &server, &Dist::small("blessed"), "2.0.0");
    let l = agent.set_current(&b.id).unwrap();
    ready(&agent, &l.token);
    drop(agent);
    for _ in 0..5 {
        let l = phone.open().launch().unwrap();
        assert_eq!(l.bundle.id, b.id, "a blessed bundle survives crashes before ready");
    }
}

#[test]
fn the_in_process_ready_timeout_rolls_back_at_once_to_the_last_good_bundle() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let good = install(&agent, &server, &Dist::small("good"), "1.1.0");
    let l = agent.set_current(&good.id).unwrap();
    ready(&agent, &l.token);
    let bad = install(&agent, &server, &Dist::small("bad"), "1.2.0");
    let l = agent.set_current(&bad.id).unwrap();
    assert_eq!(l.bundle.id, bad.id);
    phone.events.take();
    let back = agent.ready_timeout(&l.token).unwrap().expect("rolled back");
    assert_eq!(back.bundle.id, good.id, "fallback goes to the last good bundle first");
    assert_eq!(phone.event_names(), vec!["updateFailed"]);
    // The old token is dead; the new load can be blessed.
    assert!(agent.ready_timeout(&l.token).unwrap().is_none());
    ready(&agent, &back.token);
    assert_eq!(agent.current().unwrap().bundle.id, good.id);
}

#[test]
fn fallback_goes_to_builtin_when_the_last_good_tree_is_gone() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let good = install(&agent, &server, &Dist::small("good"), "1.1.0");
    let l = agent.set_current(&good.id).unwrap();
    ready(&agent, &l.token);
    let bad = install(&agent, &server, &Dist::small("bad"), "1.2.0");
    let l = agent.set_current(&bad.id).unwrap();
    // Storage lost the last good tree (not the app's fault).
    std::fs::remove_dir_all(phone.device.root().join("bundles").join(&good.id)).unwrap();
    let back = agent.ready_timeout(&l.token).unwrap().unwrap();
    assert_eq!(back.bundle.id, "builtin");
}

#[test]
fn a_stale_ready_token_from_the_old_page_is_ignored() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let old = agent.launch().unwrap(); // builtin page, not yet ready
    let bad = install(&agent, &server, &Dist::small("bad"), "2.0.0");
    let new = agent.set_current(&bad.id).unwrap();
    // The old page's notifyAppReady arrives after the swap (Capgo #907): it must not bless the new bundle.
    match agent.notify_app_ready(&old.token).unwrap() {
        Ready::Ignored { current, reason } => {
            assert_eq!(current.id, bad.id);
            assert!(reason.contains("stale"), "{reason}");
        }
        other => panic!("stale token was accepted: {other:?}"),
    }
    assert_eq!(agent.current().unwrap().bundle.status, BundleStatus::Pending);
    let back = agent.ready_timeout(&new.token).unwrap().unwrap();
    assert_eq!(back.bundle.id, "builtin");
}

#[test]
fn a_failed_bundle_is_never_installed_again() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let dist = Dist::small("bad");
    let bad = install(&agent, &server, &dist, "2.0.0");
    let l = agent.set_current(&bad.id).unwrap();
    agent.ready_timeout(&l.token).unwrap().unwrap();
    let zip = dist.zip();
    let req = DownloadRequest {
        url: Some(server.url("/bundles/2.0.0.zip")),
        version: Some("2.0.0".into()),
        checksum: Some(sha256_hex(&zip)),
        ..Default::default()
    };
    let err = agent.download(&req, &Cancel::never()).unwrap_err();
    assert_eq!(err.reject_code(), Some("blocklisted"), "{err}");
    // Without a checksum it is caught after hashing, before unpacking.
    let err = agent.download(&DownloadRequest { checksum: None, ..req }, &Cancel::never()).unwrap_err();
    assert_eq!(err.reject_code(), Some("blocklisted"), "{err}");
    assert!(phone.staging_entries().is_empty());
    assert_eq!(phone.bundle_dirs().len(), 0, "the failed tree was deleted and nothing new was installed");
    assert!(agent.set_next(&bad.id).is_err(), "a failed bundle cannot be queued again");
}

#[test]
fn a_native_build_change_returns_to_builtin_and_purges_downloads() {
    let mut phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let b = install(&agent, &server, &Dist::small("v2"), "2.0.0");
    let l = agent.set_current(&b.id).unwrap();
    ready(&agent, &l.token);
    drop(agent);
    phone.device.device["nativeBuild"] = "101".into();
    phone.device.device["nativeVersion"] = "1.1.0".into();
    let agent = phone.open();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert_eq!(l.bundle.version, "1.1.0");
    assert!(phone.bundle_dirs().is_empty());
    assert!(agent.list().unwrap().is_empty());
}

#[test]
fn a_missing_tree_falls_back_without_counting_a_failure() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let b = install(&agent, &server, &Dist::small("v2"), "2.0.0");
    agent.set_next(&b.id).unwrap();
    std::fs::remove_file(phone.device.root().join("bundles").join(&b.id).join("app.js")).unwrap();
    let l = agent.launch().unwrap();
    assert_eq!(l.bundle.id, "builtin");
    assert!(agent.take_failed_update().unwrap().is_none(), "storage damage is not a boot failure");
}
