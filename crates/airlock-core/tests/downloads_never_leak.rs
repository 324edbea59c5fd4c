//! Nothing leaks under `downloads/`: a partial download (and its sidecar) for a release the catalog no longer
//! offers is removed once a newer release is installed, or when it was left untouched for 7 days (injected
//! clock against file times); a younger one is kept for its resume; lock files do not accumulate.

mod common;
mod lifecycle_support;

use airlock_core::Cancel;
use airlock_core::install::DownloadRequest;
use airlock_testkit::bundle::{Dist, sha256_hex};
use airlock_testkit::server::{Fault, TestServer};
use common::{Phone, T0};
use lifecycle_support::{APP, World};
use std::time::{Duration, UNIX_EPOCH};

const DAY: i64 = 24 * 3_600_000;

fn no() -> Cancel {
    Cancel::never()
}

/// Names under `downloads/`.
fn downloads(phone: &Phone) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(phone.device.root().join("downloads"))
        .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn has(phone: &Phone, ext: &str) -> bool {
    downloads(phone).iter().any(|n| n.ends_with(ext))
}

/// Publishes release `n` whole-bundle only (no per-file objects, so the bundle is what gets fetched).
fn release(w: &World, n: u64, version: &str) -> Dist {
    let dist = w.release(n, version);
    for (_, bytes) in &dist.files {
        w.server.remove(&format!("/{APP}/objects/{}", sha256_hex(bytes)));
    }
    dist
}

/// Release 1 is offered but its download is cut: a resumable part and sidecar stay.
fn world_with_a_cut_part() -> World {
    let w = lifecycle_support::world(serde_json::json!({}));
    release(&w, 1, "1.0.1");
    w.server.set_fault(&format!("/{APP}/bundles/1.zip"), Fault::CutAfter { bytes: 100, times: 1 });
    let agent = w.open();
    let err = agent.update(&no()).unwrap_err();
    assert_eq!(err.kind_name(), "network", "{err}");
    assert!(has(&w.phone, ".part") && has(&w.phone, ".json"), "the cut part is kept: {:?}", downloads(&w.phone));
    w
}

#[test]
fn a_part_for_a_release_no_longer_offered_is_removed_once_a_newer_release_installs() {
    let w = world_with_a_cut_part();
    // The publisher moves on: release 2 replaces release 1 in the catalog.
    let dist = release(&w, 2, "1.0.2");
    let agent = w.open();
    let bundle = agent.update(&no()).unwrap().expect("release 2 installs");
    assert_eq!(bundle.version, "1.0.2");
    dist.assert_tree(&w.phone.device.root().join("bundles").join(&bundle.id));
    assert_eq!(downloads(&w.phone), Vec::<String>::new(), "release 1's part, sidecar and locks are gone");
}

/// Dates every file under `downloads/` at `ms` (what the file times say when the clock said `ms`).
fn date_downloads(phone: &Phone, ms: i64) {
    for e in std::fs::read_dir(phone.device.root().join("downloads")).unwrap().filter_map(|e| e.ok()) {
        let f = std::fs::File::options().append(true).open(e.path()).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_millis(ms as u64)).unwrap();
    }
}

#[test]
fn a_part_untouched_for_seven_days_is_removed_and_a_younger_one_is_kept_for_its_resume() {
    let w = world_with_a_cut_part();
    date_downloads(&w.phone, T0);

    w.phone.clock.set_ms(T0 + 6 * DAY);
    drop(w.open());
    assert!(has(&w.phone, ".part") && has(&w.phone, ".json"), "six days old: still resumable");

    w.phone.clock.set_ms(T0 + 7 * DAY + 60_000);
    drop(w.open());
    assert_eq!(downloads(&w.phone), Vec::<String>::new(), "seven days old: removed with its sidecar and lock");
}

#[test]
fn lock_files_under_downloads_do_not_accumulate() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let agent = phone.open();
    for n in 0..3 {
        common::install(&agent, &server, &Dist::small(&format!("v{n}")), &format!("2.0.{n}"));
    }
    // A failed download (cut) keeps its part for a resume, but no lock file either.
    let zip = Dist::generate(4, 200_000, 3).zip();
    server.put("/cut.zip", zip.clone());
    server.set_fault("/cut.zip", Fault::CutAfter { bytes: 1_000, times: 1 });
    let req = DownloadRequest {
        url: Some(server.url("/cut.zip")),
        version: Some("3.0.0".into()),
        checksum: Some(sha256_hex(&zip)),
        ..Default::default()
    };
    agent.download(&req, &no()).unwrap_err();
    assert!(!has(&phone, ".lock"), "no lock file is left behind: {:?}", downloads(&phone));
    assert!(has(&phone, ".part"), "the cut part stays resumable");
    agent.download(&req, &no()).unwrap();
    assert_eq!(downloads(&phone), Vec::<String>::new());
}
