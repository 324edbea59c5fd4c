//! Transport policy and fault classification against a real loopback server.
//! Specification: plain http leaves the device only to loopback (or when explicitly allowed), redirects obey the
//! same rule and stop after three hops, server and network trouble is transient (never a rejection), documents
//! are size-capped, and a slow or stalled transfer is aborted by the watchdog with its part kept.

use airlock_core::Cancel;
use airlock_core::error::ErrorKind;
use airlock_core::http::{DownloadSpec, Http, HttpOptions};
use airlock_testkit::server::{Fault, TestServer};
use std::fs;
use std::path::PathBuf;

fn http() -> Http {
    Http::new(HttpOptions { response_timeout_ms: 10_000, ..HttpOptions::default() }).unwrap()
}

struct Paths {
    _dir: tempfile::TempDir,
    part: PathBuf,
    sidecar: PathBuf,
}

fn paths() -> Paths {
    let dir = tempfile::tempdir().unwrap();
    Paths { part: dir.path().join("k.part"), sidecar: dir.path().join("k.json"), _dir: dir }
}

fn spec<'a>(url: &'a str, p: &'a Paths) -> DownloadSpec<'a> {
    DownloadSpec {
        url,
        part_path: &p.part,
        sidecar_path: &p.sidecar,
        expected_sha256: None,
        expected_size: None,
        max_bytes: 16 << 20,
    }
}

