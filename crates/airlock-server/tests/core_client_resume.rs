//! Our own downloader against our own server: `airlock_core::http::Http::download` resumes a truncated part with
//! `Range` + `If-Range`, and starts over when the bundle was replaced on the server (the ETag no longer matches).

mod common;

use airlock_core::Cancel;
use airlock_core::http::{DownloadSpec, Http, HttpOptions};
use common::{pattern, put, repo, start};
use sha2::{Digest, Sha256};
use std::fs::OpenOptions;
use std::path::Path;

const LEN: usize = 3 << 20;
const HALF: u64 = (LEN / 2) as u64;

fn download(
    http: &Http,
    url: &str,
    dir: &Path,
    sha: Option<&str>,
) -> airlock_core::Result<airlock_core::http::Downloaded> {
    let part = dir.join("downloads/k.part");
    let sidecar = dir.join("downloads/k.json");
    let spec = DownloadSpec {
        url,
        part_path: &part,
        sidecar_path: &sidecar,
        expected_sha256: sha,
        expected_size: None,
        max_bytes: 64 << 20,
    };
    http.download(&spec, &Cancel::never(), &mut |_, _| {})
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

#[test]
fn the_core_downloader_resumes_a_truncated_part_from_this_server() {
    let dir = repo();
    let bundle = pattern(LEN);
    put(&dir.path().join("repo"), "com.example.app/bundles/big.zip", &bundle);
    let sha = hex::encode(Sha256::digest(&bundle));
    let server = start(&dir);
    let url = format!("{}/com.example.app/bundles/big.zip", server.url());
    let device = tempfile::tempdir().unwrap();
    let http = Http::new(HttpOptions::default()).unwrap();

    let first = download(&http, &url, device.path(), Some(&sha)).unwrap();
    assert_eq!((first.size, first.resumed_from, first.sha256.as_str()), (LEN as u64, 0, sha.as_str()));

    // As if the connection had broken half-way: the part keeps the first half, the sidecar its strong ETag.
    let part = device.path().join("downloads/k.part");
    truncate(&part, HALF);
    let resumed = download(&http, &url, device.path(), Some(&sha)).unwrap();
    assert_eq!(resumed.resumed_from, HALF);
    assert_eq!(resumed.fetched, LEN as u64 - HALF);
    assert_eq!(resumed.sha256, sha);
    assert_eq!(std::fs::read(&part).unwrap(), bundle);

    let counters = server.counters();
    assert_eq!(counters.partial, 1, "the resume was answered with 206");
    assert_eq!(counters.body_bytes, LEN as u64 + (LEN as u64 - HALF));
}

#[test]
fn the_core_downloader_starts_over_when_the_bundle_changed_on_the_server() {
    let dir = repo();
    let repo_path = dir.path().join("repo");
    put(&repo_path, "com.example.app/bundles/latest.zip", &pattern(LEN));
    let server = start(&dir);
    let url = format!("{}/com.example.app/bundles/latest.zip", server.url());
    let device = tempfile::tempdir().unwrap();
    let http = Http::new(HttpOptions::default()).unwrap();

    download(&http, &url, device.path(), None).unwrap();
    let part = device.path().join("downloads/k.part");
    truncate(&part, HALF);
    let replaced: Vec<u8> = pattern(LEN).iter().map(|b| b ^ 0x5a).collect();
    put(&repo_path, "com.example.app/bundles/latest.zip", &replaced);

    let again = download(&http, &url, device.path(), None).unwrap();
    assert_eq!(again.resumed_from, 0, "If-Range did not match, so the whole new file was sent");
    assert_eq!(again.sha256, hex::encode(Sha256::digest(&replaced)));
    assert_eq!(std::fs::read(&part).unwrap(), replaced, "no old bytes are left in the part");
    assert_eq!(server.counters().partial, 0);
}
