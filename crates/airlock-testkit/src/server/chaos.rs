//! Chaos mode of the test server: a seeded share of the answers for served objects is spoiled with a mix of what a
//! phone meets in the field (a reset mid-body, 503, 429 with a short Retry-After, a stall after the headers, a
//! captive-portal page, a body of wrong bytes with the right length), and clients can be told apart by a path
//! prefix (`/<prefix>/<client>/rest` serves `/rest`, and its body bytes are counted under the full path).
//! Invariant: whether and how an answer is spoiled depends only on the seed, the full request path and how many
//! times that path was asked before, so one client's sequence of answers replays with the same seed; an answer
//! that is not spoiled is exactly the plain server's. [`ChaosProxy`] does the same for requests with a body (stats
//! `POST`s) in front of a real collector, forwarding what it does not spoil verbatim.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::respond::{Delivery, Plan};
use super::{State, TestServer, normalize};

/// Chaos settings (see [`TestServer::set_chaos`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chaos {
    /// Seeds every decision.
    pub seed: u64,
    /// Share of answers spoiled, in percent (0–100).
    pub percent: u32,
    /// `Some("/fleet")`: a request for `/fleet/<client>/rest` is answered as `/rest` (faults set per path apply
    /// to `/rest`), while its bytes are counted under the full path ([`TestServer::body_bytes_sent_under`]).
    pub client_prefix: Option<String>,
    /// `Retry-After` of the 429 answers, in seconds.
    pub retry_after_secs: u64,
}

impl Chaos {
    /// Spoils about `percent` % of answers, no client prefix, 429s with `Retry-After: 1`.
    pub fn new(seed: u64, percent: u32) -> Chaos {
        Chaos { seed, percent: percent.min(100), client_prefix: None, retry_after_secs: 1 }
    }

    /// The same with a client prefix (e.g. `/fleet`).
    pub fn with_client_prefix(mut self, prefix: &str) -> Chaos {
        self.client_prefix = Some(normalize(prefix.trim_end_matches('/')));
        self
    }
}

/// What a spoiled answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Spoil {
    /// The headers (full Content-Length), then the connection closes part-way through the body.
    ResetMidBody,
    /// 503 Service Unavailable.
    Unavailable,
    /// 429 Too Many Requests with a short `Retry-After`.
    TooManyRequests,
    /// The headers, then nothing (the client's response timeout must end it).
    Stall,
    /// 200 `text/html` login page.
    CaptivePortal,
    /// The right status, headers and length, other bytes.
    WrongBytes,
}

/// Chaos state kept in the server.
pub(super) struct ChaosState {
    chaos: Chaos,
    spoiled: BTreeMap<Spoil, u64>,
    /// Body bytes planned in [`Spoil::WrongBytes`] answers, by full path: bytes no client can keep.
    wrong_bytes_by_path: BTreeMap<String, u64>,
}

impl TestServer {
    /// Turns chaos mode on (`Some`) or off (`None`); the spoil counters restart.
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        self.shared.state().chaos =
            chaos.map(|chaos| ChaosState { chaos, spoiled: BTreeMap::new(), wrong_bytes_by_path: BTreeMap::new() });
    }

    /// How many answers chaos mode spoiled so far, by kind.
    pub fn spoiled(&self) -> BTreeMap<Spoil, u64> {
        self.shared.state().chaos.as_ref().map(|c| c.spoiled.clone()).unwrap_or_default()
    }

    /// Body bytes of the [`Spoil::WrongBytes`] answers for paths starting with `prefix` (at most what was written):
    /// what even a perfect client must discard and fetch again.
    pub fn wrong_bytes_under(&self, prefix: &str) -> u64 {
        let prefix = normalize(prefix);
        let state = self.shared.state();
        let Some(chaos) = state.chaos.as_ref() else { return 0 };
        chaos.wrong_bytes_by_path.iter().filter(|(p, _)| p.starts_with(&prefix)).map(|(_, n)| n).sum()
    }

    /// Body bytes actually written for every path starting with `prefix` (e.g. one client's `/fleet/d007/`).
    pub fn body_bytes_sent_under(&self, prefix: &str) -> u64 {
        let prefix = normalize(prefix);
        self.shared.state().sent_by_path.iter().filter(|(p, _)| p.starts_with(&prefix)).map(|(_, n)| n).sum()
    }
}

