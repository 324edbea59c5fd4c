//! Resume validators. Invariant: only a strong ETag (quoted, never `W/`) may back an `If-Range`, and only a
//! well-formed `Content-Range: bytes a-b/len` with `a <= b` is trusted to say where appended bytes start.

/// A strong ETag: quoted, not `W/`.
pub(crate) fn is_strong_etag(etag: &str) -> bool {
    let etag = etag.trim();
    etag.len() >= 2 && etag.starts_with('"') && etag.ends_with('"')
}

/// The first byte position of `Content-Range: bytes a-b/len`.
pub(crate) fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, _total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let first: u64 = first.trim().parse().ok()?;
    let last: u64 = last.trim().parse().ok()?;
    (last >= first).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quoted_etags_are_strong() {
        assert!(is_strong_etag("\"abc\""));
        assert!(!is_strong_etag("W/\"abc\""));
        assert!(!is_strong_etag("abc"));
        assert!(!is_strong_etag("\""));
    }

    #[test]
    pub(crate) fn content_range_start_is_parsed_strictly() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes 100-199/*"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
        assert_eq!(content_range_start("bytes 5-1/200"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
