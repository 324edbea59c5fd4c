//! Request routing. Invariant: `GET`/`HEAD` reach only `/healthz` and repo files, `POST` reaches only
//! `/stats` and `/<app_id>/stats`; every other method or target gets an explicit error status.

use serde_json::json;
use std::io::{self, ErrorKind};

use crate::conn::{BodyError, Conn, Response};
use crate::request::Request;
use crate::{files, paths, stats};

/// Answers one request.
pub(crate) fn dispatch(conn: &mut Conn<'_>, req: &Request) -> io::Result<()> {
    let head_only = req.method == "HEAD";
    let segments = match paths::decode_target(&req.target) {
        Ok(segments) => segments,
        Err(msg) => return conn.send_text(400, &format!("{msg}\n"), head_only),
    };
    let is_stats = match segments.as_slice() {
        [s] | [_, s] => s == "stats",
        _ => false,
    };
    match req.method.as_str() {
        "GET" | "HEAD" if segments == ["healthz"] => conn.send_text(200, "ok\n", head_only),
        "GET" | "HEAD" => files::serve(conn, req, &segments, head_only),
        "POST" if is_stats => post_stats(conn, req, segments.first().filter(|_| segments.len() == 2)),
        _ => {
            let allow = if is_stats { "GET, HEAD, POST" } else { "GET, HEAD" };
            let resp = Response::new(405).header("Allow", allow).header("Content-Type", "text/plain; charset=utf-8");
            conn.send_full(resp, format!("{} is not allowed here; use {allow}\n", req.method).as_bytes(), head_only)
        }
    }
}

/// `POST /stats` or `POST /<app_id>/stats`: store the batch and say how many events were new.
fn post_stats(conn: &mut Conn<'_>, req: &Request, app_id: Option<&String>) -> io::Result<()> {
    let shared = conn.shared();
    let cap = shared.max_stats_body;
    let body = match conn.read_body(req, cap) {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return error(conn, 413, "too_large", format!("the body is over {cap} bytes; send smaller batches"));
        }
        Err(BodyError::LengthRequired) => {
            return error(conn, 411, "length_required", "send Content-Length (or a chunked body)".into());
        }
        Err(BodyError::Bad(msg)) => return error(conn, 400, "bad_body", msg),
        Err(BodyError::Io(e)) if e.kind() == ErrorKind::TimedOut => {
            return error(conn, 408, "timeout", "the body did not arrive in time".into());
        }
        Err(BodyError::Io(e)) => return Err(e),
    };
    let parsed = match stats::parse_events(&body, app_id.map(String::as_str), stats::now_ms()) {
        Ok(parsed) => parsed,
        Err(e) => return error(conn, 400, e.code, e.message),
    };
    let events: Vec<stats::StatEvent> = parsed.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
    let result = shared.stats_db().insert(&events);
    match result {
        Ok(done) => {
            log::info!("stats: {} events stored, {} duplicates", done.stored, done.duplicates);
            let mut answer = json!({"status": "ok", "stored": done.stored, "duplicates": done.duplicates});
            if events.len() < parsed.len() {
                // Capgo's per-event answer: a refused event is named, the others are taken; never all or nothing.
                let results: Vec<_> = parsed
                    .iter()
                    .enumerate()
                    .map(|(index, r)| match r {
                        Ok(_) => json!({"status": "ok", "index": index}),
                        Err(e) => json!({"status": "error", "index": index, "error": e.code, "message": e.message}),
                    })
                    .collect();
                log::info!("stats: {} events refused", parsed.len() - events.len());
                answer["results"] = json!(results);
            }
            conn.send_json(200, &answer)
        }
        Err(e) => {
            log::error!("stats: {e}");
            error(conn, 500, "storage", "the events could not be stored; retry later".into())
        }
    }
}

fn error(conn: &mut Conn<'_>, status: u16, code: &str, message: String) -> io::Result<()> {
    conn.send_json(status, &json!({"status": "error", "error": code, "message": message}))
}
