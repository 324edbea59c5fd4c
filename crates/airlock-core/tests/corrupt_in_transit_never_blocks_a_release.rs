//! Bytes that do not match what was signed — a middlebox page with the right length, a CDN's gzip re-encoding,
//! a 206 spliced from another object, an endless body, a torn local `.part` — are corrupt in transit: the agent
//! discards them, reports the failure, remembers nothing, and installs the release once the server is healthy.
//! A resumed part whose final hash fails is refetched from byte zero once, in the same call, before anything is
//! reported.

mod common;
mod lifecycle_support;

use airlock_core::schedule::Trigger;
use airlock_core::{Cancel, ErrorKind};
use airlock_testkit::bundle::{Dist, sha256_hex};
use airlock_testkit::server::Fault;
use lifecycle_support::{APP, World, cold_start};

const BUNDLE: &str = "/com.example.app/bundles/1.zip";

/// A world serving release 1 (`1.0.1`) as a whole bundle only: no per-file objects, so every install
/// fetches `BUNDLE`.
fn world_with_release(extra: serde_json::Value) -> (World, Dist) {
    let w = lifecycle_support::world(extra);
    let dist = w.release(1, "1.0.1");
    for (_, bytes) in &dist.files {
        w.server.remove(&format!("/{APP}/objects/{}", sha256_hex(bytes)));
    }
    (w, dist)
}

fn no() -> Cancel {
    Cancel::never()
}

/// Files under `downloads/` (parts, sidecars, locks).
fn downloads(w: &World) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(w.phone.device.root().join("downloads"))
        .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The `kv` rows that remember a rejected release.
fn remembered_rejections(w: &World) -> Vec<String> {
    w.phone.db_dump().lines().filter(|l| l.contains("rejected:")).map(str::to_owned).collect()
}

/// Serves release 1 with `fault` on its bundle; one `update` fails as corrupt in transit, is reported, leaves
/// no bytes and no memory behind; once the fault is gone the next `update` installs the release.
fn update_survives(fault: Fault) {
    let (w, dist) = world_with_release(serde_json::json!({}));
    w.server.set_fault(BUNDLE, fault.clone());
    let agent = w.open();
    let before_bundles = w.bundle_dirs();

    let err = agent.update(&no()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{fault:?}: {err}");
    assert_eq!(err.kind_name(), "corrupt_in_transit", "{fault:?}: {err}");
    assert!(err.to_string().contains("will start over"), "{fault:?}: the message says what happens: {err}");
    assert_eq!(w.bundle_dirs(), before_bundles, "{fault:?}: nothing was installed");
    assert!(remembered_rejections(&w).is_empty(), "{fault:?}: a transit fault is not remembered as a rejection");
    assert!(
        downloads(&w).iter().all(|n| !n.ends_with(".part") && !n.ends_with(".json")),
        "{fault:?}: the bytes served were discarded: {:?}",
        downloads(&w)
    );
    assert!(w.phone.queued_actions().contains(&"download_fail".to_owned()), "{fault:?}: the failure is reported");
    assert!(w.phone.event_names().contains(&"downloadFailed"), "{fault:?}: the app is told");

    w.server.clear_faults(BUNDLE);
    let bundle = agent.update(&no()).expect("the healthy server's release installs").expect("a bundle is queued");
    assert_eq!(bundle.version, "1.0.1");
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&bundle.id));
    assert_eq!(agent.next_bundle().unwrap().map(|b| b.id), Some(bundle.id));
}

#[test]
fn a_middlebox_page_with_the_signed_length_is_corrupt_in_transit_and_update_installs_once_the_server_is_healthy() {
    update_survives(Fault::OtherBytes);
}

#[test]
fn a_gzip_encoded_bundle_is_corrupt_in_transit_and_installs_once_the_cdn_is_fixed() {
    update_survives(Fault::Gzip);
}

#[test]
fn an_endless_body_cut_at_the_signed_size_is_corrupt_in_transit_and_installs_once_the_server_is_healthy() {
    update_survives(Fault::Endless);
}

#[test]
fn the_automatic_pipeline_retries_a_release_whose_bytes_were_spoiled_and_installs_it_once_healthy() {
    let (w, _) = world_with_release(serde_json::json!({ "autoUpdate": "atBackground" }));
    w.server.set_fault(BUNDLE, Fault::OtherBytes);
    let agent = w.open();
    cold_start(&agent);
    let err = agent.check_and_update(Trigger::ColdStart, &no()).unwrap_err();
    assert_eq!(err.kind_name(), "corrupt_in_transit", "{err}");
    assert!(remembered_rejections(&w).is_empty());

    w.server.clear_faults(BUNDLE);
    let outcome = agent.check_and_update(Trigger::Manual, &no()).unwrap();
    assert!(
        matches!(&outcome, airlock_core::lifecycle::AutoOutcome::Downloaded { bundle, .. } if bundle.version == "1.0.1"),
        "the release is downloaded on the next check: {outcome:?}"
    );
}

