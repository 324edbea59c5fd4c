//! Deciding the answer to one request. Invariant: without faults the answer is what a correct CDN would send
//! (ETag, 304 on If-None-Match, 206/416 on Range, If-Range honoured); each fault changes exactly one thing.

use std::sync::Arc;

use super::wire::Request;
use super::{Fault, RequestRecord, Shared, State};

/// How the body is delivered.
pub(super) enum Delivery {
    Full,
    Cut(u64),
    Drip(u64),
    Stall,
    /// No `Content-Length`; the body, then filler until the client closes (bounded).
    Endless,
}

pub(super) struct Plan {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Arc<Vec<u8>>,
    pub(super) range: (usize, usize),
    pub(super) delivery: Delivery,
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

/// Decides the answer, applying faults, and logs the request.
pub(super) fn plan(shared: &Shared, req: &Request, path: &str) -> Plan {
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
    let mut spoil: Option<Fault> = None;
    if let Some(faults) = state.faults.get_mut(path) {
        for fault in faults.iter_mut() {
            match fault {
                Fault::Status(code) => {
                    return Plan::simple(*code, "text/plain", b"injected status");
                }
                Fault::StatusWithRetryAfter { status, retry_after_secs } => {
                    let mut plan = Plan::simple(*status, "text/plain", b"injected status");
                    plan.headers.push(("Retry-After".into(), retry_after_secs.to_string()));
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
                Fault::OtherBytes | Fault::GzipEncoding | Fault::SplicedRange => spoil = Some(fault.clone()),
                Fault::Endless => delivery = Delivery::Endless,
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
        return Plan { status: 304, headers, body: Arc::new(Vec::new()), range: (0, 0), delivery: Delivery::Full };
    }
    let if_range_ok = req.header("If-Range").is_none_or(|v| v.trim() == etag && !etag.starts_with("W/"));
    let range = req.header("Range").filter(|_| !ignore_range && if_range_ok).and_then(|r| parse_range(&r));
    let (status, from, to) = match range {
        Some((a, _)) if a >= len as u64 => {
            headers.push(("Content-Range".into(), format!("bytes */{len}")));
            return Plan { status: 416, headers, body: Arc::new(Vec::new()), range: (0, 0), delivery: Delivery::Full };
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
    let plan = Plan { status, headers, body: object.body, range: (from, to), delivery };
    match spoil {
        Some(fault) => spoiled(plan, &fault),
        None => plan,
    }
}

/// Applies a body-spoiling fault to a planned answer.
fn spoiled(mut plan: Plan, fault: &Fault) -> Plan {
    let (from, to) = plan.range;
    match fault {
        Fault::OtherBytes => {
            let page = b"<html><body>This site is blocked by your network administrator.</body></html>\n";
            let body: Vec<u8> = page.iter().copied().cycle().take(plan.body.len()).collect();
            plan.body = Arc::new(body);
            set_header(&mut plan.headers, "Content-Type", "application/octet-stream");
        }
        Fault::GzipEncoding => {
            let body = gzip_stored(&plan.body[from..to]);
            plan.range = (0, body.len());
            plan.body = Arc::new(body);
            set_header(&mut plan.headers, "Content-Encoding", "gzip");
            plan.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("Content-Range"));
        }
        Fault::SplicedRange if plan.status == 206 => {
            plan.body = Arc::new(plan.body.iter().map(|b| b ^ 0x5a).collect());
        }
        _ => {}
    }
    plan
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value.to_owned()));
}

/// A valid gzip member holding `data` in stored (uncompressed) deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let n = block.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
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
