//! Resumable downloads against a real loopback server that cuts, ignores ranges and changes objects.
//! Specification: a cut leaves a resumable part and sidecar; the next call resumes with Range + If-Range and the
//! result is byte-identical; anything that makes a resume unsafe restarts from zero instead of splicing.

use airlock_core::Cancel;
use airlock_core::error::ErrorKind;
use airlock_core::http::{DownloadSpec, Downloaded, Http, HttpOptions};
use airlock_testkit::server::{Fault, TestServer};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::PathBuf;

/// Seeded xorshift64* generator; the seed is printed so a failure can be replayed with AIRLOCK_TEST_SEED.
struct Rng(u64);

impl Rng {
    fn from_env_or_random(test: &str) -> Rng {
        let seed = std::env::var("AIRLOCK_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| getrandom::u64().unwrap());
        println!("{test}: seed {seed} (rerun with AIRLOCK_TEST_SEED={seed})");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct Fixture {
    server: TestServer,
    _dir: tempfile::TempDir,
    http: Http,
    part: PathBuf,
    sidecar: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let downloads = dir.path().join("downloads");
        Fixture {
            server: TestServer::start(),
            part: downloads.join("key.part"),
            sidecar: downloads.join("key.json"),
            _dir: dir,
            http: Http::new(HttpOptions { response_timeout_ms: 10_000, ..HttpOptions::default() }).unwrap(),
        }
    }

    fn spec<'a>(&'a self, url: &'a str, sha: Option<&'a str>, size: Option<u64>) -> DownloadSpec<'a> {
        DownloadSpec {
            url,
            part_path: &self.part,
            sidecar_path: &self.sidecar,
            expected_sha256: sha,
            expected_size: size,
            max_bytes: 64 << 20,
        }
    }

    fn fetch(&self, spec: &DownloadSpec<'_>) -> airlock_core::Result<Downloaded> {
        self.http.download(spec, &Cancel::never(), &mut |_, _| {})
    }

    fn part_len(&self) -> u64 {
        fs::metadata(&self.part).map(|m| m.len()).unwrap_or(0)
    }

    fn sidecar_json(&self) -> serde_json::Value {
        serde_json::from_slice(&fs::read(&self.sidecar).unwrap()).unwrap()
    }
}

#[test]
fn a_download_cut_at_a_random_offset_resumes_with_range_and_if_range_and_is_byte_identical() {
    let mut rng = Rng::from_env_or_random("random_cut");
    let len = (3 << 20) + rng.below(1 << 20) as usize;
    let body = rng.bytes(len);
    let cut = 1 + rng.below(len as u64 - 1);
    println!("body {len} bytes, cut after {cut}");
    let f = Fixture::new();
    f.server.put("/bundle.zip", body.clone());
    f.server.set_fault("/bundle.zip", Fault::CutAfter { bytes: cut, times: 1 });
    let url = f.server.url("/bundle.zip");
    let sha = sha256_hex(&body);
    let spec = f.spec(&url, Some(&sha), Some(len as u64));

    let err = f.fetch(&spec).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert_eq!(err.kind_name(), "network");
    assert!(err.to_string().contains("will resume"), "{err}");
    assert_eq!(f.part_len(), cut, "the part holds exactly the bytes received");
    let sidecar = f.sidecar_json();
    assert_eq!(sidecar["url"], url.as_str());
    assert_eq!(sidecar["sha256"], sha.as_str());
    assert_eq!(sidecar["size"], len as u64);
    let etag = sidecar["etag"].as_str().unwrap().to_owned();
    assert!(etag.starts_with('"'));

    let done = f.fetch(&spec).unwrap();
    assert_eq!(
        done,
        Downloaded { sha256: sha.clone(), size: len as u64, fetched: len as u64 - cut, resumed_from: cut }
    );
    assert_eq!(fs::read(&f.part).unwrap(), body);
    let log = f.server.requests_for("/bundle.zip");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].range, None);
    assert_eq!(log[1].range.as_deref(), Some(format!("bytes={cut}-").as_str()));
    assert_eq!(log[1].if_range.as_deref(), Some(etag.as_str()));
    assert_eq!(log[1].status, 206);
    assert!(f.server.body_bytes_sent() <= len as u64 + 64 * 1024);
}