fn no_progress() -> impl FnMut(u64, u64) {
    |_, _| {}
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_before_any_request() {
    let http = http();
    let url = "http://example.invalid/bundle.zip";
    let err = http.check_url(url).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("allowInsecureHttp"), "{err}");

    // The same refusal comes from every entry point, before DNS (.invalid never resolves: a lookup would
    // produce a connect error instead) and before anything is written to disk.
    let err = http.get_bytes(url, 1024, &Cancel::never()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
    let p = paths();
    let err = http.download(&spec(url, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
    assert!(!p.part.exists() && !p.sidecar.exists());

    let insecure = Http::new(HttpOptions { allow_insecure_http: true, ..HttpOptions::default() }).unwrap();
    assert!(insecure.check_url(url).is_ok());
}

#[test]
fn https_and_loopback_http_pass_the_transport_check_and_other_schemes_do_not() {
    let http = http();
    for ok in ["https://cdn.example.com/b.zip", "http://127.0.0.1:9/b", "http://localhost:9/b", "http://[::1]:9/b"] {
        assert!(http.check_url(ok).is_ok(), "{ok}");
    }
    for bad in ["ftp://example.com/b", "file:///etc/passwd", "http://10.0.0.2/b", "not a url"] {
        assert_eq!(http.check_url(bad).unwrap_err().kind(), ErrorKind::Usage, "{bad}");
    }
}

#[test]
fn a_redirect_to_plain_http_on_another_host_is_refused() {
    let server = TestServer::start();
    server.set_fault("/catalog.json", Fault::Redirect("http://example.invalid/catalog.json".into()));
    let err = http().get_bytes(&server.url("/catalog.json"), 1 << 16, &Cancel::never()).unwrap_err();
    assert_eq!(err.kind_name(), "network");
    assert!(err.to_string().contains("redirect refused"), "{err}");
    assert!(err.to_string().contains("example.invalid"), "{err}");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_redirect_within_loopback_is_followed() {
    let server = TestServer::start();
    server.put("/new.json", b"{\"ok\":true}".to_vec());
    server.set_fault("/old.json", Fault::Redirect(server.url("/new.json")));
    let bytes = http().get_bytes(&server.url("/old.json"), 1 << 16, &Cancel::never()).unwrap();
    assert_eq!(bytes, b"{\"ok\":true}");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/old.json", "/new.json"]);
}

#[test]
fn a_redirect_loop_stops_after_three_hops() {
    let server = TestServer::start();
    server.set_fault("/a", Fault::Redirect("/b".into()));
    server.set_fault("/b", Fault::Redirect("/a".into()));
    let err = http().get_bytes(&server.url("/a"), 1 << 16, &Cancel::never()).unwrap_err();
    assert_eq!(err.kind_name(), "network");
    assert!(err.to_string().contains("too many redirects"), "{err}");
    assert_eq!(server.request_count(), 4, "the first request and three followed hops");
}

#[test]
fn not_found_and_server_errors_are_transient_network_errors() {
    let server = TestServer::start();
    let http = http();
    let p = paths();

    let missing = server.url("/missing.zip");
    let err = http.download(&spec(&missing, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert_eq!(err.kind_name(), "network");
    assert!(err.to_string().contains("not found on the server"), "{err}");

    server.set_fault("/gone.json", Fault::Status(410));
    let err = http.get_bytes(&server.url("/gone.json"), 1024, &Cancel::never()).unwrap_err();
    assert!(err.is_transient() && err.to_string().contains("not found on the server"), "{err}");

    server.set_fault("/b.zip", Fault::Status(500));
    let url = server.url("/b.zip");
    let err = http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert!(err.is_transient() && err.to_string().contains("HTTP 500"), "{err}");

    server.set_fault("/b.zip", Fault::StatusWithRetryAfter { status: 429, retry_after_secs: 7 });
    let err = http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("HTTP 429, Retry-After: 7"), "{err}");
    assert_eq!(err.reject_code(), None);
}

#[test]
fn a_captive_portal_page_is_a_network_error_and_leaves_the_part_alone() {
    let server = TestServer::start();
    let body: Vec<u8> = (0..400_000u32).map(|i| (i * 7 % 251) as u8).collect();
    server.put("/b.zip", body.clone());
    server.set_fault("/b.zip", Fault::CutAfter { bytes: 150_000, times: 1 });
    let url = server.url("/b.zip");
    let p = paths();
    let http = http();
    assert!(http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap_err().is_transient());

    server.set_fault("/b.zip", Fault::Html200);
    let err = http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert_eq!(err.kind_name(), "network");
    assert!(err.to_string().contains("not a bundle") && err.to_string().contains("captive portal"), "{err}");
    assert_eq!(fs::metadata(&p.part).unwrap().len(), 150_000, "the part is untouched");

    server.clear_faults("/b.zip");
    let done = http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap();
    assert_eq!(done.resumed_from, 150_000);
    assert_eq!(fs::read(&p.part).unwrap(), body);
}

#[test]
fn get_bytes_enforces_max_bytes() {
    let server = TestServer::start();
    server.put("/catalog.json", vec![b'x'; 1000]);
    let url = server.url("/catalog.json");
    let http = http();
    let err = http.get_bytes(&url, 999, &Cancel::never()).unwrap_err();
    assert_eq!(err.reject_code(), Some("too_large"), "{err}");
    assert_eq!(http.get_bytes(&url, 1000, &Cancel::never()).unwrap().len(), 1000);
}

#[test]
fn get_bytes_honours_cancellation_before_any_request() {
    let server = TestServer::start();
    server.put("/c.json", b"{}".to_vec());
    let cancel = Cancel::new();
    cancel.cancel();
    let err = http().get_bytes(&server.url("/c.json"), 100, &cancel).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn the_watchdog_aborts_a_slow_drip_quickly_and_keeps_the_part() {
    let server = TestServer::start();
    server.put("/b.zip", vec![1u8; 200_000]);
    server.set_fault("/b.zip", Fault::SlowDrip { bytes_per_sec: 2_000 });
    let http = Http::new(HttpOptions {
        response_timeout_ms: 5_000,
        min_throughput_bytes_per_sec: 1_000_000,
        throughput_window_ms: 150,
        ..HttpOptions::default()
    })
    .unwrap();
    let url = server.url("/b.zip");
    let p = paths();
    let err = http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert_eq!(err.kind_name(), "network");
    assert!(err.to_string().contains("too slow") && err.to_string().contains("will resume"), "{err}");
    assert!(p.sidecar.exists());
    assert!(fs::metadata(&p.part).unwrap().len() < 200_000);
}

#[test]
fn the_overall_deadline_stops_a_steady_but_endless_transfer() {
    let server = TestServer::start();
    server.put("/b.zip", vec![1u8; 200_000]);
    server.set_fault("/b.zip", Fault::SlowDrip { bytes_per_sec: 4_000 });
    let http = Http::new(HttpOptions {
        response_timeout_ms: 5_000,
        min_throughput_bytes_per_sec: 0,
        overall_deadline_ms: 200,
        ..HttpOptions::default()
    })
    .unwrap();
    let url = server.url("/b.zip");
    let p = paths();
    let err = http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert_eq!(err.kind_name(), "network");
    assert!(err.to_string().contains("overall deadline"), "{err}");
}

#[test]
fn a_stalled_response_times_out_as_a_network_error() {
    let server = TestServer::start();
    server.put("/b.zip", vec![1u8; 50_000]);
    server.set_fault("/b.zip", Fault::Stall);
    let http = Http::new(HttpOptions { response_timeout_ms: 200, ..HttpOptions::default() }).unwrap();
    let url = server.url("/b.zip");
    let p = paths();
    let err = http.download(&spec(&url, &p), &Cancel::never(), &mut no_progress()).unwrap_err();
    assert_eq!(err.kind_name(), "network", "{err}");
    assert!(err.to_string().contains("no data arrived for 200 ms"), "{err}");
    assert!(err.to_string().contains("will retry later"), "nothing was received, so nothing is kept: {err}");
    assert!(p.sidecar.exists());
}
