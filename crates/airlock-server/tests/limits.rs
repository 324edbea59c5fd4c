//! Resource bounds: request head size and header count, slow and idle clients, the connection cap, protocol
//! versions, and a shutdown that returns even while clients hang on.

mod common;

use airlock_server::{Server, ServerConfig};
use common::{parse, raw, read_response, repo};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn start_with(dir: &tempfile::TempDir, edit: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut config = ServerConfig::new(dir.path().join("repo"));
    edit(&mut config);
    Server::start(config).unwrap()
}

#[test]
fn an_oversized_request_head_gets_431() {
    let dir = repo();
    let server = common::start(&dir);
    let huge = format!("GET /index.html HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(20 * 1024));
    assert_eq!(raw(server.addr(), huge.as_bytes()).status, 431);
    let mut many = String::from("GET /index.html HTTP/1.1\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(raw(server.addr(), many.as_bytes()).status, 431);
    assert_eq!(raw(server.addr(), b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
}

#[test]
fn malformed_heads_and_other_protocol_versions_are_refused() {
    let dir = repo();
    let server = common::start(&dir);
    assert_eq!(raw(server.addr(), b"GET /index.html HTTP/2.0\r\n\r\n").status, 505);
    assert_eq!(raw(server.addr(), b"GET /index.html\r\n\r\n").status, 400);
    assert_eq!(raw(server.addr(), b"GET /index.html HTTP/1.1\r\nbad header\r\n\r\n").status, 400);
    let smuggle = b"POST /stats HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(raw(server.addr(), smuggle).status, 400);
    let lf_only = raw(server.addr(), b"GET /index.html HTTP/1.0\n\n");
    assert_eq!(lf_only.status, 200, "bare LF line endings are tolerated");
}

#[test]
fn a_client_that_stops_mid_head_gets_408_and_the_connection_closes() {
    let dir = repo();
    let server = start_with(&dir, |c| c.request_timeout = Duration::from_millis(300));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(b"GET /index.html HTTP/1.1\r\nHost: slo").unwrap();
    let resp = read_response(&mut stream);
    assert_eq!(resp.status, 408);
}

#[test]
fn an_idle_connection_is_closed_without_an_answer() {
    let dir = repo();
    let server = start_with(&dir, |c| c.request_timeout = Duration::from_millis(300));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    assert!(out.is_empty());
    assert_eq!(server.counters().requests, 0);
}

#[test]
fn connections_over_the_cap_get_503_until_a_slot_frees() {
    let dir = repo();
    let server = start_with(&dir, |c| c.max_connections = 1);
    // The first connection takes the only slot and holds it by saying nothing.
    let hog = TcpStream::connect(server.addr()).unwrap();
    let busy = raw(server.addr(), b"GET /index.html HTTP/1.1\r\n\r\n");
    assert_eq!(busy.status, 503);
    assert_eq!(busy.header("retry-after"), Some("1"));
    drop(hog);
    let served = raw(server.addr(), b"GET /index.html HTTP/1.1\r\n\r\n");
    assert_eq!(served.status, 200);
    assert_eq!(server.counters().requests, 1, "the 503 is not counted as a served request");
}

#[test]
fn shutdown_returns_while_clients_are_idle_or_mid_request() {
    let dir = repo();
    let server = common::start(&dir);
    let addr = server.addr();
    let mut idle = TcpStream::connect(addr).unwrap();
    let mut partial = TcpStream::connect(addr).unwrap();
    partial.write_all(b"GET /index.html HTTP/1.1\r\n").unwrap();
    // Make sure both connections were accepted and are being served before stopping.
    assert_eq!(raw(addr, b"GET /healthz HTTP/1.1\r\n\r\n").status, 200);
    server.shutdown();
    idle.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    partial.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = Vec::new();
    assert_eq!(idle.read_to_end(&mut out).unwrap(), 0);
    assert_eq!(partial.read_to_end(&mut out).unwrap(), 0);
    assert!(TcpStream::connect(addr).is_err(), "nothing listens after shutdown");
}

#[test]
fn a_stop_handle_ends_wait_from_another_thread() {
    let dir = repo();
    let server = common::start(&dir);
    let addr = server.addr();
    let handle = server.stop_handle();
    let stopper = std::thread::spawn(move || {
        let status = raw(addr, b"GET /healthz HTTP/1.1\r\n\r\n").status;
        handle.stop();
        handle.stop();
        status
    });
    server.wait();
    assert_eq!(stopper.join().unwrap(), 200);
    assert!(TcpStream::connect(addr).is_err(), "nothing listens after wait returns");
}

#[test]
fn a_missing_repo_or_a_busy_port_is_a_clear_start_error() {
    let dir = repo();
    let missing = Server::start(ServerConfig::new(dir.path().join("nope"))).err().unwrap();
    assert!(missing.to_string().contains("cannot serve the repo"), "{missing}");
    let first = common::start(&dir);
    let mut config = ServerConfig::new(dir.path().join("repo"));
    config.addr = first.addr();
    let clash = Server::start(config).err().unwrap();
    assert!(clash.to_string().contains("could not listen on"), "{clash}");
    assert_eq!(first.url(), format!("http://127.0.0.1:{}", first.addr().port()));
}

#[test]
fn a_wildcard_address_is_reported_as_loopback() {
    let dir = repo();
    let server = start_with(&dir, |c| c.addr = "0.0.0.0:0".parse().unwrap());
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let resp = parse(&{
        let mut s = TcpStream::connect(("127.0.0.1", server.addr().port())).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n\r\n").unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    });
    assert_eq!(resp.status, 200);
}
