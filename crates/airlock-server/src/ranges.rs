//! Conditional and range request headers (RFC 9110 §13, §14). Invariant: `If-None-Match` uses weak comparison,
//! `If-Range` strong comparison only (a weak tag or a date never matches), and only one well-formed byte range
//! is ever honoured; anything else falls back to the full representation.

/// What to do with a `Range` header for a representation of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangePlan {
    /// Send bytes `start..=end` with 206.
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
    /// Not a single well-formed byte range: ignore it and send everything with 200.
    Full,
}

/// Interprets `Range` for a representation of `len` bytes.
pub(crate) fn plan_range(header: &str, len: u64) -> RangePlan {
    let Some((unit, set)) = header.trim().split_once('=') else {
        return RangePlan::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangePlan::Full;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangePlan::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    match (number(first), number(last)) {
        (Some(start), Some(end)) if end >= start => {
            if start >= len {
                RangePlan::Unsatisfiable
            } else {
                RangePlan::Partial { start, end: end.min(len - 1) }
            }
        }
        (Some(start), None) if last.is_empty() => {
            if start >= len {
                RangePlan::Unsatisfiable
            } else {
                RangePlan::Partial { start, end: len - 1 }
            }
        }
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                RangePlan::Unsatisfiable
            } else {
                RangePlan::Partial { start: len.saturating_sub(suffix), end: len - 1 }
            }
        }
        _ => RangePlan::Full,
    }
}

/// A non-empty run of digits; an overflowing number saturates (it is beyond any file anyway).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// `If-None-Match` evaluation: true when `*` or any listed entity tag weakly matches `etag`.
pub(crate) fn none_match(header: &str, etag: &str) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let ours = opaque(etag);
    entity_tags(header).any(|tag| opaque(tag) == ours)
}

/// `If-Range` evaluation: true only for a strong entity tag equal to our (strong) `etag`.
pub(crate) fn if_range_matches(header: &str, etag: &str) -> bool {
    let header = header.trim();
    header.starts_with('"') && header.len() >= 2 && header.ends_with('"') && header == etag
}

/// The opaque part of an entity tag (the quoted string, `W/` dropped).
fn opaque(tag: &str) -> &str {
    tag.trim().strip_prefix("W/").unwrap_or(tag.trim())
}

/// Entity tags of a list header, each as sent (`"x"` or `W/"x"`); parsing stops at the first malformed one.
/// Commas are legal inside a quoted tag, so the list is scanned rather than split.
fn entity_tags(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return None;
        }
        let start = rest;
        let body = rest.strip_prefix("W/").unwrap_or(rest);
        let inner = body.strip_prefix('"')?;
        let close = inner.find('"')?;
        let tag_len = (start.len() - inner.len()) + close + 1;
        let tag = &start[..tag_len];
        rest = &start[tag_len..];
        Some(tag)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangePlan::*;

    #[test]
    fn single_byte_ranges_follow_rfc_9110() {
        assert_eq!(plan_range("bytes=0-4", 10), Partial { start: 0, end: 4 });
        assert_eq!(plan_range("bytes=4-", 10), Partial { start: 4, end: 9 });
        assert_eq!(plan_range("bytes=5-100", 10), Partial { start: 5, end: 9 });
        assert_eq!(plan_range("bytes=-3", 10), Partial { start: 7, end: 9 });
        assert_eq!(plan_range("bytes=-30", 10), Partial { start: 0, end: 9 });
        assert_eq!(plan_range("Bytes = 2 - 3", 10), Partial { start: 2, end: 3 });
        assert_eq!(plan_range("bytes=0-99999999999999999999999", 10), Partial { start: 0, end: 9 });
    }

    #[test]
    fn unsatisfiable_and_ignored_ranges() {
        assert_eq!(plan_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(plan_range("bytes=10-20", 10), Unsatisfiable);
        assert_eq!(plan_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(plan_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(plan_range("bytes=-5", 0), Unsatisfiable);
        assert_eq!(plan_range("bytes=5-1", 10), Full);
        assert_eq!(plan_range("bytes=0-1,3-4", 10), Full);
        assert_eq!(plan_range("items=0-1", 10), Full);
        assert_eq!(plan_range("bytes=a-b", 10), Full);
        assert_eq!(plan_range("bytes=-", 10), Full);
        assert_eq!(plan_range("bytes", 10), Full);
    }

    #[test]
    fn if_none_match_uses_weak_comparison_over_a_list() {
        let etag = "\"abc\"";
        assert!(none_match("\"abc\"", etag));
        assert!(none_match("W/\"abc\"", etag));
        assert!(none_match("\"x\", W/\"abc\"", etag));
        assert!(none_match("\"a,b\",\"abc\"", etag));
        assert!(none_match(" * ", etag));
        assert!(!none_match("\"abcd\"", etag));
        assert!(!none_match("abc", etag));
        assert!(!none_match("", etag));
    }

    #[test]
    fn if_range_needs_an_identical_strong_tag() {
        let etag = "\"abc\"";
        assert!(if_range_matches("\"abc\"", etag));
        assert!(!if_range_matches("W/\"abc\"", etag));
        assert!(!if_range_matches("\"other\"", etag));
        assert!(!if_range_matches("Wed, 21 Oct 2015 07:28:00 GMT", etag));
    }
}
