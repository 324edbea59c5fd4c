//! `POST /stats`: Capgo-style event batches stored once each in SQLite, refused whole when malformed or too
//! large, kept across restarts and summarised per app, channel, version and action.

mod common;

use airlock_server::stats::{self, StatRow};
use airlock_server::{Server, ServerConfig};
use common::{client, raw, repo, start};
use serde_json::{Value, json};
use std::io::{Read, Write};

fn event(id: &str, action: &str, device: &str, version: &str, channel: &str) -> Value {
    json!({
        "id": id, "action": action, "app_id": "com.example.app", "device_id": device,
        "version_name": version, "old_version_name": "builtin", "channel": channel, "platform": "android",
        "at": "2027-03-01T10:00:00Z"
    })
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}{path}", server.url()))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, serde_json::from_slice(&resp.bytes().unwrap()).unwrap())
}

fn stored_ids(dir: &tempfile::TempDir) -> u64 {
    stats::open(&dir.path().join("repo/stats.sqlite3")).unwrap().event_count().unwrap()
}

#[test]
fn posting_the_same_batch_twice_stores_each_event_once() {
    let dir = repo();
    let server = start(&dir);
    let batch = json!([
        event("e1", "download_complete", "d1", "1.1.0", "production"),
        event("e2", "set", "d1", "1.1.0", "production"),
        event("e3", "app_launch_ready", "d1", "1.1.0", "production"),
    ]);
    let (status, first) = post(&server, "/stats", &batch);
    assert_eq!(status, 200);
    assert_eq!(first, json!({"status": "ok", "stored": 3, "duplicates": 0}));
    let (status, retry) = post(&server, "/stats", &batch);
    assert_eq!(status, 200);
    assert_eq!(retry, json!({"status": "ok", "stored": 0, "duplicates": 3}));
    assert_eq!(stored_ids(&dir), 3);
}

#[test]
fn a_single_event_object_and_the_per_app_url_are_accepted() {
    let dir = repo();
    let server = start(&dir);
    let (status, body) = post(&server, "/com.example.app/stats", &event("solo", "set", "d9", "2.0.0", "beta"));
    assert_eq!((status, body["stored"].as_u64()), (200, Some(1)));
    let other = json!([event("x", "set", "d9", "2.0.0", "beta")]);
    let (status, body) = post(&server, "/com.other.app/stats", &other);
    // Refused per event (issue 7, point 13): the answer names the event, the batch itself is answered.
    assert_eq!((status, body["stored"].as_u64()), (200, Some(0)));
    assert_eq!(body["results"][0]["error"], "bad_event");
    assert!(body["results"][0]["message"].as_str().unwrap().contains("does not match"), "{body}");
    assert_eq!(stored_ids(&dir), 1);
}

#[test]
fn malformed_json_gets_400_and_an_invalid_event_is_refused_on_its_own() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    let resp = http.post(format!("{}/stats", server.url())).body("[{\"id\": ").send().unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = serde_json::from_slice(&resp.bytes().unwrap()).unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["error"], "bad_json");
    assert!(body["message"].as_str().unwrap().contains("not valid JSON"), "{body}");

    let half_bad = json!([event("ok1", "set", "d1", "1", "p"), {"id": "bad", "action": "set"}]);
    let (status, body) = post(&server, "/stats", &half_bad);
    // One bad event is refused on its own (issue 7, point 13); the good one is stored.
    assert_eq!(status, 200);
    assert_eq!(body["results"][0], json!({"status": "ok", "index": 0}));
    assert!(body["results"][1]["message"].as_str().unwrap().starts_with("event 1: missing app_id"), "{body}");
    assert_eq!(stored_ids(&dir), 1, "only the bad event is refused");
}

#[test]
fn an_oversized_body_gets_413_before_it_is_read() {
    let dir = repo();
    let server = start(&dir);
    let big = format!("[{}]", " ".repeat(1 << 20));
    let resp = client().post(format!("{}/stats", server.url())).body(big).send().unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = serde_json::from_slice(&resp.bytes().unwrap()).unwrap();
    assert_eq!(body["error"], "too_large");
    // Announced with Expect: 100-continue, the body is refused without the client sending it.
    let head = b"POST /stats HTTP/1.1\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n";
    let refused = raw(server.addr(), head);
    assert_eq!(refused.status, 413);
    assert_eq!(stored_ids(&dir), 0);
}

