//! Deciding the answer to one request. Invariant: without faults the answer is what a correct CDN would send
//! (ETag, 304 on If-None-Match, 206/416 on Range, If-Range honoured); each fault changes exactly one thing.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use super::wire::Request;
use super::{Fault, RequestRecord, Shared, State};

/// How the body is delivered.
pub(super) enum Delivery {
    Full,
    Cut(u64),
    Drip(u64),
    Stall,
    /// Send this many body bytes, then reset the connection.
    Reset(u64),
    /// Send nothing, not even the status line.
    Silent,
    /// Send filler bytes until the client goes away.
    Endless,
}

/// How the body is framed on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// `Content-Length` of the bytes planned.
    Exact,
    /// `Content-Length` of this value, whatever is sent.
    Declared(u64),
    /// No length: the body ends when the connection closes.
    CloseDelimited,
    /// `Transfer-Encoding: chunked` with a malformed size line after the first chunk.
    BadChunked,
}

pub(super) struct Plan {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Arc<Vec<u8>>,
    pub(super) range: (usize, usize),
    pub(super) delivery: Delivery,
    pub(super) framing: Framing,
}

impl Plan {
    pub(super) fn simple(status: u16, content_type: &str, body: &[u8]) -> Plan {
        Plan {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Arc::new(body.to_vec()),
            range: (0, body.len()),
            delivery: Delivery::Full,
            framing: Framing::Exact,
        }
    }
}