#[test]
fn several_cuts_in_a_row_each_resume_where_the_last_one_stopped() {
    let mut rng = Rng::from_env_or_random("several_cuts");
    let body = rng.bytes(1 << 20);
    let step = 100_000 + rng.below(100_000);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    f.server.set_fault("/b.zip", Fault::CutAfter { bytes: step, times: 4 });
    let url = f.server.url("/b.zip");
    let sha = sha256_hex(&body);
    let spec = f.spec(&url, Some(&sha), None);

    for round in 1..=4u64 {
        let err = f.fetch(&spec).unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(f.part_len(), round * step);
    }
    let done = f.fetch(&spec).unwrap();
    assert_eq!(done.resumed_from, 4 * step);
    assert_eq!(done.sha256, sha);
    assert_eq!(fs::read(&f.part).unwrap(), body);
    assert_eq!(f.server.body_bytes_sent(), body.len() as u64, "no byte was fetched twice");
}

#[test]
fn a_200_answer_to_a_ranged_request_restarts_from_zero_without_appending() {
    let mut rng = Rng::from_env_or_random("ignore_range");
    let body = rng.bytes(700_000);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    f.server.set_fault("/b.zip", Fault::CutAfter { bytes: 300_000, times: 1 });
    f.server.add_fault("/b.zip", Fault::IgnoreRange);
    let url = f.server.url("/b.zip");
    let sha = sha256_hex(&body);
    let spec = f.spec(&url, Some(&sha), Some(body.len() as u64));

    assert!(f.fetch(&spec).unwrap_err().is_transient());
    let done = f.fetch(&spec).unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(done.fetched, body.len() as u64);
    assert_eq!(fs::read(&f.part).unwrap(), body, "the part was truncated, not appended to");
    let log = f.server.requests_for("/b.zip");
    assert_eq!(log[1].range.as_deref(), Some("bytes=300000-"));
    assert_eq!(log[1].status, 200);
    assert_eq!(log.len(), 2, "the restart used the same response");
}

#[test]
fn an_object_changed_on_the_server_restarts_cleanly_instead_of_splicing() {
    let mut rng = Rng::from_env_or_random("changed_object");
    let old = rng.bytes(500_000);
    let new = rng.bytes(600_000);
    let f = Fixture::new();
    f.server.put("/latest.zip", old);
    f.server.set_fault("/latest.zip", Fault::CutAfter { bytes: 200_000, times: 1 });
    let url = f.server.url("/latest.zip");
    let spec = f.spec(&url, None, None);

    assert!(f.fetch(&spec).unwrap_err().is_transient());
    let old_etag = f.sidecar_json()["etag"].as_str().unwrap().to_owned();
    f.server.put("/latest.zip", new.clone());
    let done = f.fetch(&spec).unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(done.sha256, sha256_hex(&new));
    assert_eq!(fs::read(&f.part).unwrap(), new);
    let log = f.server.requests_for("/latest.zip");
    assert_eq!(log[1].if_range.as_deref(), Some(old_etag.as_str()));
    assert_eq!(log[1].status, 200);
    assert_ne!(f.sidecar_json()["etag"].as_str().unwrap(), old_etag, "the sidecar follows the new ETag");
}

#[test]
fn a_changed_etag_for_the_same_bytes_restarts_cleanly() {
    let mut rng = Rng::from_env_or_random("changed_etag");
    let body = rng.bytes(400_000);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    f.server.set_fault("/b.zip", Fault::CutAfter { bytes: 123_456, times: 1 });
    f.server.add_fault("/b.zip", Fault::ChangeEtagAfterFirst);
    let url = f.server.url("/b.zip");
    let sha = sha256_hex(&body);
    let spec = f.spec(&url, Some(&sha), None);

    assert!(f.fetch(&spec).unwrap_err().is_transient());
    let done = f.fetch(&spec).unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(done.sha256, sha);
    assert_eq!(fs::read(&f.part).unwrap(), body);
    assert_eq!(f.server.requests_for("/b.zip")[1].status, 200);
}