#[test]
fn chunked_bodies_and_expect_continue_are_understood() {
    let dir = repo();
    let server = start(&dir);
    let json = serde_json::to_string(&json!([event("c1", "set", "d1", "1", "p")])).unwrap();
    let (a, b) = json.split_at(10);
    let chunked = format!(
        "POST /stats HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let resp = raw(server.addr(), chunked.as_bytes());
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(serde_json::from_slice::<Value>(&resp.body).unwrap()["stored"], 1);

    let json = serde_json::to_string(&json!([event("c2", "set", "d1", "1", "p")])).unwrap();
    let expect = format!("POST /stats HTTP/1.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n", json.len());
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream.write_all(expect.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n", "the body is asked for only once it fits");
    stream.write_all(json.as_bytes()).unwrap();
    let done = common::read_response(&mut stream);
    assert_eq!(done.status, 200);
    assert_eq!(stored_ids(&dir), 2);

    let no_length = raw(server.addr(), b"POST /stats HTTP/1.1\r\n\r\n");
    assert_eq!(no_length.status, 411);
}

#[test]
fn events_survive_a_server_restart_and_retries_after_it_are_still_deduplicated() {
    let dir = repo();
    let batch =
        json!([event("r1", "set", "d1", "1.1.0", "production"), event("r2", "set", "d2", "1.1.0", "production")]);
    let server = start(&dir);
    assert_eq!(post(&server, "/stats", &batch).1["stored"], 2);
    server.shutdown();

    let server = start(&dir);
    let (_, again) = post(&server, "/stats", &batch);
    assert_eq!(again, json!({"status": "ok", "stored": 0, "duplicates": 2}));
    assert_eq!(stored_ids(&dir), 2);
}

#[test]
fn summary_groups_by_app_channel_version_and_action_with_distinct_devices() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("repo")).unwrap();
    let db = dir.path().join("elsewhere/stats.db");
    let mut config = ServerConfig::new(dir.path().join("repo"));
    config.stats_db = Some(db.clone());
    let server = Server::start(config).unwrap();
    let batch = json!([
        event("s1", "set", "d1", "1.1.0", "production"),
        event("s2", "set", "d2", "1.1.0", "production"),
        event("s3", "set", "d2", "1.1.0", "production"),
        event("s4", "update_fail", "d3", "1.1.0", "production"),
        event("s5", "set", "d4", "1.2.0", "beta"),
        {"id": "s6", "action": "set", "app_id": "com.example.app", "device_id": "D5", "version_name": "1.2.0"},
    ]);
    assert_eq!(post(&server, "/stats", &batch).1["stored"], 6);
    let row = |channel: Option<&str>, version: &str, action: &str, events, devices| StatRow {
        app_id: "com.example.app".into(),
        channel: channel.map(str::to_owned),
        version: version.into(),
        action: action.into(),
        events,
        devices,
    };
    let expected = vec![
        row(None, "1.2.0", "set", 1, 1),
        row(Some("beta"), "1.2.0", "set", 1, 1),
        row(Some("production"), "1.1.0", "set", 3, 2),
        row(Some("production"), "1.1.0", "update_fail", 1, 1),
    ];
    assert_eq!(stats::summary(&db).unwrap(), expected);
    assert!(!dir.path().join("repo/stats.sqlite3").exists(), "the configured database is used");
    assert!(stats::summary(&dir.path().join("never-created.db")).unwrap().is_empty());
}

#[test]
fn get_on_the_stats_url_is_not_a_file_and_other_methods_are_refused() {
    let dir = repo();
    let server = start(&dir);
    let http = client();
    assert_eq!(http.get(format!("{}/stats", server.url())).send().unwrap().status(), 404);
    let put = http.put(format!("{}/stats", server.url())).body("[]").send().unwrap();
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET, HEAD, POST");
    let (status, body) = post(&server, "/stats", &json!([]));
    assert_eq!((status, body), (200, json!({"status": "ok", "stored": 0, "duplicates": 0})));
}