/// The path an object is looked up (and faults are found) under: the client prefix removed.
pub(super) fn route(state: &State, path: &str) -> String {
    let Some(prefix) = state.chaos.as_ref().and_then(|c| c.chaos.client_prefix.as_deref()) else {
        return path.to_owned();
    };
    match path.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('/')) {
        Some(rest) => match rest.split_once('/') {
            Some((_client, tail)) => format!("/{tail}"),
            None => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

/// Spoils the planned answer for the `hit`-th request of `path` (full path) when the seed says so. Only answers
/// for served objects (200, 206, 304) are spoiled.
pub(super) fn spoil(state: &mut State, method: &str, path: &str, hit: u64, plan: Plan) -> Plan {
    let Some(chaos) = state.chaos.as_mut() else { return plan };
    if !matches!(plan.status, 200 | 206 | 304) {
        return plan;
    }
    let h = mix(chaos.chaos.seed ^ fnv(path) ^ hit.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    if h % 10_000 >= u64::from(chaos.chaos.percent) * 100 {
        return plan;
    }
    let pick = mix(h) % 100;
    let len = (plan.range.1 - plan.range.0) as u64;
    let has_body = len > 0 && method == "GET";
    let kind = match pick {
        0..30 if has_body => Spoil::ResetMidBody,
        0..30 => Spoil::Unavailable,
        30..50 => Spoil::Unavailable,
        50..65 => Spoil::TooManyRequests,
        65..70 => Spoil::Stall,
        70..85 => Spoil::CaptivePortal,
        _ if has_body => Spoil::WrongBytes,
        _ => Spoil::CaptivePortal,
    };
    *chaos.spoiled.entry(kind).or_insert(0) += 1;
    let text = Plan::simple;
    match kind {
        Spoil::ResetMidBody => Plan { delivery: Delivery::Cut(mix(h ^ 0x51) % len), ..plan },
        Spoil::Unavailable => text(503, "text/plain", b"chaos: service unavailable"),
        Spoil::TooManyRequests => {
            let mut p = text(429, "text/plain", b"chaos: slow down");
            p.headers.push(("Retry-After".into(), chaos.chaos.retry_after_secs.to_string()));
            p
        }
        Spoil::Stall => Plan { delivery: Delivery::Stall, ..plan },
        Spoil::CaptivePortal => text(
            200,
            "text/html; charset=utf-8",
            b"<!doctype html><title>Sign in to Wi-Fi</title><form action=/login>login</form>",
        ),
        Spoil::WrongBytes => {
            *chaos.wrong_bytes_by_path.entry(path.to_owned()).or_insert(0) += len;
            let mut body = plan.body.as_ref().clone();
            for b in &mut body[plan.range.0..plan.range.1] {
                *b ^= 0x5A;
            }
            Plan { body: Arc::new(body), ..plan }
        }
    }
}

/// A chaos proxy for requests with a body (stats `POST`s) in front of a real collector (`airlock-server`): the
/// same seeded share of answers is spoiled — a reset half-way through the collector's answer (the events were
/// stored, the device does not know), 503, 429 with `Retry-After`, a stall, a captive portal's `200 text/html`, the
/// collector's answer with its body bytes changed — and every other request is forwarded and answered verbatim.
/// The client prefix of `chaos` is removed before forwarding. Dropping it stops its threads (every wait bounded).
pub struct ChaosProxy {
    addr: SocketAddr,
    shared: Arc<ProxyShared>,
    acceptor: Option<JoinHandle<()>>,
}

struct ProxyShared {
    upstream: SocketAddr,
    stop: AtomicBool,
    state: Mutex<ProxyState>,
}

struct ProxyState {
    chaos: Chaos,
    hits: BTreeMap<String, u64>,
    spoiled: BTreeMap<Spoil, u64>,
    forwarded: u64,
}

impl ChaosProxy {
    /// Binds 127.0.0.1 on a free port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr, chaos: Chaos) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = ProxyState { chaos, hits: BTreeMap::new(), spoiled: BTreeMap::new(), forwarded: 0 };
        let shared = Arc::new(ProxyShared { upstream, stop: AtomicBool::new(false), state: Mutex::new(state) });
        let accept_shared = shared.clone();
        let acceptor = thread::Builder::new()
            .name("testkit-chaos-proxy".into())
            .spawn(move || {
                let mut workers: Vec<JoinHandle<()>> = Vec::new();
                for stream in listener.incoming() {
                    if accept_shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let conn_shared = accept_shared.clone();
                    if let Ok(h) = thread::Builder::new().spawn(move || proxy_one(&conn_shared, stream)) {
                        workers.retain(|w| !w.is_finished());
                        workers.push(h);
                    }
                }
                for w in workers {
                    let _ = w.join();
                }
            })
            .expect("spawn proxy acceptor");
        ChaosProxy { addr, shared, acceptor: Some(acceptor) }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, normalize(path))
    }

    /// Changes the share of spoiled answers (0 turns the chaos off, e.g. for a final clean delivery).
    pub fn set_percent(&self, percent: u32) {
        self.shared.lock().chaos.percent = percent.min(100);
    }

    /// Answers spoiled so far, by kind.
    pub fn spoiled(&self) -> BTreeMap<Spoil, u64> {
        self.shared.lock().spoiled.clone()
    }

    /// Requests forwarded to the upstream so far (spoiled ones included when the spoil needed its answer).
    pub fn forwarded(&self) -> u64 {
        self.shared.lock().forwarded
    }
}

impl ProxyShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

/// Bound on every wait of the proxy.
const PROXY_WAIT: Duration = Duration::from_secs(10);

fn proxy_one(shared: &ProxyShared, mut client: TcpStream) {
    let _ = client.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = client.set_write_timeout(Some(PROXY_WAIT));
    let Some((head, body)) = read_message(shared, &mut client) else { return };
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (method, target) = (first.next().unwrap_or("GET").to_owned(), first.next().unwrap_or("/").to_owned());
    let path = super::strip_query(&target);
    let (kind, tail) = {
        let mut st = shared.lock();
        let hit = {
            let h = st.hits.entry(path.clone()).or_insert(0);
            *h += 1;
            *h - 1
        };
        let h = mix(st.chaos.seed ^ fnv(&path) ^ hit.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let kind = (h % 10_000 < u64::from(st.chaos.percent) * 100).then(|| match mix(h) % 100 {
            0..30 => Spoil::ResetMidBody,
            30..50 => Spoil::Unavailable,
            50..65 => Spoil::TooManyRequests,
            65..70 => Spoil::Stall,
            70..85 => Spoil::CaptivePortal,
            _ => Spoil::WrongBytes,
        });
        if let Some(k) = kind {
            *st.spoiled.entry(k).or_insert(0) += 1;
        }
        let tail = match st.chaos.client_prefix.as_deref().and_then(|p| target.strip_prefix(p)) {
            Some(rest) => rest.trim_start_matches('/').split_once('/').map_or(target.clone(), |(_, t)| format!("/{t}")),
            None => target.clone(),
        };
        (kind, tail)
    };
    let canned = |status: &str, extra: &str, content_type: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let answer = match kind {
        Some(Spoil::Unavailable) => canned("503 Service Unavailable", "", "text/plain", "chaos: unavailable"),
        Some(Spoil::TooManyRequests) => {
            let secs = shared.lock().chaos.retry_after_secs;
            canned("429 Too Many Requests", &format!("Retry-After: {secs}\r\n"), "text/plain", "chaos: slow down")
        }
        Some(Spoil::CaptivePortal) => canned(
            "200 OK",
            "",
            "text/html; charset=utf-8",
            "<!doctype html><title>Sign in to Wi-Fi</title><form action=/login>login</form>",
        ),
        Some(Spoil::Stall) => {
            wait_closed(shared, &mut client);
            return;
        }
        Some(Spoil::ResetMidBody) | Some(Spoil::WrongBytes) | None => {
            let mut out = Vec::new();
            out.extend_from_slice(format!("{method} {tail} HTTP/1.1\r\n").as_bytes());
            for l in lines.filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:")) {
                out.extend_from_slice(format!("{l}\r\n").as_bytes());
            }
            out.extend_from_slice(b"Connection: close\r\n\r\n");
            out.extend_from_slice(&body);
            let Some(mut reply) = forward(shared, &out) else { return };
            shared.lock().forwarded += 1;
            let body_at = reply.windows(4).position(|w| w == b"\r\n\r\n").map_or(reply.len(), |p| p + 4);
            match kind {
                Some(Spoil::ResetMidBody) => reply.truncate(body_at + (reply.len() - body_at) / 2),
                Some(Spoil::WrongBytes) => reply[body_at..].iter_mut().for_each(|b| *b ^= 0x5A),
                _ => {}
            }
            reply
        }
    };
    let _ = client.write_all(&answer);
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
}

/// Reads a request head and its `Content-Length` body (bounded in size and time).
fn read_message(shared: &ProxyShared, s: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let started = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut need: Option<(usize, usize)> = None;
    loop {
        if need.is_none()
            && let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            need = Some((end, end + 4 + len));
        }
        if let Some((end, total)) = need
            && buf.len() >= total
        {
            return Some((buf[..end].to_vec(), buf[end + 4..total].to_vec()));
        }
        if buf.len() > 8 * 1024 * 1024 || shared.stop.load(Ordering::SeqCst) || started.elapsed() > PROXY_WAIT {
            return None;
        }
        match s.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return None,
        }
    }
}

