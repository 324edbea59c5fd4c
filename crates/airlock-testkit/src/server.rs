//! Loopback HTTP/1.1 server with fault injection. Invariant: it serves exactly the bytes it was given (ETag,
//! Range, If-Range, If-None-Match as a CDN would), misbehaves only as told by the faults set per path, counts
//! every body byte it actually wrote, and stops all its threads when dropped (every wait is bounded).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

mod respond;
mod wire;

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
    /// A middlebox page in place of the body: other bytes of the same length, sent as
    /// `application/octet-stream` (the status, length and ETag look right).
    OtherBytes,
    /// A CDN that re-encodes the body: it is sent gzip-wrapped with `Content-Encoding: gzip` whatever the
    /// request's `Accept-Encoding` said.
    GzipEncoding,
    /// A cache that ignores `If-Range`: a ranged request gets a 206 with the asked `Content-Range`, but its bytes
    /// are spliced from another object.
    SplicedRange,
    /// A body without `Content-Length` that never ends: the object, then filler until the client hangs up
    /// (bounded at 1 GiB and the slow-behaviour limit).
    Endless,
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
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

    #[test]
    fn body_spoiling_faults_change_the_bytes_and_nothing_else_a_client_checks_first() {
        let server = TestServer::start();
        server.put("/c.zip", b"0123456789".to_vec());
        server.set_fault("/c.zip", Fault::OtherBytes);
        let other = raw(&server, "GET /c.zip HTTP/1.1\r\n\r\n");
        assert!(other.starts_with("HTTP/1.1 200") && other.contains("Content-Length: 10"), "{other}");
        assert!(other.contains("application/octet-stream") && other.ends_with("<html><bod"), "{other}");
        server.set_fault("/c.zip", Fault::GzipEncoding);
        let gz = raw(&server, "GET /c.zip HTTP/1.1\r\nAccept-Encoding: identity\r\n\r\n");
        assert!(gz.contains("Content-Encoding: gzip") && gz.contains("Content-Length: 33"), "{gz}");
        server.set_fault("/c.zip", Fault::SplicedRange);
        let spliced = raw(&server, "GET /c.zip HTTP/1.1\r\nRange: bytes=8-\r\n\r\n");
        assert!(spliced.starts_with("HTTP/1.1 206") && spliced.contains("Content-Range: bytes 8-9/10"), "{spliced}");
        assert!(!spliced.ends_with("89"), "{spliced}");
        server.set_fault("/c.zip", Fault::Endless);
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(b"GET /c.zip HTTP/1.1\r\n\r\n").unwrap();
        let mut head = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < head.len() {
            got += s.read(&mut head[got..]).unwrap();
        }
        let text = String::from_utf8_lossy(&head);
        assert!(!text.contains("Content-Length") && text.contains("0123456789   "), "an endless body");
    }
}
