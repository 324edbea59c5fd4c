//! One connection: read one request, answer it, close. Invariant: every read is bounded by a deadline and every
//! write by a stall limit, and both poll the stop flag, so a stuck client cannot pin a thread and shutdown never
//! hangs; each answer carries `Connection: close` and is counted once.

mod body;

pub(crate) use body::BodyError;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::Shared;
use crate::request::{HeadError, MAX_HEAD, Request, head_end, parse_head, printable};
use crate::route;

/// Socket timeout: how often blocked reads and writes look at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// After answering, unread request bytes are drained (up to this many) so closing does not reset the connection
/// before the client has read the answer.
const DRAIN_LIMIT: u64 = 8 << 20;
/// Longest time spent draining after an answer.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// A response head under construction.
pub(crate) struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response { status, headers: Vec::new() }
    }

    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Why no request head could be read.
enum HeadFailure {
    /// The client closed, went silent without sending anything, or the server is stopping: just close.
    Gone,
    /// The client started a request but did not finish its head in time: 408.
    TimedOut,
    Invalid(HeadError),
}

/// A client connection and what has been read past the request head.
pub(crate) struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
    pending: Vec<u8>,
    status: Option<u16>,
    sent: u64,
}

/// Serves one connection to the end.
pub(crate) fn handle(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(POLL));
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into());
    let mut conn = Conn { stream, shared, pending: Vec::new(), status: None, sent: 0 };
    let (line, result) = match conn.read_head() {
        Ok(req) => (format!("{} {}", req.method, printable(&req.target)), route::dispatch(&mut conn, &req)),
        Err(HeadFailure::Gone) => return,
        Err(HeadFailure::TimedOut) => {
            let secs = shared.request_timeout.as_secs_f32();
            ("-".into(), conn.send_text(408, &format!("the request head did not arrive within {secs} s\n"), false))
        }
        Err(HeadFailure::Invalid(HeadError::TooLarge)) => {
            let msg = format!("request head over {MAX_HEAD} bytes or too many header lines\n");
            ("-".into(), conn.send_text(431, &msg, false))
        }
        Err(HeadFailure::Invalid(HeadError::Version)) => {
            ("-".into(), conn.send_text(505, "only HTTP/1.0 and HTTP/1.1 are served\n", false))
        }
        Err(HeadFailure::Invalid(HeadError::Bad(msg))) => ("-".into(), conn.send_text(400, &format!("{msg}\n"), false)),
    };
    match (conn.status, result) {
        (Some(status), Ok(())) => log::debug!("{peer} \"{line}\" {status} {}", conn.sent),
        (status, Err(e)) => log::debug!("{peer} \"{line}\" {status:?} aborted after {} body bytes: {e}", conn.sent),
        (None, Ok(())) => {}
    }
    conn.finish();
}

