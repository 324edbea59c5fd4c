//! Reference host for an Airlock publisher repo plus a stats collector. Invariant: it serves only regular files
//! inside the repo (never hidden files nor the stats database), every connection thread is bounded in number and
//! in time, and a stopped or dropped [`Server`] has joined every thread it started.
//!
//! A small synchronous HTTP/1.1 server on `std::net`: one thread per connection (at most
//! [`ServerConfig::max_connections`]), one request per connection (`Connection: close`).
//!
//! - `GET`/`HEAD` of files under the repo with strong content ETags, `If-None-Match` (304), single `Range`
//!   (206/416), `If-Range`, content types by extension and `Cache-Control` by path: channel catalogs
//!   revalidate (`no-cache`), content-addressed `bundles/`, `objects/` and `releases/` are immutable.
//! - `POST /stats` and `POST /<app_id>/stats`: Capgo-style stat events stored once each (by `id`) in SQLite,
//!   answered per event (`results: [{status, index, error?, message?}]`) when some are refused.
//! - `GET /healthz`: `200 ok`.
//!
//! ```no_run
//! use airlock_server::{Server, ServerConfig};
//! let mut config = ServerConfig::new("/srv/airlock-repo");
//! config.addr = "127.0.0.1:8080".parse().unwrap();
//! let server = Server::start(config)?;
//! println!("serving on {}", server.url());
//! server.wait(); // returns once a `StopHandle` (from `server.stop_handle()`) stops it
//! # Ok::<(), airlock_server::ServerError>(())
//! ```

mod conn;
mod error;
mod etag;
mod files;
mod paths;
mod ranges;
mod request;
mod route;
pub mod stats;

pub use error::ServerError;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long the acceptor waits for a free connection slot before answering 503.
const SLOT_WAIT: Duration = Duration::from_secs(1);

/// What to serve and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The publisher repo (the directory `airlock release` / `airlock channel` write).
    pub repo: PathBuf,
    /// Address to listen on; port 0 picks a free port (see [`Server::addr`]).
    pub addr: SocketAddr,
    /// The stats database; `None` means `<repo>/stats.sqlite3` (never served over HTTP).
    pub stats_db: Option<PathBuf>,
    /// Connection threads running at once; further connections wait up to a second, then get 503.
    pub max_connections: usize,
    /// Time a client has to send its request head, and the longest a request body or a response may stall.
    pub request_timeout: Duration,
    /// Largest accepted `POST /stats` body in bytes; larger ones get 413.
    pub max_stats_body: usize,
}

impl ServerConfig {
    /// Defaults: `127.0.0.1:0`, `<repo>/stats.sqlite3`, 64 connections, 15 s request timeout, 1 MiB stats bodies.
    pub fn new(repo: impl Into<PathBuf>) -> Self {
        ServerConfig {
            repo: repo.into(),
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            stats_db: None,
            max_connections: 64,
            request_timeout: Duration::from_secs(15),
            max_stats_body: 1 << 20,
        }
    }

    /// The stats database path this configuration uses.
    pub fn stats_db_path(&self) -> PathBuf {
        self.stats_db.clone().unwrap_or_else(|| self.repo.join("stats.sqlite3"))
    }
}

/// Traffic counters since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Responses sent to parsed (or malformed) requests; 503s from the connection cap are not counted.
    pub requests: u64,
    /// Response body bytes written (a body is counted as it is handed to the socket; bytes that could not be
    /// written are taken back off).
    pub body_bytes: u64,
    /// `304 Not Modified` answers.
    pub not_modified: u64,
    /// `206 Partial Content` answers.
    pub partial: u64,
}

#[derive(Default)]
struct CounterCells {
    requests: AtomicU64,
    body_bytes: AtomicU64,
    not_modified: AtomicU64,
    partial: AtomicU64,
}

