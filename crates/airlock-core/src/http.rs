//! HTTP transport. Invariant: only HTTPS (or loopback / explicitly allowed plain HTTP) is fetched; downloads
//! resume only against a strong ETag and never exceed the byte cap; a metadata document is never read past its
//! cap, and an HTML page is never handed back as one; a host that asked to wait (429 / `Retry-After`) gets no
//! request before the time it named.
//!
//! Submodules: `policy` (which URLs may be fetched, redirects), `tls` (rustls with the ring provider),
//! `resume` (strong ETags, Content-Range), `sidecar` (the durable `<key>.json` next to a `.part`),
//! `watchdog` (deadline + minimum throughput), `download` (the resumable download itself), `backoff` (a
//! host's 429 / `Retry-After`, honoured by every later request to it) and `loopback_dns` (the resolver of test
//! rigs that must never send a DNS query off the machine).

mod backoff;
mod download;
mod loopback_dns;
mod policy;
mod resume;
mod sidecar;
mod tls;
mod watchdog;

pub use backoff::{DEFAULT_429_WAIT_MS, MAX_WAIT_MS, RetryAfter};
pub use download::{DownloadSpec, Downloaded, free_space_reserve};

/// Result of a conditional GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the cached copy is current.
    NotModified,
    /// 2xx with its body and strong/weak ETag as sent.
    Body { bytes: Vec<u8>, etag: Option<String> },
}

use reqwest::StatusCode;
use reqwest::Url;
use reqwest::header::{ACCEPT_ENCODING, HeaderMap, RETRY_AFTER};
use std::io::{ErrorKind as IoErrorKind, Read};
use std::time::Duration;

use crate::clock::{Clock, iso8601};
use crate::error::{Error, Result};
use crate::events::Cancel;
use backoff::HostBackoff;
use watchdog::Watchdog;

/// Size of the reused transfer buffer.
const BUF_SIZE: usize = 128 * 1024;

/// Transport settings. Defaults follow Capgo (`responseTimeout` 20 s) and the design's watchdog numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Time allowed to connect and receive the response headers, and for each single read (Capgo's
    /// `responseTimeout`). `0` disables it.
    pub response_timeout_ms: u64,
    /// Allow plain `http://` to non-loopback hosts. Unsafe: anyone on the network can block or swap bytes
    /// (integrity still rests on checksums and signatures, but privacy and availability do not).
    pub allow_insecure_http: bool,
    /// Watchdog: a transfer moving fewer bytes per second than this over a whole window is aborted (and
    /// resumed later). `0` disables the throughput check.
    pub min_throughput_bytes_per_sec: u64,
    /// Length of the throughput window, in milliseconds. `0` disables the throughput check.
    pub throughput_window_ms: u64,
    /// Overall deadline for one `download` or `get_bytes` call, in milliseconds.
    pub overall_deadline_ms: u64,
    /// Extra trusted CA certificates (PEM), on top of the built-in Mozilla root set.
    pub extra_root_certs_pem: Vec<Vec<u8>>,
    /// `User-Agent` header sent with every request.
    pub user_agent: String,
    /// Resolve host names with a resolver that knows only `localhost` (and `*.localhost`): every other name
    /// fails locally and no DNS query leaves the machine. For test rigs (the simulator's
    /// `AIRLOCK_LOOPBACK_DNS=1`); a phone never sets it.
    pub loopback_dns_only: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            response_timeout_ms: 20_000,
            allow_insecure_http: false,
            min_throughput_bytes_per_sec: 1024,
            throughput_window_ms: 30_000,
            overall_deadline_ms: 30 * 60 * 1000,
            extra_root_certs_pem: Vec::new(),
            user_agent: format!("airlock/{}", crate::PLUGIN_VERSION),
            loopback_dns_only: false,
        }
    }
}

/// A blocking HTTP client enforcing the transport policy. Cheap to share by reference across threads.
#[derive(Debug)]
pub struct Http {
    client: reqwest::blocking::Client,
    options: HttpOptions,
    backoff: HostBackoff,
}

