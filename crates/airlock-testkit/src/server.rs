//! Loopback HTTP/1.1 server with fault injection. Invariant: it serves exactly the bytes it was given (ETag,
//! Range, If-Range, If-None-Match as a CDN would), misbehaves only as told by the faults set per path, counts
//! every body byte it actually wrote, and stops all its threads when dropped (every wait is bounded).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Socket timeout used to poll the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Upper bound for any single slow behaviour (drip, stall, blocked write, reading a request).
const MAX_SLOW: Duration = Duration::from_secs(10);
/// Body bytes written per `write` call.
const CHUNK: usize = 16 * 1024;

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
        TestServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
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
        let object = Object {
            body: Arc::new(bytes.into()),
            etag: etag.to_owned(),
        };
        self.shared.state().objects.insert(normalize(path), object);
    }

    /// Stops serving `path` (404 afterwards).
    pub fn remove(&self, path: &str) {
        self.shared.state().objects.remove(&normalize(path));
    }

    /// Replaces the faults of `path` with this one.
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.shared
            .state()
            .faults
            .insert(normalize(path), vec![fault]);
    }

    /// Adds a fault to those already active on `path`.
    pub fn add_fault(&self, path: &str, fault: Fault) {
        self.shared
            .state()
            .faults
            .entry(normalize(path))
            .or_default()
            .push(fault);
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
        self.requests()
            .into_iter()
            .filter(|r| strip_query(&r.path) == path)
            .collect()
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
        self.shared
            .state()
            .sent_by_path
            .get(&normalize(path))
            .copied()
            .unwrap_or(0)
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
        let workers = std::mem::take(
            &mut *self
                .shared
                .workers
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
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
        let spawned = thread::Builder::new()
            .name("testkit-http-conn".into())
            .spawn(move || handle(&worker_shared, stream));
        if let Ok(handle) = spawned {
            let mut workers = shared.workers.lock().unwrap_or_else(|p| p.into_inner());
            workers.retain(|h| !h.is_finished());
            workers.push(handle);
        }
    }
}

fn normalize(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

fn strip_query(target: &str) -> String {
    target.split(['?', '#']).next().unwrap_or("").to_owned()
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// How the body is delivered.
enum Delivery {
    Full,
    Cut(u64),
    Drip(u64),
    Stall,
}

struct Plan {
    status: u16,
    headers: Vec<(String, String)>,
    body: Arc<Vec<u8>>,
    range: (usize, usize),
    delivery: Delivery,
}

impl Plan {
    fn simple(status: u16, content_type: &str, body: &[u8]) -> Plan {
        Plan {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Arc::new(body.to_vec()),
            range: (0, body.len()),
            delivery: Delivery::Full,
        }
    }
}

fn handle(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(POLL));
    let _ = stream.set_nodelay(true);
    let Some(req) = read_request(shared, &mut stream) else {
        return;
    };
    let path = strip_query(&req.target);
    let plan = plan(shared, &req, &path);
    let head_only = req.method == "HEAD";
    let mut head = format!("HTTP/1.1 {} {}\r\n", plan.status, reason(plan.status));
    for (k, v) in &plan.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let (from, to) = plan.range;
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        to - from
    ));
    if write_all(shared, &mut stream, head.as_bytes()).is_err() {
        return;
    }
    if !head_only {
        let body = &plan.body[from..to];
        match plan.delivery {
            Delivery::Full => send_body(shared, &mut stream, &path, body, None),
            Delivery::Cut(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX).min(body.len());
                send_body(shared, &mut stream, &path, &body[..n], None)
            }
            Delivery::Drip(rate) => send_body(shared, &mut stream, &path, body, Some(rate)),
            Delivery::Stall => wait_for_close(shared, &mut stream, MAX_SLOW),
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    wait_for_close(shared, &mut stream, Duration::from_secs(2));
}

/// Reads one request head (bounded in size and time).
fn read_request(shared: &Shared, stream: &mut TcpStream) -> Option<Request> {
    let started = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 64 * 1024 || shared.stopped() || started.elapsed() > MAX_SLOW {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return None,
        }
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        target,
        headers,
    })
}

