//! Request head parsing. Invariant: a head is accepted only when it is at most `MAX_HEAD` bytes with at most
//! `MAX_HEADERS` well-formed header lines, an HTTP/1.x request line and no ambiguous body framing.

/// Largest request head (request line plus headers) accepted.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// Most header lines accepted.
pub(crate) const MAX_HEADERS: usize = 64;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub method: String,
    /// The request target as sent (origin-form or absolute-form).
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a list header joined with commas (RFC 9110 §5.3), `None` when absent.
    pub fn header_list(&self, name: &str) -> Option<String> {
        let values: Vec<&str> =
            self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// Whether the client waits for `100 Continue` before sending its body.
    pub fn expects_continue(&self) -> bool {
        self.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }
}

/// Why a head was refused; each maps to a status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// 400 with this explanation.
    Bad(String),
    /// 431: the head or the number of headers is over the limit.
    TooLarge,
    /// 505: not HTTP/1.x.
    Version,
}

/// Position just past the blank line ending the head (`\r\n\r\n`, or a lenient `\n\n`), if present.
pub(crate) fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses a complete head (everything before the blank line).
pub(crate) fn parse_head(head: &[u8]) -> Result<Request, HeadError> {
    if head.len() > MAX_HEAD {
        return Err(HeadError::TooLarge);
    }
    let text = std::str::from_utf8(head).map_err(|_| HeadError::Bad("the request head is not valid UTF-8".into()))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Bad(format!("malformed request line '{}'", printable(line))));
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(HeadError::Bad(format!("malformed method '{}'", printable(method))));
    }
    if target.is_empty() || target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(HeadError::Bad("malformed request target".into()));
    }
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(HeadError::Version);
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(HeadError::TooLarge);
        }
        if line.starts_with([' ', '\t']) {
            return Err(HeadError::Bad("folded header lines are not accepted".into()));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(HeadError::Bad(format!("malformed header line '{}'", printable(line))));
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(HeadError::Bad(format!("malformed header name '{}'", printable(name))));
        }
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(HeadError::Bad(format!("control characters in header {name}")));
        }
        headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
    let request = Request { method: method.to_owned(), target: target.to_owned(), headers };
    check_framing(&request)?;
    Ok(request)
}

/// Refuses heads whose body length could be read two ways (request smuggling).
fn check_framing(req: &Request) -> Result<(), HeadError> {
    let lengths: Vec<&str> =
        req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.as_str()).collect();
    if req.header("transfer-encoding").is_some() && !lengths.is_empty() {
        return Err(HeadError::Bad("both Content-Length and Transfer-Encoding were sent".into()));
    }
    if lengths.iter().any(|v| *v != lengths[0]) {
        return Err(HeadError::Bad("conflicting Content-Length headers".into()));
    }
    if let Some(v) = lengths.first()
        && (v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(HeadError::Bad(format!("invalid Content-Length '{}'", printable(v))));
    }
    Ok(())
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A short, log-safe rendering of client input.
pub(crate) fn printable(s: &str) -> String {
    s.chars().take(80).map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_request_and_looks_up_headers_case_insensitively() {
        let req =
            parse_head(b"GET /a/b.json?x=1 HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"a\"\r\nif-none-match: \"b\"\r\n")
                .unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/a/b.json?x=1");
        assert_eq!(req.header("HOST"), Some("h"));
        assert_eq!(req.header_list("if-none-match").as_deref(), Some("\"a\", \"b\""));
        assert_eq!(req.header_list("range"), None);
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nbody"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn refuses_malformed_heads() {
        assert!(matches!(parse_head(b"GET /\r\n"), Err(HeadError::Bad(_))));
        assert!(matches!(parse_head(b"GET / HTTP/2.0\r\n"), Err(HeadError::Version)));
        assert!(matches!(parse_head(b"G(T / HTTP/1.1\r\n"), Err(HeadError::Bad(_))));
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r\nNo colon\r\n"), Err(HeadError::Bad(_))));
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n"), Err(HeadError::Bad(_))));
        assert!(matches!(parse_head(b"GET /a\x00 HTTP/1.1\r\n"), Err(HeadError::Bad(_))));
    }

    #[test]
    fn refuses_ambiguous_body_framing() {
        let both = b"POST /stats HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n";
        assert!(matches!(parse_head(both), Err(HeadError::Bad(_))));
        let twice = b"POST /stats HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n";
        assert!(matches!(parse_head(twice), Err(HeadError::Bad(_))));
        let signed = b"POST /stats HTTP/1.1\r\nContent-Length: +3\r\n";
        assert!(matches!(parse_head(signed), Err(HeadError::Bad(_))));
    }

    #[test]
    fn limits_the_number_of_headers() {
        let mut head = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=MAX_HEADERS {
            head.push_str(&format!("X-{i}: v\r\n"));
        }
        assert_eq!(parse_head(head.as_bytes()), Err(HeadError::TooLarge));
    }
}