impl<'a> Conn<'a> {
    pub fn shared(&self) -> &'a Shared {
        self.shared
    }

    fn read_head(&mut self) -> Result<Request, HeadFailure> {
        let deadline = Instant::now() + self.shared.request_timeout;
        loop {
            if let Some(end) = head_end(&self.pending) {
                let rest = self.pending.split_off(end);
                let head = std::mem::replace(&mut self.pending, rest);
                return parse_head(&head).map_err(HeadFailure::Invalid);
            }
            if self.pending.len() > MAX_HEAD {
                return Err(HeadFailure::Invalid(HeadError::TooLarge));
            }
            match self.fill(deadline) {
                Ok(true) => {}
                Err(e) if e.kind() == ErrorKind::TimedOut && !self.pending.is_empty() => {
                    return Err(HeadFailure::TimedOut);
                }
                Ok(false) | Err(_) => return Err(HeadFailure::Gone),
            }
        }
    }

    /// Reads more bytes into `pending`; `Ok(false)` at end of stream.
    fn fill(&mut self, deadline: Instant) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.shared.stopped() {
                return Err(io::Error::new(ErrorKind::Interrupted, "the server is stopping"));
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(ErrorKind::TimedOut, "the client was too slow"));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.pending.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes everything, giving up when the client makes no progress for the request timeout. On failure, the
    /// error comes with the number of bytes left unwritten.
    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), (io::Error, usize)> {
        let mut progress = Instant::now();
        while !bytes.is_empty() {
            if self.shared.stopped() {
                return Err((io::Error::new(ErrorKind::Interrupted, "the server is stopping"), bytes.len()));
            }
            if progress.elapsed() > self.shared.request_timeout {
                return Err((io::Error::new(ErrorKind::TimedOut, "the client stopped reading"), bytes.len()));
            }
            match self.stream.write(bytes) {
                Ok(0) => return Err((io::Error::new(ErrorKind::WriteZero, "the connection closed"), bytes.len())),
                Ok(n) => {
                    bytes = &bytes[n..];
                    progress = Instant::now();
                }
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err((e, bytes.len())),
            }
        }
        Ok(())
    }

    /// Sends the status line and headers (plus `Content-Length` when given) and counts the response.
    pub fn send_head(&mut self, resp: Response, content_length: Option<u64>) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
        for (name, value) in &resp.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(len) = content_length {
            head.push_str(&format!("Content-Length: {len}\r\n"));
        }
        head.push_str("X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n");
        self.status = Some(resp.status);
        self.shared.count_response(resp.status);
        self.write_all(head.as_bytes()).map_err(|(e, _)| e)
    }

    /// Sends body bytes. They are counted before the write (so a client that has read them always finds them
    /// counted) and what could not be written is taken back off.
    pub fn send_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.shared.count_body(bytes.len() as u64, 0);
        match self.write_all(bytes) {
            Ok(()) => {
                self.sent += bytes.len() as u64;
                Ok(())
            }
            Err((e, left)) => {
                self.shared.count_body(0, left as u64);
                self.sent += (bytes.len() - left) as u64;
                Err(e)
            }
        }
    }

    /// Sends a complete response with a small in-memory body (headers only for HEAD).
    pub fn send_full(&mut self, resp: Response, body: &[u8], head_only: bool) -> io::Result<()> {
        self.send_head(resp, Some(body.len() as u64))?;
        if head_only { Ok(()) } else { self.send_body(body) }
    }

    /// A plain-text answer.
    pub fn send_text(&mut self, status: u16, text: &str, head_only: bool) -> io::Result<()> {
        let resp = Response::new(status).header("Content-Type", "text/plain; charset=utf-8");
        self.send_full(resp, text.as_bytes(), head_only)
    }

    /// A JSON answer.
    pub fn send_json(&mut self, status: u16, value: &serde_json::Value) -> io::Result<()> {
        let resp = Response::new(status).header("Content-Type", "application/json");
        self.send_full(resp, value.to_string().as_bytes(), false)
    }

    /// Sends `HTTP/1.1 100 Continue` (not counted as a response).
    fn send_continue(&mut self) -> io::Result<()> {
        self.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").map_err(|(e, _)| e)
    }

    /// Ends the exchange: half-closes, then drains unread request bytes (bounded) before the socket closes.
    fn finish(mut self) {
        let _ = self.stream.flush();
        let _ = self.stream.shutdown(Shutdown::Write);
        let started = Instant::now();
        let mut drained = 0u64;
        let mut sink = [0u8; 16 * 1024];
        while drained < DRAIN_LIMIT && started.elapsed() < DRAIN_TIME && !self.shared.stopped() {
            match self.stream.read(&mut sink) {
                Ok(0) => break,
                Ok(n) => drained += n as u64,
                Err(e) if is_retry(&e) => {}
                Err(_) => break,
            }
        }
    }
}

/// Socket errors that only mean "nothing yet, poll again".
fn is_retry(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

/// Reason phrases of the statuses this server sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
