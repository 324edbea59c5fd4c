//! Request target to repo file. Invariant: a target resolves only to a canonical path inside the canonical repo
//! that is not hidden (no segment starts with `.`) and not private (the stats database); `.`, `..`, encoded
//! slashes, backslashes, NUL and control characters are refused before the file system is touched.

use std::path::{Path, PathBuf};

/// Splits a request target into percent-decoded path segments (query dropped, empty segments skipped).
/// `Err` carries the reason for a 400.
pub(crate) fn decode_target(target: &str) -> Result<Vec<String>, String> {
    let path = target.split('?').next().unwrap_or("");
    let path = strip_absolute_form(path)?;
    if !path.starts_with('/') {
        return Err("the request target must be an absolute path starting with '/'".into());
    }
    let mut segments = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let bytes = percent_decode(raw)?;
        let segment =
            String::from_utf8(bytes).map_err(|_| "the request path is not valid UTF-8 once decoded".to_owned())?;
        if segment == "." || segment == ".." {
            return Err("'.' and '..' are not allowed in request paths".into());
        }
        if segment.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
            return Err("encoded slashes, backslashes and control characters are not allowed in request paths".into());
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// `http://host/path` → `/path` (RFC 9112 absolute-form); other targets are returned unchanged.
fn strip_absolute_form(target: &str) -> Result<&str, String> {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return Ok(target);
    };
    match rest.find('/') {
        Some(i) => Ok(&rest[i..]),
        None if !rest.is_empty() => Ok("/"),
        None => Err("absolute-form target without a host".into()),
    }
}

/// Decodes `%XX` escapes; a malformed escape is an error.
fn percent_decode(s: &str) -> Result<Vec<u8>, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(|| "truncated percent-escape in the path".to_owned())?;
            let value = std::str::from_utf8(hex)
                .ok()
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "malformed percent-escape in the path".to_owned())?;
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// The canonical file path for `segments` under the canonical `repo`, or `None` (404) when it is hidden,
/// private, missing, or resolves (through a symlink) outside the repo.
pub(crate) fn resolve(repo: &Path, private: &[PathBuf], segments: &[String]) -> Option<PathBuf> {
    if segments.iter().any(|s| s.starts_with('.')) {
        return None;
    }
    let mut path = repo.to_path_buf();
    path.extend(segments);
    let canonical = path.canonicalize().ok()?;
    if !canonical.starts_with(repo) {
        log::warn!("refused {}: it resolves outside the repo (symlink)", path.display());
        return None;
    }
    if private.contains(&canonical) {
        return None;
    }
    Some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(target: &str) -> Vec<String> {
        decode_target(target).unwrap()
    }

    #[test]
    fn decodes_segments_and_drops_the_query() {
        assert_eq!(ok("/app/channels/prod.json?x=../y"), ["app", "channels", "prod.json"]);
        assert_eq!(ok("/a%20b/%C3%A9.txt"), ["a b", "é.txt"]);
        assert_eq!(ok("//a///b/"), ["a", "b"]);
        assert_eq!(ok("/"), Vec::<String>::new());
        assert_eq!(ok("http://host:1/a/b"), ["a", "b"]);
        assert_eq!(ok("HTTP://host"), Vec::<String>::new());
    }

    #[test]
    fn refuses_traversal_in_every_spelling() {
        for target in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/x",
            "/a/%2e/b",
            "/..%2fetc%2fpasswd",
            "/%2fetc%2fpasswd",
            "/a%5c..%5cb",
            "/a%00b",
            "/a%0ab",
            "etc/passwd",
            "*",
            "/%zz",
            "/%2",
            "/%ff",
            "http://host/../x",
        ] {
            assert!(decode_target(target).is_err(), "{target} was accepted");
        }
    }

    #[test]
    fn resolves_only_visible_files_inside_the_repo() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("app")).unwrap();
        std::fs::write(repo.join("app/a.json"), b"{}").unwrap();
        std::fs::write(repo.join(".secret"), b"k").unwrap();
        std::fs::write(repo.join("stats.sqlite3"), b"db").unwrap();
        std::fs::write(dir.path().join("outside"), b"x").unwrap();
        let repo = repo.canonicalize().unwrap();
        let private = vec![repo.join("stats.sqlite3")];
        let seg = |s: &str| s.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(resolve(&repo, &private, &seg("app/a.json")), Some(repo.join("app/a.json")));
        assert_eq!(resolve(&repo, &private, &seg(".secret")), None);
        assert_eq!(resolve(&repo, &private, &seg("stats.sqlite3")), None);
        assert_eq!(resolve(&repo, &private, &seg("app/missing")), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside"), repo.join("escape")).unwrap();
            std::os::unix::fs::symlink(repo.join("app/a.json"), repo.join("inside")).unwrap();
            assert_eq!(resolve(&repo, &private, &seg("escape")), None);
            assert_eq!(resolve(&repo, &private, &seg("inside")), Some(repo.join("app/a.json")));
        }
    }
}