/// Decides the answer, applying faults, and logs the request.
fn plan(shared: &Shared, req: &Request, path: &str) -> Plan {
    let mut state = shared.state();
    let hit = {
        let hits = state.hits.entry(path.to_owned()).or_insert(0);
        *hits += 1;
        *hits - 1
    };
    let plan = decide(&mut state, req, path, hit);
    state.log.push(RequestRecord {
        method: req.method.clone(),
        path: req.target.clone(),
        range: req.header("Range"),
        if_range: req.header("If-Range"),
        if_none_match: req.header("If-None-Match"),
        status: plan.status,
    });
    plan
}

fn decide(state: &mut State, req: &Request, path: &str, hit: u64) -> Plan {
    if req.method != "GET" && req.method != "HEAD" {
        return Plan::simple(405, "text/plain", b"method not allowed");
    }
    let mut delivery = Delivery::Full;
    let mut ignore_range = false;
    let mut change_etag = false;
    if let Some(faults) = state.faults.get_mut(path) {
        for fault in faults.iter_mut() {
            match fault {
                Fault::Status(code) => {
                    return Plan::simple(*code, "text/plain", b"injected status");
                }
                Fault::StatusWithRetryAfter {
                    status,
                    retry_after_secs,
                } => {
                    let mut plan = Plan::simple(*status, "text/plain", b"injected status");
                    plan.headers
                        .push(("Retry-After".into(), retry_after_secs.to_string()));
                    return plan;
                }
                Fault::Redirect(to) => {
                    let mut plan = Plan::simple(302, "text/plain", b"moved");
                    plan.headers.push(("Location".into(), to.clone()));
                    return plan;
                }
                Fault::Html200 => {
                    return Plan::simple(
                        200,
                        "text/html; charset=utf-8",
                        b"<!doctype html><title>Sign in to Wi-Fi</title><form>login</form>",
                    );
                }
                Fault::IgnoreRange => ignore_range = true,
                Fault::ChangeEtagAfterFirst => change_etag = hit >= 1,
                Fault::CutAfter { bytes, times } => {
                    if *times > 0 {
                        *times -= 1;
                        delivery = Delivery::Cut(*bytes);
                    }
                }
                Fault::SlowDrip { bytes_per_sec } => delivery = Delivery::Drip(*bytes_per_sec),
                Fault::Stall => delivery = Delivery::Stall,
            }
        }
        faults.retain(|f| !matches!(f, Fault::CutAfter { times: 0, .. }));
    }
    let Some(object) = state.objects.get(path).cloned() else {
        return Plan::simple(404, "text/plain", b"not found");
    };
    let etag = if change_etag {
        format!(
            "\"{}-changed{hit}\"",
            object.etag.trim_start_matches("W/").trim_matches('"')
        )
    } else {
        object.etag.clone()
    };
    let len = object.body.len();
    let mut headers = vec![
        ("Content-Type".to_owned(), content_type(path).to_owned()),
        ("ETag".to_owned(), etag.clone()),
        ("Accept-Ranges".to_owned(), "bytes".to_owned()),
    ];
    if req
        .header("If-None-Match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Plan {
            status: 304,
            headers,
            body: Arc::new(Vec::new()),
            range: (0, 0),
            delivery: Delivery::Full,
        };
    }
    let if_range_ok = req
        .header("If-Range")
        .is_none_or(|v| v.trim() == etag && !etag.starts_with("W/"));
    let range = req
        .header("Range")
        .filter(|_| !ignore_range && if_range_ok)
        .and_then(|r| parse_range(&r));
    let (status, from, to) = match range {
        Some((a, _)) if a >= len as u64 => {
            headers.push(("Content-Range".into(), format!("bytes */{len}")));
            return Plan {
                status: 416,
                headers,
                body: Arc::new(Vec::new()),
                range: (0, 0),
                delivery: Delivery::Full,
            };
        }
        Some((a, b)) => {
            let a = a as usize;
            let b = b.map_or(len - 1, |b| (b as usize).min(len - 1));
            if b < a {
                (200, 0, len)
            } else {
                headers.push(("Content-Range".into(), format!("bytes {a}-{b}/{len}")));
                (206, a, b + 1)
            }
        }
        None => (200, 0, len),
    };
    Plan {
        status,
        headers,
        body: object.body,
        range: (from, to),
        delivery,
    }
}

