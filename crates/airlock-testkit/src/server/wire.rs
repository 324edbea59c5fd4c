//! Wire side of the test server: reading one request head, writing the answer in counted chunks, and waiting
//! for the peer. Invariant: every wait polls the stop flag and is bounded, so dropping the server never hangs.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::Shared;
use super::respond::{Delivery, Framing, plan, reason};
use super::strip_query;

/// Socket timeout used to poll the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Upper bound for any single slow behaviour (drip, stall, blocked write, reading a request).
const MAX_SLOW: Duration = Duration::from_secs(10);
/// Body bytes written per `write` call.
const CHUNK: usize = 16 * 1024;

pub(super) struct Request {
    pub(super) method: String,
    pub(super) target: String,
    pub(super) headers: Vec<(String, String)>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }
}

pub(super) fn handle(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(POLL));
    let _ = stream.set_nodelay(true);
    let Some(req) = read_request(shared, &mut stream) else {
        return;
    };
    let path = strip_query(&req.target);
    let plan = plan(shared, &req, &path);
    if matches!(plan.delivery, Delivery::Silent) {
        wait_for_close(shared, &mut stream, MAX_SLOW);
        return;
    }
    let head_only = req.method == "HEAD";
    let mut head = format!("HTTP/1.1 {} {}\r\n", plan.status, reason(plan.status));
    for (k, v) in &plan.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let (from, to) = plan.range;
    match plan.framing {
        Framing::Exact => head.push_str(&format!("Content-Length: {}\r\n", to - from)),
        Framing::Declared(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        Framing::CloseDelimited => {}
        Framing::BadChunked => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    head.push_str("Connection: close\r\n\r\n");
    if write_all(shared, &mut stream, head.as_bytes()).is_err() {
        return;
    }
    if !head_only {
        let body = &plan.body[from..to];
        let body = match plan.framing {
            Framing::Declared(n) => &body[..usize::try_from(n).unwrap_or(usize::MAX).min(body.len())],
            _ => body,
        };
        if plan.framing == Framing::BadChunked {
            let first = &body[..body.len().min(16)];
            let mut bytes = format!("{:x}\r\n", first.len()).into_bytes();
            bytes.extend_from_slice(first);
            bytes.extend_from_slice(b"\r\nzz-not-a-chunk-size\r\n");
            bytes.extend_from_slice(&body[first.len()..body.len().min(4096)]);
            send_body(shared, &mut stream, &path, &bytes, None);
        } else {
            match plan.delivery {
                Delivery::Full => send_body(shared, &mut stream, &path, body, None),
                Delivery::Cut(n) => {
                    let n = usize::try_from(n).unwrap_or(usize::MAX).min(body.len());
                    send_body(shared, &mut stream, &path, &body[..n], None)
                }
                Delivery::Drip(rate) => send_body(shared, &mut stream, &path, body, Some(rate)),
                Delivery::Stall => wait_for_close(shared, &mut stream, MAX_SLOW),
                Delivery::Reset(n) => {
                    let n = usize::try_from(n).unwrap_or(usize::MAX).min(body.len());
                    send_body(shared, &mut stream, &path, &body[..n], None);
                    reset(stream);
                    return;
                }
                Delivery::Endless => send_endless(shared, &mut stream, &path, body),
                Delivery::Silent => {}
            }
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
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return None,
        }
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    Some(Request { method, target, headers })
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
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return Err(()),
        }
    }
    Ok(written)
}

/// Sends `body` in chunks (at `rate` bytes/s when given), counting what was written.
fn send_body(shared: &Shared, stream: &mut TcpStream, path: &str, body: &[u8], rate: Option<u64>) {
    let started = Instant::now();
    let step = match rate {
        Some(rate) => usize::try_from((rate / 20).max(1)).unwrap_or(CHUNK).min(CHUNK),
        None => CHUNK,
    };
    // One piece per POLL, except below 20 bytes/s where one byte goes out every 1/rate s.
    let pause = match rate {
        Some(rate) if rate > 0 && rate < 20 => Duration::from_millis(1000 / rate),
        _ => POLL,
    };
    for piece in body.chunks(step) {
        if rate.is_some() {
            if started.elapsed() > MAX_SLOW || shared.stopped() {
                return;
            }
            let paused = Instant::now();
            while paused.elapsed() < pause && !shared.stopped() {
                thread::sleep(POLL.min(pause));
            }
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

/// Sends `body`, then filler, until the client hangs up, the server stops, or 1 GiB / `MAX_SLOW` is reached.
fn send_endless(shared: &Shared, stream: &mut TcpStream, path: &str, body: &[u8]) {
    send_body(shared, stream, path, body, None);
    let started = Instant::now();
    let filler = vec![0x20u8; CHUNK];
    let mut sent = body.len() as u64;
    while sent < 1 << 30 && !shared.stopped() && started.elapsed() < MAX_SLOW {
        let Ok(n) = write_all(shared, stream, &filler) else { return };
        let mut state = shared.state();
        *state.sent_by_path.entry(path.to_owned()).or_insert(0) += n as u64;
        state.sent_total += n as u64;
        sent += n as u64;
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
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return,
        }
    }
}

/// Closes with a TCP RST (SO_LINGER 0) instead of a FIN.
fn reset(stream: TcpStream) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let linger = libc::linger { l_onoff: 1, l_linger: 0 };
        // SAFETY: a valid socket descriptor and a correctly sized `linger` value.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
    drop(stream);
}
