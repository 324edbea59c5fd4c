//! `GET`/`HEAD` of repo files. Invariant: only regular files that `paths::resolve` accepts are opened; bodies are
//! streamed from disk through one fixed buffer (never read whole into memory) and exactly `Content-Length` bytes
//! are sent, or the connection is cut.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

use crate::conn::{Conn, Response};
use crate::paths;
use crate::ranges::{RangePlan, if_range_matches, none_match, plan_range};
use crate::request::Request;

/// Size of the transfer buffer.
const BUF_SIZE: usize = 64 * 1024;
/// `Cache-Control` for content-addressed, never-rewritten files.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for everything that may change (channel catalogs): always revalidate with the ETag.
pub(crate) const REVALIDATE: &str = "no-cache";

/// Answers a `GET` or `HEAD` for `segments` (already decoded and checked).
pub(crate) fn serve(conn: &mut Conn<'_>, req: &Request, segments: &[String], head_only: bool) -> io::Result<()> {
    let shared = conn.shared();
    let Some(path) = paths::resolve(&shared.repo, &shared.private, segments) else {
        return conn.send_text(404, "not found\n", head_only);
    };
    // Check the type before opening: opening a FIFO would block.
    if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
        return conn.send_text(404, "not found\n", head_only);
    }
    let (mut file, meta) = match File::open(&path).and_then(|f| f.metadata().map(|m| (f, m))) {
        Ok(opened) => opened,
        Err(e) => {
            log::warn!("could not open {}: {e}", path.display());
            return conn.send_text(404, "not found\n", head_only);
        }
    };
    if !meta.is_file() {
        return conn.send_text(404, "not found\n", head_only);
    }
    let etag = match shared.etags.etag_for(&path, &file, &meta) {
        Ok(etag) => etag,
        Err(e) => {
            log::error!("could not read {}: {e}", path.display());
            return conn.send_text(500, "the file could not be read\n", head_only);
        }
    };
    let len = meta.len();
    let cache = cache_control(segments);
    if let Some(list) = req.header_list("if-none-match")
        && none_match(&list, &etag)
    {
        let resp = Response::new(304).header("ETag", etag).header("Cache-Control", cache);
        return conn.send_head(resp, None);
    }
    let base = Response::new(200)
        .header("Content-Type", content_type(&path))
        .header("ETag", etag.as_str())
        .header("Cache-Control", cache)
        .header("Accept-Ranges", "bytes");
    // Ranges apply to GET only (RFC 9110 §14.2); a failed If-Range means "send everything".
    let range = req
        .header("range")
        .filter(|_| req.method == "GET")
        .filter(|_| req.header("if-range").is_none_or(|v| if_range_matches(v, &etag)));
    match range.map_or(RangePlan::Full, |r| plan_range(r, len)) {
        RangePlan::Full => {
            conn.send_head(base, Some(len))?;
            if head_only { Ok(()) } else { stream(conn, &mut file, 0, len) }
        }
        RangePlan::Partial { start, end } => {
            let mut resp = base;
            resp.set_status(206);
            let resp = resp.header("Content-Range", format!("bytes {start}-{end}/{len}"));
            conn.send_head(resp, Some(end - start + 1))?;
            stream(conn, &mut file, start, end - start + 1)
        }
        RangePlan::Unsatisfiable => {
            let resp = Response::new(416)
                .header("Content-Type", "text/plain; charset=utf-8")
                .header("Content-Range", format!("bytes */{len}"))
                .header("ETag", etag);
            conn.send_full(resp, b"the requested range is beyond the end of the file\n", false)
        }
    }
}

/// Sends `count` bytes of `file` from `start`.
fn stream(conn: &mut Conn<'_>, file: &mut File, start: u64, count: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; BUF_SIZE];
    let mut left = count;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(BUF_SIZE).min(BUF_SIZE);
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(io::Error::new(ErrorKind::UnexpectedEof, "the file shrank while it was being sent"));
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        conn.send_body(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// `Cache-Control` by location: `bundles/`, `objects/`, `releases/` are immutable, the rest revalidates.
pub(crate) fn cache_control(segments: &[String]) -> &'static str {
    let parent = segments.len().checked_sub(2).and_then(|i| segments.get(i)).map(String::as_str);
    match parent {
        Some("bundles" | "objects" | "releases") => IMMUTABLE,
        _ => REVALIDATE,
    }
}

/// `Content-Type` by extension.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "json" | "map" => "application/json",
        "zip" => "application/zip",
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "zst" => "application/zstd",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &str) -> Vec<String> {
        s.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn catalogs_revalidate_and_content_addressed_files_are_immutable() {
        assert_eq!(cache_control(&segs("app/channels/prod.json")), REVALIDATE);
        assert_eq!(cache_control(&segs("app/bundles/ab.zip.enc")), IMMUTABLE);
        assert_eq!(cache_control(&segs("app/objects/ab")), IMMUTABLE);
        assert_eq!(cache_control(&segs("app/releases/3.json")), IMMUTABLE);
        assert_eq!(cache_control(&segs("index.html")), REVALIDATE);
        assert_eq!(cache_control(&segs("bundles")), REVALIDATE);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type(Path::new("a/b.JSON")), "application/json");
        assert_eq!(content_type(Path::new("b.zip")), "application/zip");
        assert_eq!(content_type(Path::new("b.zip.enc")), "application/octet-stream");
        assert_eq!(content_type(Path::new("b.part")), "application/octet-stream");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
        assert_eq!(content_type(Path::new("i.html")), "text/html; charset=utf-8");
        assert_eq!(content_type(Path::new("m.wasm")), "application/wasm");
    }
}