/// `bytes=a-` or `bytes=a-b` (single range only).
fn parse_range(value: &str) -> Option<(u64, Option<u64>)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let a = a.trim().parse().ok()?;
    let b = b.trim();
    let b = if b.is_empty() {
        None
    } else {
        Some(b.parse().ok()?)
    };
    Some((a, b))
}

fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "zip" => "application/zip",
        "json" => "application/json",
        "html" => "text/html",
        _ => "application/octet-stream",
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Writes everything, retrying timeouts until stopped or `MAX_SLOW` passes.
fn write_all(shared: &Shared, stream: &mut TcpStream, mut bytes: &[u8]) -> Result<usize, ()> {
    let started = Instant::now();
    let mut written = 0;
    while !bytes.is_empty() {
        if shared.stopped() || started.elapsed() > MAX_SLOW {
            return Err(());
        }
        match stream.write(bytes) {
            Ok(0) => return Err(()),
            Ok(n) => {
                written += n;
                bytes = &bytes[n..];
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return Err(()),
        }
    }
    Ok(written)
}

/// Sends `body` in chunks (at `rate` bytes/s when given), counting what was written.
fn send_body(shared: &Shared, stream: &mut TcpStream, path: &str, body: &[u8], rate: Option<u64>) {
    let started = Instant::now();
    let step = match rate {
        Some(rate) => usize::try_from((rate / 20).max(1))
            .unwrap_or(CHUNK)
            .min(CHUNK),
        None => CHUNK,
    };
    for piece in body.chunks(step) {
        if rate.is_some() {
            if started.elapsed() > MAX_SLOW || shared.stopped() {
                return;
            }
            thread::sleep(POLL);
        }
        let result = write_all(shared, stream, piece);
        let mut state = shared.state();
        let n = match result {
            Ok(n) => n as u64,
            Err(()) => return,
        };
        *state.sent_by_path.entry(path.to_owned()).or_insert(0) += n;
        state.sent_total += n;
    }
}

/// Waits until the peer closes the connection, the server stops, or `limit` passes.
fn wait_for_close(shared: &Shared, stream: &mut TcpStream, limit: Duration) {
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    while !shared.stopped() && started.elapsed() < limit {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let etag = full
            .lines()
            .find_map(|l| l.strip_prefix("ETag: "))
            .unwrap()
            .to_owned();
        let part = raw(&server, "GET /a.bin HTTP/1.1\r\nRange: bytes=4-\r\n\r\n");
        assert!(
            part.starts_with("HTTP/1.1 206") && part.contains("Content-Range: bytes 4-9/10"),
            "{part}"
        );
        assert!(part.ends_with("456789"));
        let mismatch = raw(
            &server,
            "GET /a.bin HTTP/1.1\r\nRange: bytes=4-\r\nIf-Range: \"other\"\r\n\r\n",
        );
        assert!(mismatch.starts_with("HTTP/1.1 200"));
        let cached = raw(
            &server,
            &format!("GET /a.bin HTTP/1.1\r\nIf-None-Match: {etag}\r\n\r\n"),
        );
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
        server.set_fault(
            "/b.zip",
            Fault::CutAfter {
                bytes: 30,
                times: 1,
            },
        );
        let cut = raw(&server, "GET /b.zip HTTP/1.1\r\n\r\n");
        assert!(cut.contains("Content-Length: 100") && cut.contains("application/zip"));
        let whole = raw(&server, "GET /b.zip HTTP/1.1\r\n\r\n");
        assert!(whole.ends_with(&"\u{7}".repeat(100)));
        assert_eq!(server.body_bytes_sent(), 130);
    }
}
