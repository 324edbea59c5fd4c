//! Loopback HTTP/1.1 server with fault injection. Invariant: it serves exactly the bytes it was given (ETag,
//! Range, If-Range, If-None-Match as a CDN would), misbehaves only as told by the faults set per path or by chaos
//! mode (`chaos.rs`), counts every body byte it actually wrote, and stops all its threads when dropped (every wait
//! is bounded).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

mod chaos;
mod respond;
mod wire;

pub use chaos::{Chaos, ChaosProxy, Spoil};

/// A misbehaviour injected for one path. Several faults may be active on a path at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Send the headers (with the full Content-Length) then close after `bytes` body bytes, for the next
    /// `times` requests.
    CutAfter { bytes: u64, times: u32 },
    /// Ignore `Range`: always answer 200 with the full body.
    IgnoreRange,
    /// Every request after the first sees a different ETag (as if the object was re-uploaded).
    ChangeEtagAfterFirst,
    /// Answer with this status and a short text body.
    Status(u16),
    /// Answer with this status and `Retry-After: retry_after_secs`.
    StatusWithRetryAfter { status: u16, retry_after_secs: u64 },
    /// A captive portal: 200 with a `text/html` login page.
    Html200,
    /// Send the body at about this rate (bounded to a few seconds; for watchdog tests with tiny windows).
    SlowDrip { bytes_per_sec: u64 },
    /// 302 to this location.
    Redirect(String),
    /// Send the headers, then nothing until the client goes away (bounded).
    Stall,
    /// Send the headers (full Content-Length) and `bytes` body bytes, then reset the connection (TCP RST).
    ResetAfter { bytes: u64 },
    /// Read the request, then send nothing at all, not even a status line, until the client goes away (bounded).
    StallBeforeHeaders,
    /// Declare this Content-Length whatever the body's length; send at most that many body bytes, then close.
    DeclaredLength(u64),
    /// Answer a Range request with a 206 whose Content-Range starts 7 bytes after the bytes actually sent.
    WrongContentRange,
    /// Answer a request without Range with 206, a correct `Content-Range: bytes 0-…` and half the body.
    PartialWithoutRange,
    /// Ignore If-Range: answer a Range request with a 206 cut from another object (the body reversed) under
    /// another ETag, as a CDN splicing a re-uploaded object does.
    SpliceOnRange,
    /// Answer with `Transfer-Encoding: chunked` and a malformed chunk-size line after the first chunk.
    BadChunked,
    /// Answer 200 with `Content-Encoding: gzip` and the gzip of the body (a CDN re-encoding it; Range ignored).
    Gzip,
    /// Answer 200 with `Content-Encoding: gzip` and about 1 MiB that inflates to 1 GiB of zeros.
    GzipBomb,
    /// Answer 200 without Content-Length: the object, then filler until the client goes away (bounded at 1 GiB).
    Endless,
    /// A middlebox page: 200 with an HTML login page labelled `application/octet-stream`.
    HtmlAsOctetStream,
    /// Answer with this status and `Retry-After: value` as given (an HTTP-date, or anything a server may send).
    StatusWithRetryAfterValue { status: u16, value: String },
    /// A middlebox page in place of the body: other bytes of the same length, sent as
    /// `application/octet-stream` (the status, length and ETag look right).
    OtherBytes,
    /// [`Fault::OtherBytes`] for the next `times` requests only (a spoil in transit that a refetch does not meet).
    OtherBytesTimes(u32),
    /// Answer with this status, content type and body (a server's own error document).
    StatusWithBody { status: u16, content_type: String, body: Vec<u8> },
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub if_none_match: Option<String>,
    /// Status code answered.
    pub status: u16,
}

#[derive(Clone)]
struct Object {
    body: Arc<Vec<u8>>,
    etag: String,
}

#[derive(Default)]
struct State {
    objects: HashMap<String, Object>,
    faults: HashMap<String, Vec<Fault>>,
    hits: HashMap<String, u64>,
    log: Vec<RequestRecord>,
    sent_by_path: HashMap<String, u64>,
    sent_total: u64,
    chaos: Option<chaos::ChaosState>,
}

