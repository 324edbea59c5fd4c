//! Shared test helpers: a publisher-like repo in a tempdir, a server on it, a real HTTP client and a raw one.
#![allow(dead_code)]

use airlock_server::{Server, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

pub const CATALOG: &str = "com.example.app/channels/production.json";
pub const BUNDLE: &str = "com.example.app/bundles/0123abcd.zip";

/// A tempdir holding `repo/` with a catalog, a bundle of 1000 patterned bytes and a page.
pub fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    put(&repo, CATALOG, br#"{"payload_type":"airlock.catalog.v1"}"#);
    put(&repo, BUNDLE, &pattern(1000));
    put(&repo, "index.html", b"<!doctype html><p>hi</p>");
    dir
}

pub fn put(repo: &Path, rel: &str, bytes: &[u8]) {
    let path = repo.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Deterministic, non-repeating-looking bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

pub fn start(dir: &tempfile::TempDir) -> Server {
    Server::start(ServerConfig::new(dir.path().join("repo"))).unwrap()
}

/// reqwest is built without a default TLS provider; it needs one installed even for plain http.
pub fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap()
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` verbatim and reads everything until the server closes.
pub fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(request).unwrap();
    read_response(&mut stream)
}

/// Reads one response until end of stream.
pub fn read_response(stream: &mut TcpStream) -> Raw {
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    parse(&out)
}

pub fn parse(out: &[u8]) -> Raw {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8(out[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Raw { status, headers, body: out[end + 4..].to_vec() }
}
