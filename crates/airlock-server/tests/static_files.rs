//! `airlock serve` as a static host, spoken to by a real HTTP client: ETags, 304, ranges, If-Range, HEAD,
//! content types and cache policy.

mod common;

use common::{BUNDLE, CATALOG, client, pattern, put, raw, repo, start};
use sha2::{Digest, Sha256};

#[test]
fn a_catalog_is_served_with_a_strong_etag_json_type_and_no_cache() {
    let dir = repo();
    let server = start(&dir);
    let resp = client().get(format!("{}/{CATALOG}", server.url())).send().unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    let etag = h["etag"].to_str().unwrap().to_owned();
    let expected_tag =
        format!("\"{}\"", hex::encode(&Sha256::digest(br#"{"payload_type":"airlock.catalog.v1"}"#)[..16]));
    assert_eq!(etag, expected_tag);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["content-length"], "37");
    assert_eq!(resp.bytes().unwrap().as_ref(), br#"{"payload_type":"airlock.catalog.v1"}"#);
}

#[test]
fn content_addressed_files_are_immutable_and_typed_by_extension() {
    let dir = repo();
    let repo_path = dir.path().join("repo");
    put(&repo_path, "com.example.app/bundles/ff.zip.enc", b"sealed");
    put(&repo_path, "com.example.app/releases/7.json", b"{}");
    let server = start(&dir);
    let http = client();
    let get = |path: &str| http.get(format!("{}/{path}", server.url())).send().unwrap();
    let bundle = get(BUNDLE);
    assert_eq!(bundle.headers()["content-type"], "application/zip");
    assert_eq!(bundle.headers()["cache-control"], "public, max-age=31536000, immutable");
    let sealed = get("com.example.app/bundles/ff.zip.enc");
    assert_eq!(sealed.headers()["content-type"], "application/octet-stream");
    assert_eq!(sealed.headers()["cache-control"], "public, max-age=31536000, immutable");
    let release = get("com.example.app/releases/7.json");
    assert_eq!(release.headers()["content-type"], "application/json");
    assert_eq!(release.headers()["cache-control"], "public, max-age=31536000, immutable");
    let page = get("index.html");
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
}

#[test]
fn a_matching_if_none_match_answers_304_with_the_etag_and_no_body() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    let url = format!("{}/{CATALOG}", server.url());
    let etag = http.get(&url).send().unwrap().headers()["etag"].to_str().unwrap().to_owned();

    let cached = http.get(&url).header("If-None-Match", &etag).send().unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(cached.headers()["cache-control"], "no-cache");
    assert!(cached.bytes().unwrap().is_empty());

    for list in [format!("\"nope\", {etag}"), format!("W/{etag}"), "*".to_owned()] {
        let resp = http.get(&url).header("If-None-Match", list.as_str()).send().unwrap();
        assert_eq!(resp.status(), 304, "If-None-Match: {list}");
    }
    let changed = http.get(&url).header("If-None-Match", "\"something-else\"").send().unwrap();
    assert_eq!(changed.status(), 200);
    let counters = server.counters();
    assert_eq!(counters.not_modified, 4);
    assert_eq!(counters.requests, 6);
    // Only the two 200s carried a body (the exact byte count is asserted client-side above; the server-side
    // counter can lag a write that the kernel accepted after the client already closed under heavy load).
    assert!(counters.body_bytes <= 2 * 37, "no body for any 304: {}", counters.body_bytes);
}

#[test]
fn a_range_request_answers_206_with_exactly_those_bytes() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    let url = format!("{}/{BUNDLE}", server.url());
    let all = pattern(1000);

    let part = http.get(&url).header("Range", "bytes=100-199").send().unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 100-199/1000");
    assert_eq!(part.headers()["content-length"], "100");
    assert_eq!(part.bytes().unwrap().as_ref(), &all[100..200]);

    let open = http.get(&url).header("Range", "bytes=990-").send().unwrap();
    assert_eq!(open.status(), 206);
    assert_eq!(open.headers()["content-range"], "bytes 990-999/1000");
    assert_eq!(open.bytes().unwrap().as_ref(), &all[990..]);

    let past_end = http.get(&url).header("Range", "bytes=995-5000").send().unwrap();
    assert_eq!(past_end.headers()["content-range"], "bytes 995-999/1000");
    assert_eq!(past_end.bytes().unwrap().as_ref(), &all[995..]);
    assert_eq!(server.counters().partial, 3);
}

#[test]
fn a_suffix_range_answers_the_last_bytes() {
    let dir = repo();
    let server = start(&dir);
    let resp = client().get(format!("{}/{BUNDLE}", server.url())).header("Range", "bytes=-10").send().unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], "bytes 990-999/1000");
    assert_eq!(resp.bytes().unwrap().as_ref(), &pattern(1000)[990..]);
}

#[test]
fn an_unsatisfiable_range_answers_416_with_the_length() {
    let dir = repo();
    let server = start(&dir);
    let resp = client().get(format!("{}/{BUNDLE}", server.url())).header("Range", "bytes=1000-").send().unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["content-range"], "bytes */1000");
}

#[test]
fn multiple_or_malformed_ranges_answer_the_whole_file() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    for range in ["bytes=0-1,5-6", "bytes=9-3", "lines=1-2"] {
        let resp = http.get(format!("{}/{BUNDLE}", server.url())).header("Range", range).send().unwrap();
        assert_eq!(resp.status(), 200, "Range: {range}");
        assert_eq!(resp.bytes().unwrap().len(), 1000);
    }
}