/// Connection slots: a counter and a condition variable signalled when a slot frees.
struct Slots {
    active: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// State shared by the acceptor and the connection threads.
pub(crate) struct Shared {
    /// Canonical repo directory.
    pub(crate) repo: PathBuf,
    /// Canonical paths never served (the stats database and its WAL/SHM/journal files).
    pub(crate) private: Vec<PathBuf>,
    pub(crate) request_timeout: Duration,
    pub(crate) max_stats_body: usize,
    pub(crate) etags: etag::EtagCache,
    pub(crate) stats: Mutex<stats::StatsDb>,
    stop: AtomicBool,
    counters: CounterCells,
    slots: Slots,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Records one response with this status.
    pub(crate) fn count_response(&self, status: u16) {
        self.counters.requests.fetch_add(1, Ordering::SeqCst);
        match status {
            304 => self.counters.not_modified.fetch_add(1, Ordering::SeqCst),
            206 => self.counters.partial.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
    }

    /// Adds `add` body bytes and takes back `unsent` ones (bytes counted but never written).
    pub(crate) fn count_body(&self, add: u64, unsent: u64) {
        self.counters.body_bytes.fetch_add(add, Ordering::SeqCst);
        self.counters.body_bytes.fetch_sub(unsent, Ordering::SeqCst);
    }

    pub(crate) fn stats_db(&self) -> MutexGuard<'_, stats::StatsDb> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn workers(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running server. It stops and joins its threads on [`Server::shutdown`] or when dropped.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Checks the repo, opens (or creates) the stats database, binds the address and starts accepting.
    pub fn start(config: ServerConfig) -> Result<Server, ServerError> {
        let repo = config.repo.canonicalize().map_err(|e| ServerError::Repo {
            path: config.repo.clone(),
            reason: format!("{e}; create it with `airlock release` or pass the right --repo"),
        })?;
        if !repo.is_dir() {
            return Err(ServerError::Repo { path: config.repo.clone(), reason: "it is not a directory".into() });
        }
        if config.max_connections == 0 {
            return Err(ServerError::Config("max_connections must be at least 1".into()));
        }
        let db_path = config.stats_db_path();
        let db = stats::open(&db_path)?;
        let db_canon = db_path.canonicalize().map_err(|e| ServerError::Io {
            context: format!("resolving the stats database path {}", db_path.display()),
            source: e,
        })?;
        let private = ["", "-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| {
                let mut p = db_canon.clone().into_os_string();
                p.push(suffix);
                PathBuf::from(p)
            })
            .collect();
        let listener =
            TcpListener::bind(config.addr).map_err(|source| ServerError::Bind { addr: config.addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServerError::Io { context: "reading the bound address".into(), source: e })?;
        let shared = Arc::new(Shared {
            repo,
            private,
            request_timeout: config.request_timeout,
            max_stats_body: config.max_stats_body,
            etags: etag::EtagCache::default(),
            stats: Mutex::new(db),
            stop: AtomicBool::new(false),
            counters: CounterCells::default(),
            slots: Slots { active: Mutex::new(0), freed: Condvar::new(), max: config.max_connections },
            workers: Mutex::new(Vec::new()),
        });
        let acceptor_shared = shared.clone();
        let acceptor = thread::Builder::new()
            .name("airlock-serve-accept".into())
            .spawn(move || accept_loop(&listener, &acceptor_shared))
            .map_err(|e| ServerError::Io { context: "starting the accept thread".into(), source: e })?;
        log::info!("serving {} on http://{addr} (stats in {})", shared.repo.display(), db_path.display());
        Ok(Server { addr, shared, acceptor: Some(acceptor) })
    }

    /// The bound address (with the real port when the config asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:8080` (a wildcard bind address is shown as loopback).
    pub fn url(&self) -> String {
        format!("http://{}", reachable(self.addr))
    }

    /// Traffic counters so far.
    pub fn counters(&self) -> Counters {
        let c = &self.shared.counters;
        Counters {
            requests: c.requests.load(Ordering::SeqCst),
            body_bytes: c.body_bytes.load(Ordering::SeqCst),
            not_modified: c.not_modified.load(Ordering::SeqCst),
            partial: c.partial.load(Ordering::SeqCst),
        }
    }

    /// A handle that stops this server from another thread (a signal handler, a supervisor, a test).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle { shared: self.shared.clone(), addr: self.addr }
    }