/// Sends `request` to the upstream and reads its whole answer (it closes: `Connection: close`).
fn forward(shared: &ProxyShared, request: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect_timeout(&shared.upstream, PROXY_WAIT).ok()?;
    let _ = up.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = up.set_write_timeout(Some(PROXY_WAIT));
    up.write_all(request).ok()?;
    let started = Instant::now();
    let mut reply = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if shared.stop.load(Ordering::SeqCst) || started.elapsed() > PROXY_WAIT {
            return None;
        }
        match up.read(&mut chunk) {
            Ok(0) => return Some(reply),
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return (!reply.is_empty()).then_some(reply),
        }
    }
}

/// Waits until the client goes away (bounded).
fn wait_closed(shared: &ProxyShared, s: &mut TcpStream) {
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    while !shared.stop.load(Ordering::SeqCst) && started.elapsed() < PROXY_WAIT {
        match s.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return,
        }
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// splitmix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn get(server: &TestServer, path: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    }

    #[test]
    fn chaos_spoils_about_the_asked_share_with_every_kind_and_replays_with_its_seed() {
        let run = |seed: u64| {
            let server = TestServer::start();
            server.put("/a.bin", vec![1u8; 64]);
            server.set_chaos(Some(Chaos::new(seed, 15).with_client_prefix("/fleet")));
            let answers: Vec<Vec<u8>> = (0..400).map(|i| get(&server, &format!("/fleet/c{}/a.bin", i % 20))).collect();
            (answers, server.spoiled(), server.body_bytes_sent_under("/fleet/c3/"))
        };
        let (answers, spoiled, c3) = run(42);
        let clean = answers.iter().filter(|a| a.starts_with(b"HTTP/1.1 200") && a.ends_with(&[1u8; 64])).count();
        let total: u64 = spoiled.values().sum();
        assert_eq!(clean as u64 + total, 400, "every answer not spoiled is the plain one: {spoiled:?}");
        assert!((30..=90).contains(&total), "about 15 % spoiled, got {total}: {spoiled:?}");
        assert!(spoiled.len() >= 5, "a mix of faults: {spoiled:?}");
        assert!(c3 > 0 && c3 <= 20 * 64, "bytes are counted per client prefix: {c3}");
        let (again, spoiled_again, _) = run(42);
        assert_eq!((answers, spoiled), (again, spoiled_again), "the same seed spoils the same answers");
    }

    #[test]
    fn the_chaos_proxy_forwards_verbatim_what_it_does_not_spoil_and_spoils_with_every_kind() {
        let upstream = TestServer::start();
        upstream.put("/stats", b"{\"status\":\"ok\"}".to_vec());
        let proxy = ChaosProxy::start(upstream.addr(), Chaos::new(9, 0).with_client_prefix("/fleet"));
        let post = |path: &str| {
            let mut s = TcpStream::connect(proxy.addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_millis(300))).unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").as_bytes()).unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        };
        let clean = post("/fleet/d1/stats");
        assert!(clean.starts_with("HTTP/1.1 200") && clean.ends_with("{\"status\":\"ok\"}"), "{clean}");
        assert_eq!(upstream.requests()[0].path, "/stats", "the client prefix is removed");
        proxy.set_percent(100);
        let spoiled: Vec<String> = (0..60).map(|i| post(&format!("/fleet/d{i}/stats"))).collect();
        assert!(spoiled.iter().all(|a| !a.ends_with("{\"status\":\"ok\"}")), "every answer spoiled");
        assert_eq!(proxy.spoiled().values().sum::<u64>(), 60);
        assert!(proxy.spoiled().len() >= 5, "a mix: {:?}", proxy.spoiled());
        assert!(
            spoiled.iter().any(|a| a.contains("text/html")) && spoiled.iter().any(|a| a.starts_with("HTTP/1.1 503"))
        );
    }
}