/// Decides the answer, applying faults, and logs the request.
pub(super) fn plan(shared: &Shared, req: &Request, path: &str) -> Plan {
    let mut state = shared.state();
    let hit = {
        let hits = state.hits.entry(path.to_owned()).or_insert(0);
        *hits += 1;
        *hits - 1
    };
    let lookup = super::chaos::route(&state, path);
    let plan = decide(&mut state, req, &lookup, hit);
    let plan = super::chaos::spoil(&mut state, &req.method, path, hit, plan);
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
    // A POST (a stats collector's URL) is answered like a GET: the object put there is the collector's answer.
    if !matches!(req.method.as_str(), "GET" | "HEAD" | "POST") {
        return Plan::simple(405, "text/plain", b"method not allowed");
    }
    let mut delivery = Delivery::Full;
    let mut ignore_range = false;
    let mut change_etag = false;
    let mut framing = Framing::Exact;
    let (mut wrong_range, mut partial, mut splice, mut gzip, mut bomb) = (false, false, false, false, false);
    let mut other_bytes = false;
    if let Some(faults) = state.faults.get_mut(path) {
        for fault in faults.iter_mut() {
            match fault {
                Fault::Status(code) => {
                    return Plan::simple(*code, "text/plain", b"injected status");
                }
                Fault::StatusWithBody { status, content_type, body } => {
                    return Plan::simple(*status, content_type, body);
                }
                Fault::StatusWithRetryAfter { status, retry_after_secs } => {
                    let mut plan = Plan::simple(*status, "text/plain", b"injected status");
                    plan.headers.push(("Retry-After".into(), retry_after_secs.to_string()));
                    return plan;
                }
                Fault::StatusWithRetryAfterValue { status, value } => {
                    let mut plan = Plan::simple(*status, "text/plain", b"injected status");
                    plan.headers.push(("Retry-After".into(), value.clone()));
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
                Fault::ResetAfter { bytes } => delivery = Delivery::Reset(*bytes),
                Fault::StallBeforeHeaders => delivery = Delivery::Silent,
                Fault::DeclaredLength(n) => framing = Framing::Declared(*n),
                Fault::WrongContentRange => wrong_range = true,
                Fault::PartialWithoutRange => partial = true,
                Fault::SpliceOnRange => splice = true,
                Fault::BadChunked => framing = Framing::BadChunked,
                Fault::Gzip => gzip = true,
                Fault::GzipBomb => bomb = true,
                Fault::Endless => {
                    framing = Framing::CloseDelimited;
                    delivery = Delivery::Endless;
                }
                Fault::HtmlAsOctetStream => {
                    return Plan::simple(
                        200,
                        "application/octet-stream",
                        b"<!doctype html><html><head><title>Hotel Wi-Fi</title></head><body><form method=post>\
                          Accept the terms to continue</form></body></html>",
                    );
                }
                Fault::OtherBytes => other_bytes = true,
                Fault::OtherBytesTimes(times) => {
                    if *times > 0 {
                        *times -= 1;
                        other_bytes = true;
                    }
                }
            }
        }
        faults.retain(|f| !matches!(f, Fault::CutAfter { times: 0, .. }));
    }
    let Some(object) = state.objects.get(path).cloned() else {
        return Plan::simple(404, "text/plain", b"not found");
    };
    let etag = if change_etag {
        format!("\"{}-changed{hit}\"", object.etag.trim_start_matches("W/").trim_matches('"'))
    } else {
        object.etag.clone()
    };
    let len = object.body.len();
    let mut headers = vec![
        ("Content-Type".to_owned(), content_type(path).to_owned()),
        ("ETag".to_owned(), etag.clone()),
        ("Accept-Ranges".to_owned(), "bytes".to_owned()),
    ];
    if req.header("If-None-Match").is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return Plan {
            status: 304,
            headers,
            body: Arc::new(Vec::new()),
            range: (0, 0),
            delivery: Delivery::Full,
            framing: Framing::Exact,
        };
    }
    let if_range_ok = splice || req.header("If-Range").is_none_or(|v| v.trim() == etag && !etag.starts_with("W/"));
    let ignore_range = ignore_range || gzip || bomb;
    let range = req.header("Range").filter(|_| !ignore_range && if_range_ok).and_then(|r| parse_range(&r));
    let (status, from, to) = match range {
        Some((a, _)) if a >= len as u64 => {
            headers.push(("Content-Range".into(), format!("bytes */{len}")));
            return Plan {
                status: 416,
                headers,
                body: Arc::new(Vec::new()),
                range: (0, 0),
                delivery: Delivery::Full,
                framing: Framing::Exact,
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
    let mut plan = Plan { status, headers, body: object.body, range: (from, to), delivery, framing };
    if status == 206 && splice {
        plan.body = Arc::new(plan.body.iter().rev().copied().collect());
        set_header(
            &mut plan.headers,
            "ETag",
            format!("\"{}-spliced\"", etag.trim_start_matches("W/").trim_matches('"')),
        );
    }
    if other_bytes {
        let page = b"<html><body>This site is blocked by your network administrator.</body></html>\n";
        plan.body = Arc::new(page.iter().copied().cycle().take(plan.body.len()).collect());
        set_header(&mut plan.headers, "Content-Type", "application/octet-stream".into());
    }
    if status == 206 && wrong_range {
        let first = from + 7;
        set_header(&mut plan.headers, "Content-Range", format!("bytes {first}-{}/{len}", first.max(to - 1)));
    }
    if status == 200 && partial && req.header("Range").is_none() && len > 1 {
        let half = len / 2;
        plan.status = 206;
        plan.range = (0, half);
        plan.headers.push(("Content-Range".into(), format!("bytes 0-{}/{len}", half - 1)));
    }
    if gzip || bomb {
        let body = if bomb { gzip_bomb() } else { Arc::new(gzip_bytes(&plan.body[from..to])) };
        plan.range = (0, body.len());
        plan.body = body;
        plan.headers.push(("Content-Encoding".into(), "gzip".into()));
    }
    plan
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value));
}

fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// 64 gzip members of 16 MiB of zeros each: about 1 MiB on the wire, 1 GiB once inflated.
fn gzip_bomb() -> Arc<Vec<u8>> {
    static BOMB: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let member = gzip_bytes(&vec![0u8; 16 << 20]);
        Arc::new(member.repeat(64))
    })
    .clone()
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
    let b = if b.is_empty() { None } else { Some(b.parse().ok()?) };
    Some((a, b))
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "zip" => "application/zip",
        "json" => "application/json",
        "html" => "text/html",
        _ => "application/octet-stream",
    }
}

pub(super) fn reason(status: u16) -> &'static str {
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
