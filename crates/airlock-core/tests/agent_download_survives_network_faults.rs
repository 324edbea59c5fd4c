//! Network faults seen through the agent: a cut download is a transient error that changes nothing but the
//! resumable `.part`; the next attempt resumes it; a server that ignores ranges or changes the ETag makes the
//! download restart cleanly.

mod common;

use airlock_core::install::DownloadRequest;
use airlock_core::{Cancel, ErrorKind};
use airlock_testkit::bundle::{Dist, Rng, sha256_hex};
use airlock_testkit::server::{Fault, TestServer};
use common::Phone;

fn request(server: &TestServer, path: &str, zip: &[u8]) -> DownloadRequest {
    DownloadRequest {
        url: Some(server.url(path)),
        version: Some("2.0.0".into()),
        checksum: Some(sha256_hex(zip)),
        ..Default::default()
    }
}

fn part_files(phone: &Phone) -> Vec<u64> {
    std::fs::read_dir(phone.device.root().join("downloads"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
        .map(|e| e.metadata().unwrap().len())
        .collect()
}

#[test]
fn a_cut_download_changes_nothing_and_the_next_attempt_resumes_it() {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    println!("seed {seed}");
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let dist = Dist::generate(40, 3_000_000, 5);
    let zip = dist.zip();
    let cut = 1 + Rng::new(seed).below(zip.len() as u64 - 2);
    server.put("/b.zip", zip.clone());
    server.set_fault("/b.zip", Fault::CutAfter { bytes: cut, times: 1 });
    let agent = phone.open();
    let before = phone.db_dump();

    let err = agent.download(&request(&server, "/b.zip", &zip), &Cancel::never()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert_eq!(phone.db_dump(), before, "a cut download leaves the database untouched");
    assert!(phone.bundle_dirs().is_empty() && phone.staging_entries().is_empty());
    assert_eq!(part_files(&phone), vec![cut], "the received bytes are kept for a resume");
    assert!(phone.event_names().contains(&"downloadFailed"));

    let info = agent.download(&request(&server, "/b.zip", &zip), &Cancel::never()).unwrap();
    dist.assert_tree(&phone.device.root().join("bundles").join(&info.id));
    let sent = server.body_bytes_sent_for("/b.zip");
    assert!(sent <= zip.len() as u64 + 64 * 1024, "fetched {sent} bytes for a {}-byte bundle", zip.len());
    let ranged = server.requests_for("/b.zip").iter().filter(|r| r.range.is_some()).count();
    assert_eq!(ranged, 1, "the second attempt asked for the rest only");
    assert!(part_files(&phone).is_empty(), "downloads/ is cleaned after the install");
}

#[test]
fn a_200_answer_to_a_ranged_request_restarts_from_zero() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let dist = Dist::generate(20, 1_000_000, 6);
    let zip = dist.zip();
    server.put("/b.zip", zip.clone());
    server.set_fault("/b.zip", Fault::CutAfter { bytes: 300_000, times: 1 });
    let agent = phone.open();
    agent.download(&request(&server, "/b.zip", &zip), &Cancel::never()).unwrap_err();
    server.clear_faults("/b.zip");
    server.set_fault("/b.zip", Fault::IgnoreRange);
    let info = agent.download(&request(&server, "/b.zip", &zip), &Cancel::never()).unwrap();
    dist.assert_tree(&phone.device.root().join("bundles").join(&info.id));
}

#[test]
fn a_changed_etag_restarts_from_zero() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let dist = Dist::generate(20, 1_000_000, 7);
    let zip = dist.zip();
    server.put("/b.zip", zip.clone());
    server.set_fault("/b.zip", Fault::CutAfter { bytes: 200_000, times: 1 });
    let agent = phone.open();
    agent.download(&request(&server, "/b.zip", &zip), &Cancel::never()).unwrap_err();
    server.put_with_etag("/b.zip", zip.clone(), "\"a-new-etag\"");
    let info = agent.download(&request(&server, "/b.zip", &zip), &Cancel::never()).unwrap();
    dist.assert_tree(&phone.device.root().join("bundles").join(&info.id));
    let last = server.requests_for("/b.zip").last().cloned().unwrap();
    assert!(last.range.is_some(), "it asked to resume, and the server sent the whole new object");
}

#[test]
fn a_cancelled_download_keeps_its_part_and_changes_nothing() {
    let phone = Phone::new(serde_json::json!({}));
    let server = TestServer::start();
    let zip = Dist::generate(10, 500_000, 8).zip();
    server.put("/b.zip", zip.clone());
    let agent = phone.open();
    let cancel = Cancel::new();
    cancel.cancel();
    let err = agent.download(&request(&server, "/b.zip", &zip), &cancel).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    assert!(phone.bundle_dirs().is_empty() && phone.staging_entries().is_empty());
}