#[test]
fn if_range_with_the_current_etag_answers_206_and_with_another_answers_200_full() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    let url = format!("{}/{BUNDLE}", server.url());
    let etag = http.head(&url).send().unwrap().headers()["etag"].to_str().unwrap().to_owned();

    let same = http.get(&url).header("Range", "bytes=500-").header("If-Range", &etag).send().unwrap();
    assert_eq!(same.status(), 206);
    assert_eq!(same.bytes().unwrap().as_ref(), &pattern(1000)[500..]);

    for other in ["\"0000\"".to_owned(), format!("W/{etag}"), "Wed, 21 Oct 2015 07:28:00 GMT".to_owned()] {
        let full = http.get(&url).header("Range", "bytes=500-").header("If-Range", other.as_str()).send().unwrap();
        assert_eq!(full.status(), 200, "If-Range: {other}");
        assert!(full.headers().get("content-range").is_none());
        assert_eq!(full.bytes().unwrap().as_ref(), pattern(1000).as_slice());
    }
}

#[test]
fn head_sends_the_get_headers_and_no_body() {
    let dir = repo();
    let server = start(&dir);
    let head = raw(server.addr(), format!("HEAD /{BUNDLE} HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n").as_bytes());
    assert_eq!(head.status, 200, "Range is ignored for HEAD");
    assert_eq!(head.header("content-length"), Some("1000"));
    assert_eq!(head.header("content-type"), Some("application/zip"));
    assert!(head.header("etag").is_some_and(|e| e.starts_with('"')));
    assert!(head.body.is_empty());
    let missing = raw(server.addr(), b"HEAD /nope.zip HTTP/1.1\r\n\r\n");
    assert_eq!(missing.status, 404);
    assert!(missing.body.is_empty());
    assert_eq!(server.counters().body_bytes, 0);
}

#[test]
fn the_etag_changes_when_a_catalog_is_replaced() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    let url = format!("{}/{CATALOG}", server.url());
    let old = http.get(&url).send().unwrap().headers()["etag"].to_str().unwrap().to_owned();
    let repo_path = dir.path().join("repo");
    put(&repo_path, "com.example.app/channels/next.tmp", br#"{"payload_type":"airlock.catalog.v1","serial":2}"#);
    std::fs::rename(repo_path.join("com.example.app/channels/next.tmp"), repo_path.join(CATALOG)).unwrap();

    let resp = http.get(&url).header("If-None-Match", &old).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_ne!(resp.headers()["etag"].to_str().unwrap(), old);
    assert_eq!(resp.bytes().unwrap().as_ref(), br#"{"payload_type":"airlock.catalog.v1","serial":2}"#);
}

#[test]
fn directories_missing_files_hidden_files_and_the_stats_database_are_not_served() {
    let dir = repo();
    let repo_path = dir.path().join("repo");
    put(&repo_path, ".git/config", b"secret");
    put(&repo_path, "com.example.app/.draft.json", b"secret");
    let server = start(&dir);
    assert!(repo_path.join("stats.sqlite3").is_file(), "the default stats database lives in the repo");
    let http = client();
    for path in [
        "",
        "com.example.app",
        "com.example.app/",
        "com.example.app/channels/",
        "com.example.app/channels/missing.json",
        ".git/config",
        "com.example.app/.draft.json",
        "stats.sqlite3",
        "stats.sqlite3-wal",
        "stats.sqlite3-shm",
    ] {
        let resp = http.get(format!("{}/{path}", server.url())).send().unwrap();
        assert_eq!(resp.status(), 404, "/{path}");
        assert!(!resp.text().unwrap().contains("secret"));
    }
}

#[test]
fn healthz_answers_ok_and_other_methods_are_refused() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    let health = http.get(format!("{}/healthz", server.url())).send().unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().unwrap(), "ok\n");
    let put = http.put(format!("{}/{CATALOG}", server.url())).body("x").send().unwrap();
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET, HEAD");
    let post = http.post(format!("{}/{CATALOG}", server.url())).body("x").send().unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(
        std::fs::read(dir.path().join("repo").join(CATALOG)).unwrap(),
        br#"{"payload_type":"airlock.catalog.v1"}"#
    );
}

#[test]
fn a_20_mb_bundle_streams_intact_and_ranges_deep_inside_it_work() {
    let dir = repo();
    let big = pattern(20 << 20);
    put(&dir.path().join("repo"), "com.example.app/bundles/big.zip", &big);
    let server = start(&dir);
    let http = client();
    let url = format!("{}/com.example.app/bundles/big.zip", server.url());
    let mut resp = http.get(&url).send().unwrap();
    assert_eq!(resp.headers()["content-length"], (20u64 << 20).to_string().as_str());
    // Stream it through a hasher rather than holding it.
    let mut hasher = Sha256::new();
    let copied = std::io::copy(&mut resp, &mut HashWriter(&mut hasher)).unwrap();
    assert_eq!(copied, 20 << 20);
    assert_eq!(hasher.finalize(), Sha256::digest(&big));

    let tail = http.get(&url).header("Range", "bytes=15000000-15000099").send().unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().unwrap().as_ref(), &big[15_000_000..15_000_100]);
    assert_eq!(server.counters().body_bytes, (20 << 20) + 100);
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