#[test]
fn a_resumed_part_spliced_from_another_object_is_refetched_from_zero_in_the_same_call() {
    let (w, dist) = world_with_release(serde_json::json!({}));
    w.server.set_fault(BUNDLE, Fault::CutAfter { bytes: 100, times: 1 });
    let agent = w.open();
    let err = agent.update(&no()).unwrap_err();
    assert_eq!(err.kind_name(), "network", "a cut is an ordinary network error: {err}");
    assert!(downloads(&w).iter().any(|n| n.ends_with(".part")), "the cut part is kept for a resume");
    w.phone.events.take();

    // The cache ignores If-Range: the resumed bytes come from another object; the whole file fails its hash.
    w.server.set_fault(BUNDLE, Fault::SpliceOnRange);
    w.server.reset_counters();
    let bundle = agent.update(&no()).expect("refetched from zero within the same call").expect("queued");
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&bundle.id));
    let asked: Vec<Option<String>> = w.server.requests_for(BUNDLE).into_iter().map(|r| r.range).collect();
    assert_eq!(asked, vec![Some("bytes=100-".to_owned()), None], "one resume, then one fetch from byte zero");
    assert!(!w.phone.event_names().contains(&"downloadFailed"), "nothing is reported for a repaired resume");
    assert_eq!(count_fails(&w), 1, "only the earlier cut was reported");
    assert!(downloads(&w).iter().all(|n| !n.ends_with(".part")));
}

fn count_fails(w: &World) -> usize {
    w.phone.queued_actions().iter().filter(|a| *a == "download_fail").count()
}

#[test]
fn a_torn_local_part_left_by_a_crash_is_refetched_from_zero_in_the_same_call() {
    let (w, dist) = world_with_release(serde_json::json!({}));
    w.server.set_fault(BUNDLE, Fault::CutAfter { bytes: 200, times: 1 });
    let agent = w.open();
    agent.update(&no()).unwrap_err();
    drop(agent);
    // The crash tore the part: its bytes on disk are not what was received.
    let part = std::fs::read_dir(w.phone.device.root().join("downloads"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "part"))
        .expect("a part");
    let len = std::fs::metadata(&part).unwrap().len() as usize;
    std::fs::write(&part, vec![0u8; len]).unwrap();
    w.phone.events.take();

    let agent = w.open();
    let bundle = agent.update(&no()).expect("the torn part is discarded and the bundle refetched").expect("queued");
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&bundle.id));
    assert!(!w.phone.event_names().contains(&"downloadFailed"));
}

#[test]
fn the_automatic_pipeline_backs_off_after_spoiled_bytes_and_installs_once_the_wait_is_over() {
    let (w, dist) = world_with_release(serde_json::json!({ "autoUpdate": "atBackground" }));
    w.server.set_fault(BUNDLE, Fault::OtherBytes);
    let agent = w.open();
    cold_start(&agent);
    let err = agent.check_and_update(Trigger::ColdStart, &no()).unwrap_err();
    assert_eq!(err.kind_name(), "corrupt_in_transit", "{err}");
    w.server.clear_faults(BUNDLE);
    let fetched = w.server.requests_for(BUNDLE).len();

    // Back from the background a minute later: the release is not fetched again yet.
    w.phone.clock.advance_ms(60_000);
    match agent.on_foreground(60_000, &no()).unwrap() {
        airlock_core::lifecycle::AutoOutcome::Skipped { reason } => {
            assert!(reason.contains("corrupt in transit") && reason.contains("due at"), "{reason}")
        }
        other => panic!("expected a backoff, got {other:?}"),
    }
    assert_eq!(w.server.requests_for(BUNDLE).len(), fetched, "no download during the backoff");

    // Five minutes after the failure the wait is over: the next automatic check installs the release.
    w.phone.clock.advance_ms(4 * 60_000);
    let outcome = agent.on_foreground(60_000, &no()).unwrap();
    let airlock_core::lifecycle::AutoOutcome::Downloaded { bundle, .. } = outcome else {
        panic!("expected the release to be downloaded, got {outcome:?}");
    };
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&bundle.id));
    assert!(!w.phone.db_dump().contains("transit:"), "a success forgets the failures");
}

#[test]
fn a_rejection_an_older_agent_remembered_for_spoiled_bytes_no_longer_strands_the_device() {
    let (w, dist) = world_with_release(serde_json::json!({}));
    let http = airlock_core::http::Http::new(Default::default()).unwrap();
    let envelope = http.get_bytes(&w.server.url(&format!("/{APP}/releases/1.json")), 1 << 20, &no()).unwrap();
    let agent = w.open();
    // What an older agent remembered after a middlebox page: the release stayed blocked until re-published.
    let db = rusqlite::Connection::open(w.phone.device.root().join("state.sqlite3")).unwrap();
    db.execute(
        "INSERT INTO kv (key, value) VALUES (?1, ?2)",
        [
            format!("rejected:1:{}", sha256_hex(&envelope)),
            "bundle rejected (checksum_mismatch): http://cdn/1.zip has SHA-256 aa but bb was expected: the bundle \
             is corrupt or was changed on the server; it was deleted"
                .to_owned(),
        ],
    )
    .unwrap();
    let bundle = agent.update(&no()).unwrap().expect("the release installs");
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&bundle.id));
}

#[test]
fn a_short_body_with_a_short_content_length_is_corrupt_in_transit_and_installs_once_the_cdn_serves_it_whole() {
    let (w, dist) = world_with_release(serde_json::json!({}));
    let http = airlock_core::http::Http::new(Default::default()).unwrap();
    let whole = http.get_bytes(&w.server.url(BUNDLE), 1 << 20, &no()).unwrap();
    // A cache holds a truncated copy and serves it with its own (short) Content-Length: a clean, complete answer.
    w.server.put(BUNDLE, whole[..whole.len() - 40].to_vec());
    let agent = w.open();
    let err = agent.update(&no()).unwrap_err();
    assert_eq!((err.kind_name(), err.transit_code()), ("corrupt_in_transit", Some("size_mismatch")), "{err}");
    assert!(remembered_rejections(&w).is_empty());
    assert!(downloads(&w).iter().all(|n| !n.ends_with(".part")), "{:?}", downloads(&w));

    w.server.put(BUNDLE, whole);
    let bundle = agent.update(&no()).unwrap().expect("installed");
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&bundle.id));
}