struct Shared {
    stop: AtomicBool,
    state: Mutex<State>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 with an in-memory set of objects.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds 127.0.0.1 on a free port and starts accepting.
    pub fn start() -> TestServer {
        TestServer::start_on("127.0.0.1:0")
    }

    /// Binds `addr` (a loopback address such as `127.0.0.1:0` or `[::1]:0`) and starts accepting.
    pub fn start_on(addr: &str) -> TestServer {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            workers: Mutex::new(Vec::new()),
        });
        let acceptor_shared = shared.clone();
        let acceptor = thread::Builder::new()
            .name("testkit-http-accept".into())
            .spawn(move || accept_loop(listener, acceptor_shared))
            .expect("spawn acceptor");
        TestServer { addr, shared, acceptor: Some(acceptor) }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>` (a leading `/` is added when missing).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, normalize(path))
    }

    /// Serves `bytes` at `path` with a strong ETag derived from the content.
    pub fn put(&self, path: &str, bytes: impl Into<Vec<u8>>) {
        let body: Vec<u8> = bytes.into();
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..8]));
        self.put_with_etag(path, body, &etag);
    }

    /// Serves `bytes` at `path` with the given ETag header value (e.g. `W/"x"` for a weak one).
    pub fn put_with_etag(&self, path: &str, bytes: impl Into<Vec<u8>>, etag: &str) {
        let object = Object { body: Arc::new(bytes.into()), etag: etag.to_owned() };
        self.shared.state().objects.insert(normalize(path), object);
    }

    /// Serves every file below `dir` at `/<path relative to dir>` (a publisher repo written by `airlock`).
    pub fn put_dir(&self, dir: &std::path::Path) {
        fn walk(server: &TestServer, root: &std::path::Path, dir: &std::path::Path) {
            for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(server, root, &p);
                } else {
                    let rel = p.strip_prefix(root).expect("prefix").to_string_lossy().into_owned();
                    server.put(&format!("/{rel}"), std::fs::read(&p).expect("read"));
                }
            }
        }
        walk(self, dir, dir);
    }

    /// Stops serving `path` (404 afterwards).
    pub fn remove(&self, path: &str) {
        self.shared.state().objects.remove(&normalize(path));
    }

    /// Replaces the faults of `path` with this one.
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.shared.state().faults.insert(normalize(path), vec![fault]);
    }

    /// Adds a fault to those already active on `path`.
    pub fn add_fault(&self, path: &str, fault: Fault) {
        self.shared.state().faults.entry(normalize(path)).or_default().push(fault);
    }

    /// Removes every fault of `path`.
    pub fn clear_faults(&self, path: &str) {
        self.shared.state().faults.remove(&normalize(path));
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.state().log.clone()
    }

    /// Requests received for `path` (query ignored).
    pub fn requests_for(&self, path: &str) -> Vec<RequestRecord> {
        let path = normalize(path);
        self.requests().into_iter().filter(|r| strip_query(&r.path) == path).collect()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.shared.state().log.len()
    }

    /// Body bytes actually written to clients, all paths.
    pub fn body_bytes_sent(&self) -> u64 {
        self.shared.state().sent_total
    }

    /// Body bytes actually written to clients for `path`.
    pub fn body_bytes_sent_for(&self, path: &str) -> u64 {
        self.shared.state().sent_by_path.get(&normalize(path)).copied().unwrap_or(0)
    }

    /// Clears the request log and the byte counters (objects and faults stay).
    pub fn reset_counters(&self) {
        let mut state = self.shared.state();
        state.log.clear();
        state.sent_by_path.clear();
        state.sent_total = 0;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = std::mem::take(&mut *self.shared.workers.lock().unwrap_or_else(|p| p.into_inner()));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped() {
            break;
        }
        let Ok(stream) = stream else { continue };
        if shared.state().chaos.is_some() {
            bound_in_flight(&stream);
        }
        let worker_shared = shared.clone();
        let spawned =
            thread::Builder::new().name("testkit-http-conn".into()).spawn(move || wire::handle(&worker_shared, stream));
        if let Ok(handle) = spawned {
            let mut workers = shared.workers.lock().unwrap_or_else(|p| p.into_inner());
            workers.retain(|h| !h.is_finished());
            workers.push(handle);
        }
    }
}

/// Loopback socket buffers absorb a whole bundle the moment it is written, so a client killed right after its
/// request would count as having been sent everything. A small send buffer bounds the bytes in flight to what a
/// real network holds (about a bandwidth-delay product), so the bytes counted per client are close to the bytes it
/// received. Only in chaos mode (the fleet test counts bytes per device under SIGKILLs).
fn bound_in_flight(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 8 * 1024;
    // SAFETY: a valid socket descriptor and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn normalize(path: &str) -> String {
    if path.starts_with('/') { path.to_owned() } else { format!("/{path}") }
}

fn strip_query(target: &str) -> String {
    target.split(['?', '#']).next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn raw(server: &TestServer, request: &str) -> String {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn serves_ranges_and_conditional_requests_like_a_cdn() {
        let server = TestServer::start();
        server.put("/a.bin", b"0123456789".to_vec());
        let full = raw(&server, "GET /a.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(full.starts_with("HTTP/1.1 200"), "{full}");
        assert!(full.ends_with("0123456789"));
        let etag = full.lines().find_map(|l| l.strip_prefix("ETag: ")).unwrap().to_owned();
        let part = raw(&server, "GET /a.bin HTTP/1.1\r\nRange: bytes=4-\r\n\r\n");
        assert!(part.starts_with("HTTP/1.1 206") && part.contains("Content-Range: bytes 4-9/10"), "{part}");
        assert!(part.ends_with("456789"));
        let mismatch = raw(&server, "GET /a.bin HTTP/1.1\r\nRange: bytes=4-\r\nIf-Range: \"other\"\r\n\r\n");
        assert!(mismatch.starts_with("HTTP/1.1 200"));
        let cached = raw(&server, &format!("GET /a.bin HTTP/1.1\r\nIf-None-Match: {etag}\r\n\r\n"));
        assert!(cached.starts_with("HTTP/1.1 304"));
        let beyond = raw(&server, "GET /a.bin HTTP/1.1\r\nRange: bytes=10-\r\n\r\n");
        assert!(beyond.starts_with("HTTP/1.1 416"));
        assert_eq!(server.request_count(), 5);
        assert_eq!(server.body_bytes_sent_for("/a.bin"), 10 + 6 + 10);
    }

    #[test]
    fn cut_after_sends_only_the_first_bytes_the_given_number_of_times() {
        let server = TestServer::start();
        server.put("/b.zip", vec![7u8; 100]);
        server.set_fault("/b.zip", Fault::CutAfter { bytes: 30, times: 1 });
        let cut = raw(&server, "GET /b.zip HTTP/1.1\r\n\r\n");
        assert!(cut.contains("Content-Length: 100") && cut.contains("application/zip"));
        let whole = raw(&server, "GET /b.zip HTTP/1.1\r\n\r\n");
        assert!(whole.ends_with(&"\u{7}".repeat(100)));
        assert_eq!(server.body_bytes_sent(), 130);
    }

    fn raw_bytes(server: &TestServer, request: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let end = out.windows(4).position(|w| w == b"\r\n\r\n").map_or(out.len(), |p| p + 4);
        (String::from_utf8_lossy(&out[..end]).into_owned(), out[end..].to_vec())
    }

    #[test]
    fn framing_faults_lie_about_lengths_ranges_and_encodings_as_told() {
        let server = TestServer::start();
        let body: Vec<u8> = (0..100u8).collect();
        server.put("/o.bin", body.clone());
        let get = "GET /o.bin HTTP/1.1\r\n\r\n";
        server.set_fault("/o.bin", Fault::DeclaredLength(40));
        let (head, got) = raw_bytes(&server, get);
        assert!(head.contains("Content-Length: 40") && got == body[..40], "{head}");
        server.set_fault("/o.bin", Fault::DeclaredLength(400));
        let (head, got) = raw_bytes(&server, get);
        assert!(head.contains("Content-Length: 400") && got == body, "{head}");
        server.set_fault("/o.bin", Fault::PartialWithoutRange);
        let (head, got) = raw_bytes(&server, get);
        assert!(head.starts_with("HTTP/1.1 206") && head.contains("Content-Range: bytes 0-49/100"), "{head}");
        assert_eq!(got, body[..50]);
        server.set_fault("/o.bin", Fault::WrongContentRange);
        let (head, got) = raw_bytes(&server, "GET /o.bin HTTP/1.1\r\nRange: bytes=10-\r\n\r\n");
        assert!(head.contains("Content-Range: bytes 17-99/100") && got == body[10..], "{head}");
        server.set_fault("/o.bin", Fault::SpliceOnRange);
        let (head, got) = raw_bytes(&server, "GET /o.bin HTTP/1.1\r\nRange: bytes=90-\r\nIf-Range: \"old\"\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 206") && head.contains("-spliced"), "{head}");
        assert_eq!(got, (0..10u8).rev().collect::<Vec<_>>());
        server.set_fault("/o.bin", Fault::BadChunked);
        let (head, got) = raw_bytes(&server, get);
        assert!(head.contains("Transfer-Encoding: chunked") && !head.contains("Content-Length"), "{head}");
        assert!(String::from_utf8_lossy(&got).contains("zz-not-a-chunk-size"));
        server.set_fault("/o.bin", Fault::Gzip);
        let (head, got) = raw_bytes(&server, get);
        assert!(head.contains("Content-Encoding: gzip"), "{head}");
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&got[..]).read_to_end(&mut inflated).unwrap();
        assert_eq!(inflated, body);
        server.set_fault("/o.bin", Fault::HtmlAsOctetStream);
        let (head, got) = raw_bytes(&server, get);
        assert!(head.contains("application/octet-stream") && got.starts_with(b"<!doctype html>"), "{head}");
    }

    #[test]
    fn a_reset_cuts_the_body_and_an_endless_body_goes_on_until_the_client_leaves() {
        let server = TestServer::start();
        server.put("/r.bin", vec![1u8; 50_000]);
        server.set_fault("/r.bin", Fault::ResetAfter { bytes: 1000 });
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(b"GET /r.bin HTTP/1.1\r\n\r\n").unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(out.len() < 2000, "at most the head and 1000 body bytes arrive");
        server.set_fault("/r.bin", Fault::Endless);
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(b"GET /r.bin HTTP/1.1\r\n\r\n").unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        while total < 3 << 20 {
            total += s.read(&mut buf).unwrap();
        }
        drop(s);
        assert!(total >= 3 << 20, "more bytes than the object holds");
    }

    #[test]
    fn a_post_gets_the_stored_answer_or_the_fault() {
        let server = TestServer::start();
        server.put("/stats", br#"{"status":"ok"}"#.to_vec());
        let post = "POST /stats HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]";
        let (head, got) = raw_bytes(&server, post);
        assert!(head.starts_with("HTTP/1.1 200") && got == br#"{"status":"ok"}"#, "{head}");
        server.set_fault("/stats", Fault::Status(503));
        assert!(raw_bytes(&server, post).0.starts_with("HTTP/1.1 503"));
    }

    #[test]
    fn it_serves_on_ipv6_loopback() {
        let server = TestServer::start_on("[::1]:0");
        server.put("/six", b"6".to_vec());
        assert!(server.url("/six").starts_with("http://[::1]:"));
        assert_eq!(raw_bytes(&server, "GET /six HTTP/1.1\r\n\r\n").1, b"6");
    }
}