impl Http {
    /// Builds the client: rustls (ring) with verified certificates, no automatic decompression, at most
    /// three redirect hops each re-checked against the transport policy.
    pub fn new(options: HttpOptions) -> Result<Self> {
        let tls = tls::client_config(&options.extra_root_certs_pem)?;
        let timeout = (options.response_timeout_ms > 0).then(|| Duration::from_millis(options.response_timeout_ms));
        let mut builder = reqwest::blocking::Client::builder();
        if options.loopback_dns_only {
            builder = builder.dns_resolver(std::sync::Arc::new(loopback_dns::LoopbackOnly));
        }
        let client = builder
            .user_agent(options.user_agent.clone())
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(policy::redirect_policy(options.allow_insecure_http))
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            .http1_only()
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| Error::Config(format!("could not set up the HTTP client: {}", chain(&e))))?;
        Ok(Http { client, options, backoff: HostBackoff::in_memory() })
    }

    /// Reads time from `clock` for `Retry-After` and persists each host's deadline in the state database at
    /// `db_path`, so later processes of the app honour it too (the agent does this; without it deadlines are
    /// kept in memory on the system clock).
    pub fn with_host_backoff(mut self, clock: std::sync::Arc<dyn Clock>, db_path: std::path::PathBuf) -> Self {
        self.backoff = HostBackoff::new(clock, Some(db_path));
        self
    }

    /// Until when the host of `url` asked not to be contacted (429 / `Retry-After`), if that time has not come.
    pub fn host_not_before_ms(&self, url: &str) -> Option<i64> {
        Url::parse(url).ok().and_then(|u| self.backoff.not_before(&host_key(&u)))
    }

    /// The options this client was built with.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// Transport policy: https, or http only to loopback (127.0.0.0/8, ::1, localhost) or when allowed.
    /// No DNS: a refused URL is never requested. A host that asked to wait (429 / `Retry-After`) is refused too,
    /// as [`Error::Throttled`] naming the time the next attempt is allowed: nothing is sent to it before then.
    pub fn check_url(&self, url: &str) -> Result<()> {
        let parsed = parse_url(url)?;
        if let Some(why) = policy::refusal(&parsed, self.options.allow_insecure_http) {
            return Err(Error::Config(why));
        }
        let host = host_key(&parsed);
        match self.backoff.not_before(&host) {
            None => Ok(()),
            Some(until_ms) => Err(Error::Throttled {
                message: format!(
                    "{host} asked clients to wait (HTTP 429 or Retry-After); nothing was sent for {url}; the next \
                     attempt is allowed at {}",
                    iso8601(until_ms)
                ),
                host,
                until_ms,
            }),
        }
    }

    /// GET a small signed JSON document (manifests, catalogs, the channel index) fully into memory, refusing
    /// more than `max_bytes` before reading it when the server declares its length. An HTML page (a captive portal,
    /// a middlebox's error page) is a transient network error, whatever its Content-Type.
    pub fn get_bytes(&self, url: &str, max_bytes: u64, cancel: &Cancel) -> Result<Vec<u8>> {
        match self.get_conditional(url, None, &[], max_bytes, cancel)? {
            Fetched::Body { bytes, .. } => Ok(bytes),
            Fetched::NotModified => Err(Error::Network(format!("{url} answered 304 to an unconditional request"))),
        }
    }

    /// Conditional GET of a signed JSON document: sends `If-None-Match` when an ETag is given (a 304 costs no
    /// body) and extra headers (e.g. the health headers of a check); the body is capped at `max_bytes`, and an HTML
    /// page (a body starting with `<`, whatever its Content-Type) is a transient "captive portal" network error.
    /// A redirect the client did not follow (e.g. to `file://`) is named with its target.
    pub fn get_conditional(
        &self,
        url: &str,
        if_none_match: Option<&str>,
        headers: &[(&'static str, String)],
        max_bytes: u64,
        cancel: &Cancel,
    ) -> Result<Fetched> {
        self.get_conditional_or(url, if_none_match, headers, max_bytes, cancel, None)
    }

    /// [`Http::get_conditional`] for a document whose absence is a configuration problem (a channel catalog, the
    /// channel index): a 404 / 410 is `Error::Config` naming the cause with `missing_means` (what to check), not a
    /// "will retry later".
    pub fn get_conditional_or(
        &self,
        url: &str,
        if_none_match: Option<&str>,
        headers: &[(&'static str, String)],
        max_bytes: u64,
        cancel: &Cancel,
        missing_means: Option<&str>,
    ) -> Result<Fetched> {
        self.check_url(url)?;
        cancel.check()?;
        let mut req = self.client.get(url).header(ACCEPT_ENCODING, "identity");
        if let Some(etag) = if_none_match {
            req = req.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        let resp = req.send().map_err(|e| self.request_error(url, &e, ""))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection()
            && let Some(err) = policy::unfollowed_redirect(url, status.as_u16(), resp.headers())
        {
            return Err(err);
        }
        if let (Some(what), 404 | 410) = (missing_means, status.as_u16()) {
            return Err(Error::Config(format!(
                "{url} does not exist on the server (HTTP {}): {what}; this is a configuration problem, not a \
                 network fault: it stays until the configuration or the publisher's repo is fixed",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(self.status_error(url, status, resp.headers(), ""));
        }
        // The body decides (a JSON document mislabelled text/html is still used); an HTML page too large to read
        // is named as one rather than as an oversized document.
        let ctype = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if ctype.trim_start().to_ascii_lowercase().starts_with("text/html")
            && resp.content_length().is_some_and(|len| len > max_bytes)
        {
            return Err(html_page(url));
        }
        let etag = resp.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = self.read_body(url, resp, max_bytes, cancel)?;
        if looks_like_html(&bytes) {
            return Err(html_page(url));
        }
        Ok(Fetched::Body { bytes, etag })
    }

    /// POST a JSON body; returns the status code and the (capped) response body. Used for stats and the Capgo
    /// protocol. Non-2xx answers are returned, not turned into errors, except 429/5xx which are transient errors.
    pub fn post_json(&self, url: &str, body: Vec<u8>, max_response: u64, cancel: &Cancel) -> Result<(u16, Vec<u8>)> {
        self.check_url(url)?;
        cancel.check()?;
        let resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ACCEPT_ENCODING, "identity")
            .body(body)
            .send()
            .map_err(|e| self.request_error(url, &e, ""))?;
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(self.status_error(url, status, resp.headers(), ""));
        }
        // An answer too long to be the collector's acknowledgement is not one: the events stay queued.
        let bytes = self.read_body(url, resp, max_response, cancel).map_err(|e| match e.reject_code() {
            Some("too_large") => Error::Network(format!(
                "the answer from {url} is longer than the {max_response} bytes a stats collector's acknowledgement \
                 may have (a proxy or wrong URL answered); the events stay queued and will be retried"
            )),
            _ => e,
        })?;
        Ok((status.as_u16(), bytes))
    }

    fn read_body(
        &self,
        url: &str,
        mut resp: reqwest::blocking::Response,
        max_bytes: u64,
        cancel: &Cancel,
    ) -> Result<Vec<u8>> {
        let mut watchdog = self.watchdog();
        let too_large = || {
            Error::rejected(
                "too_large",
                format!(
                    "the document at {url} is larger than the {max_bytes} bytes allowed; it was not used (a \
                     publisher keeps metadata within the limits in docs/formats.md; otherwise the server or a proxy \
                     answered with something else)"
                ),
            )
        };
        // Every request asks for `identity`: an encoded body is not the document's bytes (a CDN or proxy
        // re-encoding it), and is never decoded (a gzip bomb costs nothing).
        if let Some(encoding) = resp.headers().get(reqwest::header::CONTENT_ENCODING)
            && !encoding.to_str().is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
        {
            return Err(Error::corrupt_in_transit(
                "content_encoding",
                format!(
                    "{url} was answered with Content-Encoding: {} although the bytes as published were asked for (a \
                     CDN or proxy re-encodes it; configure it not to compress .json files); it was discarded and \
                     will be retried",
                    String::from_utf8_lossy(encoding.as_bytes())
                ),
            ));
        }
        if resp.content_length().is_some_and(|len| len > max_bytes) {
            return Err(too_large());
        }
        // The declared length is reserved once (no doubling copies); without one, start small and grow.
        let hint = resp.content_length().unwrap_or(64 * 1024).min(max_bytes);
        let mut out = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            cancel.check()?;
            let n = match resp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Network(format!(
                        "reading {url} failed after {} bytes: {}; will retry later",
                        out.len(),
                        chain(&e)
                    )));
                }
            };
            if out.len() as u64 + n as u64 > max_bytes {
                return Err(too_large());
            }
            out.extend_from_slice(buf.get(..n).unwrap_or_default());
            watchdog
                .on_bytes(n as u64)
                .map_err(|stall| Error::Network(format!("reading {url}: {}; will retry later", stall.describe())))?;
        }
        Ok(out)
    }

    fn watchdog(&self) -> Watchdog {
        Watchdog::start(
            Duration::from_millis(self.options.overall_deadline_ms),
            Duration::from_millis(self.options.throughput_window_ms),
            self.options.min_throughput_bytes_per_sec,
        )
    }

    /// Classifies a failed `send()` as a transient network error; `then` says what happens next.
    fn request_error(&self, url: &str, err: &reqwest::Error, then: &str) -> Error {
        let then = if then.is_empty() { "will retry later" } else { then };
        let what = if err.is_redirect() {
            format!("following redirects from {url} failed: {}", chain(err))
        } else if err.is_timeout() {
            format!("{url} did not answer within {} ms (responseTimeout)", self.options.response_timeout_ms)
        } else if err.is_connect() {
            format!("could not connect for {url}: {}", chain(err))
        } else {
            format!("request to {url} failed: {}", chain(err))
        };
        Error::Network(format!("{what}; {then}"))
    }
}

/// The transient error for an HTML page answered where a signed JSON document was expected.
fn html_page(url: &str) -> Error {
    Error::Network(format!(
        "{url} returned an HTML page, not the signed JSON document (captive portal? sign in to the network); \
         nothing was used, will retry later"
    ))
}

/// True when the body starts (after whitespace and a UTF-8 byte-order mark) with `<`: markup, never JSON.
fn looks_like_html(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// Parses a URL, naming the problem when it is malformed.
fn parse_url(url: &str) -> Result<Url> {
    Url::parse(url).map_err(|e| Error::Config(format!("'{url}' is not a valid URL ({e})")))
}

impl Http {
    /// Maps a non-success HTTP status to a transient network error with a helpful message, after recording what a
    /// 429 / 503 asks for (the host's deadline, which the message names).
    fn status_error(&self, url: &str, status: StatusCode, headers: &HeaderMap, then: &str) -> Error {
        let host = Url::parse(url).map(|u| host_key(&u)).unwrap_or_default();
        let until = self.backoff.record(&host, status, headers);
        match (status_message(url, status, headers, then, until), until) {
            (Error::Network(message), Some(until_ms)) => Error::Throttled { host, until_ms, message },
            (err, _) => err,
        }
    }
}

/// The key of a host's deadline: `host:port` (port defaulted by scheme).
fn host_key(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0))
}

fn status_message(url: &str, status: StatusCode, headers: &HeaderMap, then: &str, until: Option<i64>) -> Error {
    let then = match (until, then.is_empty()) {
        (Some(t), true) => format!("the next attempt is allowed at {}", iso8601(t)),
        (Some(t), false) => format!("{then}; the next attempt is allowed at {}", iso8601(t)),
        (None, true) => "will retry later".to_owned(),
        (None, false) => then.to_owned(),
    };
    let code = status.as_u16();
    let msg = match code {
        404 | 410 => format!("{url} was not found on the server (HTTP {code}); the publisher must upload it; {then}"),
        429 | 500..=599 => {
            let retry = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(", Retry-After: {}", v.trim()))
                .unwrap_or_default();
            format!("the server is overloaded or failing (HTTP {code}{retry}) for {url}; {then}")
        }
        _ => format!("the server answered HTTP {code} for {url}; {then}"),
    };
    Error::Network(msg)
}

/// An error and its sources on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let m = e.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        source = e.source();
    }
    out
}
