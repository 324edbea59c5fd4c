//! The manual JS flow end to end: download → next → launch → ready → success, against a real loopback server.

mod common;

use airlock_core::boot::Ready;
use airlock_core::{BundleStatus, Event};
use airlock_testkit::bundle::Dist;
use airlock_testkit::server::TestServer;
use common::{Phone, install};

#[test]
fn download_next_launch_ready_serves_a_byte_identical_tree() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();

    // Before anything: builtin serves.
    let first = agent.launch().unwrap();
    assert_eq!(first.bundle.id, "builtin");
    assert_eq!(first.path, phone.device.dir.path().join("builtin").to_string_lossy());
    assert!(matches!(agent.notify_app_ready(&first.token).unwrap(), Ready::Blessed(_)));

    let v2 = Dist::generate(50, 400_000, 7);
    let info = install(&agent, &server, &v2, "2.0.0");
    assert_eq!(info.status, BundleStatus::Pending);
    assert_eq!(info.id.len(), 10);
    assert_eq!(phone.bundle_dirs(), vec![info.id.clone()]);
    v2.assert_tree(&phone.device.root().join("bundles").join(&info.id));
    assert!(phone.staging_entries().is_empty(), "staging is empty after an install");
    let names = phone.event_names();
    assert_eq!(names, vec!["appReady", "downloadComplete", "updateAvailable"]);

    // Progress is real and by bytes: percents rise monotonically to 100.
    agent.set_next(&info.id).unwrap();
    assert_eq!(agent.next_bundle().unwrap().unwrap().id, info.id);
    assert_eq!(phone.event_names(), vec!["setNext"]);

    let launch = agent.launch().unwrap();
    assert_eq!(launch.bundle.id, info.id);
    assert_eq!(launch.path, phone.device.root().join("bundles").join(&info.id).to_string_lossy());
    assert_eq!(agent.current().unwrap().bundle.id, info.id);
    assert!(agent.next_bundle().unwrap().is_none());
    assert_eq!(phone.event_names(), vec!["set"]);

    match agent.notify_app_ready(&launch.token).unwrap() {
        Ready::Blessed(b) => assert_eq!((b.id.as_str(), b.status), (info.id.as_str(), BundleStatus::Success)),
        other => panic!("expected blessed, got {other:?}"),
    }
    let listed = agent.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, BundleStatus::Success);
    assert_eq!(phone.event_names(), vec!["appReady"]);

    // A relaunch keeps serving it, and the files are still byte-identical.
    drop(agent);
    let agent = phone.open();
    let again = agent.launch().unwrap();
    assert_eq!(again.bundle.id, info.id);
    v2.assert_tree(std::path::Path::new(&again.path));
    assert_eq!(agent.integrity_check().unwrap(), "ok");
}

#[test]
fn download_progress_rises_by_bytes_to_one_hundred() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    install(&agent, &server, &Dist::generate(20, 2_000_000, 3), "1.0.1");
    let percents: Vec<u32> = phone
        .events
        .take()
        .into_iter()
        .filter_map(|e| if let Event::Download { percent, .. } = e { Some(percent) } else { None })
        .collect();
    assert!(percents.len() >= 5, "several progress events, got {percents:?}");
    assert!(percents.windows(2).all(|w| w[0] < w[1]), "strictly rising: {percents:?}");
    assert_eq!(percents.last(), Some(&100));
}

#[test]
fn the_same_bundle_is_not_downloaded_twice() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let dist = Dist::small("v2");
    let a = install(&agent, &server, &dist, "2.0.0");
    let b = install(&agent, &server, &dist, "2.0.0");
    assert_eq!(a.id, b.id);
    assert_eq!(phone.bundle_dirs().len(), 1);
}

#[test]
fn delete_refuses_current_next_and_builtin_and_removes_others() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let a = install(&agent, &server, &Dist::small("a"), "1.1.0");
    let b = install(&agent, &server, &Dist::small("b"), "1.2.0");
    let c = install(&agent, &server, &Dist::small("c"), "1.3.0");
    agent.set_current(&a.id).unwrap();
    agent.set_next(&b.id).unwrap();
    assert!(agent.delete("builtin").is_err());
    assert!(agent.delete(&a.id).unwrap_err().to_string().contains("in use"));
    assert!(agent.delete(&b.id).unwrap_err().to_string().contains("queued"));
    agent.delete(&c.id).unwrap();
    assert!(!phone.bundle_dirs().contains(&c.id));
    assert!(agent.list().unwrap().iter().all(|i| i.id != c.id));
    assert!(agent.delete("nosuchbundle").is_err());
}

#[test]
fn reset_returns_to_builtin_or_to_the_last_good_bundle() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    let good = install(&agent, &server, &Dist::small("good"), "1.1.0");
    let l = agent.set_current(&good.id).unwrap();
    agent.notify_app_ready(&l.token).unwrap();
    let newer = install(&agent, &server, &Dist::small("newer"), "1.2.0");
    agent.set_current(&newer.id).unwrap();
    let back = agent.reset(true).unwrap();
    assert_eq!(back.bundle.id, good.id);
    let builtin = agent.reset(false).unwrap();
    assert_eq!(builtin.bundle.id, "builtin");
    assert_eq!(agent.current().unwrap().bundle.id, "builtin");
}