    /// Blocks until a [`StopHandle`] stops the server, then joins every thread (for a foreground `airlock serve`).
    pub fn wait(mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // Dropping joins the connection threads.
    }

    /// Stops accepting, aborts transfers in flight and joins every thread.
    pub fn shutdown(self) {
        drop(self);
    }

    /// Called once, from `drop`.
    fn stop(&mut self) {
        self.stop_handle().stop();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = std::mem::take(&mut *self.shared.workers());
        for worker in workers {
            let _ = worker.join();
        }
        log::info!("stopped serving on {}", self.addr);
    }
}

/// Stops a running [`Server`] from any thread; cheap to clone. Stopping twice is harmless.
#[derive(Clone)]
pub struct StopHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl StopHandle {
    /// Asks the server to stop: no new connections, transfers in flight are cut. Returns at once; the owner of
    /// the [`Server`] joins the threads ([`Server::wait`], [`Server::shutdown`] or drop).
    pub fn stop(&self) {
        if self.shared.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        self.shared.slots.freed.notify_all();
        // Wake the blocking accept with a throwaway connection.
        if let Err(e) = TcpStream::connect_timeout(&reachable(self.addr), Duration::from_secs(2)) {
            log::warn!("could not wake the accept thread on {}: {e}", self.addr);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address to connect to for `addr` (wildcards become loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port()),
        _ => addr,
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped() {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning.
                log::warn!("accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if !take_slot(shared) {
            if !shared.stopped() {
                refuse_busy(stream);
            }
            continue;
        }
        let worker_shared = shared.clone();
        let spawned = thread::Builder::new().name("airlock-serve-conn".into()).spawn(move || {
            let _slot = SlotGuard(&worker_shared);
            conn::handle(&worker_shared, stream);
        });
        match spawned {
            Ok(handle) => {
                let mut workers = shared.workers();
                workers.retain(|h| !h.is_finished());
                workers.push(handle);
            }
            Err(e) => {
                log::error!("could not start a connection thread: {e}");
                release_slot(shared);
            }
        }
    }
}

/// Waits (bounded) for a free connection slot; false when none freed in time or the server is stopping.
fn take_slot(shared: &Shared) -> bool {
    let slots = &shared.slots;
    let active = slots.active.lock().unwrap_or_else(|p| p.into_inner());
    let (mut active, _) = slots
        .freed
        .wait_timeout_while(active, SLOT_WAIT, |n| *n >= slots.max && !shared.stopped())
        .unwrap_or_else(|p| p.into_inner());
    if *active >= slots.max || shared.stopped() {
        return false;
    }
    *active += 1;
    true
}

fn release_slot(shared: &Shared) {
    let mut active = shared.slots.active.lock().unwrap_or_else(|p| p.into_inner());
    *active = active.saturating_sub(1);
    shared.slots.freed.notify_one();
}

/// Frees the connection slot when the connection thread ends (panics included).
struct SlotGuard<'a>(&'a Shared);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        release_slot(self.0);
    }
}

/// Answers 503 on the acceptor thread (a tiny write with a short timeout) and closes.
fn refuse_busy(mut stream: TcpStream) {
    log::warn!("connection limit reached; answering 503 to {:?}", stream.peer_addr().ok());
    // Read what the client already sent, so closing does not reset the connection before it reads the answer.
    let mut sink = [0u8; 16 * 1024];
    if stream.set_nonblocking(true).is_ok() {
        let _ = std::io::Read::read(&mut stream, &mut sink);
    }
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let body = "server busy: too many connections; retry shortly\n";
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
