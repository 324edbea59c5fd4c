//! Transport policy. Invariant: a URL is fetched only over https, or over plain http to a loopback host
//! (127.0.0.0/8, ::1, `localhost`) or when the app explicitly allowed insecure http; redirects obey the same rule
//! and stop after a few hops, and a redirect that is not followed says where it pointed and why.

use reqwest::Url;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::redirect::{Attempt, Policy};

use crate::error::Error;
use std::net::{IpAddr, Ipv6Addr};

/// Maximum number of redirect hops followed for one request.
pub(crate) const MAX_REDIRECTS: usize = 3;

/// Why a URL may not be fetched; `None` when it may. Pure: no DNS, no I/O.
pub(crate) fn refusal(url: &Url, allow_insecure_http: bool) -> Option<String> {
    match url.scheme() {
        "https" => {
            if url.host().is_none() {
                return Some(format!("{url} has no host"));
            }
            None
        }
        "http" => {
            if is_loopback(url) || (allow_insecure_http && url.host().is_some()) {
                None
            } else if url.host().is_none() {
                Some(format!("{url} has no host"))
            } else {
                Some(format!(
                    "plain http to {} is refused ({url}); serve it over https, or set allowInsecureHttp \
                     (unsafe: anyone on the network can then block or replace downloads)",
                    url.host_str().unwrap_or("?")
                ))
            }
        }
        other => Some(format!("{url} uses the unsupported scheme '{other}'; use an https:// URL")),
    }
}

/// True when the URL's host is a loopback address or the name `localhost`.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
        };
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    name.eq_ignore_ascii_case("localhost")
}

/// The redirect policy: each hop is re-checked with [`refusal`]; more than [`MAX_REDIRECTS`] hops is an error.
pub(crate) fn redirect_policy(allow_insecure_http: bool) -> Policy {
    Policy::custom(move |attempt: Attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            let msg = format!(
                "too many redirects (more than {MAX_REDIRECTS}) ending at {}; the server is misconfigured \
                 or redirects in a loop",
                attempt.url()
            );
            return attempt.error(msg);
        }
        match refusal(attempt.url(), allow_insecure_http) {
            Some(why) => attempt.error(format!("redirect refused: {why}")),
            None => attempt.follow(),
        }
    })
}

/// The error for a redirect answer the client did not follow (reqwest hands back a 3xx whose `Location` is not
/// an http(s) URL, e.g. `file://`): names the target and why it is not fetched. `None` when there is nothing
/// more useful to say than the status itself.
pub(crate) fn unfollowed_redirect(url: &str, status: u16, headers: &HeaderMap) -> Option<Error> {
    let location = headers.get(LOCATION)?.to_str().ok()?.trim();
    let why = match Url::parse(url).and_then(|base| base.join(location)) {
        Ok(target) => refusal(&target, true)?,
        Err(e) => format!("'{location}' is not a valid URL ({e})"),
    };
    Some(Error::Network(format!(
        "{url} redirected (HTTP {status}) to {location}, which is not fetched: {why}; the server's redirect is \
         misconfigured (or a network sign-in page intercepted it); will retry later"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, allow: bool) -> bool {
        refusal(&Url::parse(url).unwrap(), allow).is_none()
    }

    #[test]
    fn https_is_always_allowed() {
        assert!(check("https://example.com/a.zip", false));
    }

    #[test]
    fn plain_http_is_allowed_only_to_loopback_or_when_allowed() {
        assert!(check("http://127.0.0.1:8080/a", false));
        assert!(check("http://127.3.4.5/a", false));
        assert!(check("http://[::1]:9/a", false));
        assert!(check("http://localhost/a", false));
        assert!(check("http://LOCALHOST./a", false));
        assert!(!check("http://localhost.example.com/a", false));
        assert!(!check("http://10.0.0.1/a", false));
        assert!(!check("http://example.invalid/a", false));
        assert!(check("http://example.invalid/a", true));
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(!check("ftp://example.com/a", true));
        assert!(!check("file:///etc/passwd", true));
    }
}