#[test]
fn a_416_answer_deletes_the_part_and_restarts_with_one_fresh_request() {
    let mut rng = Rng::from_env_or_random("range_not_satisfiable");
    let long = rng.bytes(900_000);
    let short = rng.bytes(300_000);
    let f = Fixture::new();
    f.server.put_with_etag("/b.zip", long, "\"same\"");
    f.server.set_fault("/b.zip", Fault::CutAfter { bytes: 600_000, times: 1 });
    let url = f.server.url("/b.zip");
    let spec = f.spec(&url, None, None);

    assert!(f.fetch(&spec).unwrap_err().is_transient());
    assert_eq!(f.part_len(), 600_000);
    // A broken origin re-uses the ETag for shorter content: the range start is now past the end.
    f.server.put_with_etag("/b.zip", short.clone(), "\"same\"");
    let done = f.fetch(&spec).unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(fs::read(&f.part).unwrap(), short);
    let statuses: Vec<u16> = f.server.requests_for("/b.zip").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 416, 200]);
    assert_eq!(f.server.requests_for("/b.zip")[2].range, None);
}

#[test]
fn a_weak_etag_never_resumes() {
    let mut rng = Rng::from_env_or_random("weak_etag");
    let body = rng.bytes(300_000);
    let f = Fixture::new();
    f.server.put_with_etag("/b.zip", body.clone(), "W/\"v1\"");
    f.server.set_fault("/b.zip", Fault::CutAfter { bytes: 100_000, times: 1 });
    let url = f.server.url("/b.zip");
    let spec = f.spec(&url, None, None);

    assert!(f.fetch(&spec).unwrap_err().is_transient());
    assert_eq!(f.part_len(), 100_000);
    let done = f.fetch(&spec).unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(fs::read(&f.part).unwrap(), body);
    let second = &f.server.requests_for("/b.zip")[1];
    assert_eq!(second.range, None);
    assert_eq!(second.if_range, None);
}

#[test]
fn a_sidecar_for_another_url_or_checksum_is_not_resumed() {
    let mut rng = Rng::from_env_or_random("foreign_sidecar");
    let a = rng.bytes(300_000);
    let b = rng.bytes(300_000);
    let f = Fixture::new();
    f.server.put("/a.zip", a.clone());
    f.server.put("/b.zip", b.clone());
    f.server.set_fault("/a.zip", Fault::CutAfter { bytes: 100_000, times: 2 });
    let url_a = f.server.url("/a.zip");
    let url_b = f.server.url("/b.zip");

    // Another URL: the part left by /a.zip is discarded.
    assert!(f.fetch(&f.spec(&url_a, None, None)).unwrap_err().is_transient());
    let done = f.fetch(&f.spec(&url_b, None, None)).unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(fs::read(&f.part).unwrap(), b);
    assert_eq!(f.server.requests_for("/b.zip")[0].range, None);
    assert_eq!(f.sidecar_json()["url"], url_b.as_str());

    // Same URL but now with an expected checksum: the part fetched without one is not trusted.
    assert!(f.fetch(&f.spec(&url_a, None, None)).unwrap_err().is_transient());
    let sha_a = sha256_hex(&a);
    let done = f.fetch(&f.spec(&url_a, Some(&sha_a), None)).unwrap();
    assert_eq!(done.resumed_from, 0);
    assert_eq!(fs::read(&f.part).unwrap(), a);
    assert!(f.server.requests_for("/a.zip").iter().all(|r| r.range.is_none()));
}

#[test]
fn a_checksum_mismatch_is_rejected_and_deletes_part_and_sidecar() {
    let mut rng = Rng::from_env_or_random("checksum_mismatch");
    let body = rng.bytes(200_000);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    let url = f.server.url("/b.zip");
    let wrong = sha256_hex(b"something else");
    let err = f.fetch(&f.spec(&url, Some(&wrong), None)).unwrap_err();
    assert_eq!(err.reject_code(), Some("checksum_mismatch"));
    let msg = err.to_string();
    assert!(msg.contains(&wrong) && msg.contains(&sha256_hex(&body)), "{msg}");
    assert!(msg.contains("corrupt or was changed on the server; it was deleted"), "{msg}");
    // With a signed size the same mismatch is corrupt in transit: transient, never remembered.
    let err = f.fetch(&f.spec(&url, Some(&wrong), Some(body.len() as u64))).unwrap_err();
    assert_eq!(err.transit_code(), Some("checksum_mismatch"), "{err}");
    assert!(err.is_transient() && !f.part.exists() && !f.sidecar.exists(), "{err}");
    assert!(!f.part.exists());
    assert!(!f.sidecar.exists());
}

#[test]
fn a_size_different_from_the_expected_size_is_corrupt_in_transit_and_deleted() {
    let mut rng = Rng::from_env_or_random("size_mismatch");
    let body = rng.bytes(200_000);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    let url = f.server.url("/b.zip");
    let err = f.fetch(&f.spec(&url, None, Some(body.len() as u64 + 10))).unwrap_err();
    assert_eq!(err.transit_code(), Some("size_mismatch"), "{err}");
    assert!(!f.part.exists());
    assert!(!f.sidecar.exists());
}

#[test]
fn more_than_max_bytes_is_rejected_as_too_large_and_deleted() {
    let mut rng = Rng::from_env_or_random("too_large");
    let body = rng.bytes(200_000);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    let url = f.server.url("/b.zip");
    let mut spec = f.spec(&url, None, None);
    spec.max_bytes = body.len() as u64 - 1;
    let err = f.fetch(&spec).unwrap_err();
    assert_eq!(err.reject_code(), Some("too_large"), "{err}");
    assert!(!f.part.exists());
    assert!(!f.sidecar.exists());

    // A signed size smaller than what the server sends caps the transfer too: those bytes are corrupt in transit.
    let err = f.fetch(&f.spec(&url, None, Some(1000))).unwrap_err();
    assert_eq!(err.transit_code(), Some("too_long"), "{err}");
    assert!(!f.part.exists());
}

#[test]
fn cancelling_keeps_the_part_and_the_next_call_resumes_it() {
    let mut rng = Rng::from_env_or_random("cancel");
    let body = rng.bytes(2 << 20);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    let url = f.server.url("/b.zip");
    let sha = sha256_hex(&body);
    let spec = f.spec(&url, Some(&sha), Some(body.len() as u64));

    let cancel = Cancel::new();
    let err = f
        .http
        .download(&spec, &cancel, &mut |done, _| {
            if done >= 256 * 1024 {
                cancel.cancel();
            }
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    let kept = f.part_len();
    assert!(kept >= 256 * 1024 && kept < body.len() as u64, "kept {kept}");
    assert!(f.sidecar.exists());

    let done = f.fetch(&spec).unwrap();
    assert_eq!(done.resumed_from, kept);
    assert_eq!(fs::read(&f.part).unwrap(), body);
}

#[test]
fn progress_counts_resumed_bytes_and_ends_at_the_total() {
    let mut rng = Rng::from_env_or_random("progress");
    let body = rng.bytes(1 << 20);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    f.server.set_fault("/b.zip", Fault::CutAfter { bytes: 500_000, times: 1 });
    let url = f.server.url("/b.zip");
    let spec = f.spec(&url, None, None);
    assert!(f.fetch(&spec).unwrap_err().is_transient());

    let mut calls = Vec::new();
    f.http.download(&spec, &Cancel::never(), &mut |done, total| calls.push((done, total))).unwrap();
    let total = body.len() as u64;
    assert_eq!(calls.first(), Some(&(500_000, total)), "resumed bytes count as done");
    assert_eq!(calls.last(), Some(&(total, total)));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(calls.len() < 20, "throttled to roughly one call per 64 KiB: {}", calls.len());
}

#[test]
fn a_part_that_is_already_complete_is_verified_without_downloading_again() {
    let mut rng = Rng::from_env_or_random("already_complete");
    let body = rng.bytes(300_000);
    let f = Fixture::new();
    f.server.put("/b.zip", body.clone());
    let url = f.server.url("/b.zip");
    let sha = sha256_hex(&body);
    let spec = f.spec(&url, Some(&sha), Some(body.len() as u64));
    f.fetch(&spec).unwrap();
    let again = f.fetch(&spec).unwrap();
    assert_eq!(again.fetched, 0);
    assert_eq!(again.sha256, sha);
    assert_eq!(f.server.request_count(), 1);
    assert_eq!(fs::read(&f.part).unwrap(), body);
}
