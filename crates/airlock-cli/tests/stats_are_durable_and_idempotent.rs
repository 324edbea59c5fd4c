//! Device stats: events queued before a process ends are delivered by the next process; a retried flush never
//! duplicates an event at the collector; with the collector down the queue stays bounded and backs off.

use airlock_server::{Server, ServerConfig, stats};
use airlock_testkit::bundle::{Device, Dist, sha256_hex};
use airlock_testkit::server::TestServer;
use serde_json::Value;
use std::process::Command;

fn agent(cfg: &str, args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["--json", "agent", "--config", cfg])
        .args(args)
        .output()
        .expect("spawn");
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

fn queue_len(device: &Device) -> i64 {
    let db = rusqlite::Connection::open(device.root().join("state.sqlite3")).unwrap();
    db.query_row("SELECT COUNT(*) FROM stats_queue", [], |r| r.get(0)).unwrap()
}

#[test]
fn events_survive_the_process_and_a_retried_flush_is_not_duplicated() {
    let repo = tempfile::tempdir().unwrap();
    let collector = Server::start(ServerConfig::new(repo.path())).unwrap();
    let bundles = TestServer::start();
    let mut device = Device::new();
    device.plugin = serde_json::json!({ "statsUrl": format!("{}/stats", collector.url()) });
    let cfg = device.write_config().to_string_lossy().into_owned();

    // Process 1: an install and a ready queue events; the process ends without flushing.
    let zip = Dist::small("v2").zip();
    bundles.put("/v2.zip", zip.clone());
    let (ok, info) = agent(
        &cfg,
        &["download", "--url", &bundles.url("/v2.zip"), "--version", "2.0.0", "--checksum", &sha256_hex(&zip)],
    );
    assert!(ok, "{info}");
    let (_, launch) = agent(&cfg, &["set", "--id", info["id"].as_str().unwrap()]);
    agent(&cfg, &["ready", "--token", launch["token"].as_str().unwrap()]);
    let queued = queue_len(&device);
    assert!(queued >= 2, "download_complete and app_launch_ready are queued, got {queued}");
    assert_eq!(stats::summary(&repo.path().join("stats.sqlite3")).unwrap().len(), 0, "nothing sent yet");

    // Process 2: delivers them.
    let (ok, flush) = agent(&cfg, &["flush-stats"]);
    assert!(ok, "{flush}");
    assert_eq!(flush["sent"].as_i64(), Some(queued));
    assert_eq!(queue_len(&device), 0, "delivered events leave the queue");
    let db = stats::open(&repo.path().join("stats.sqlite3")).unwrap();
    assert_eq!(db.event_count().unwrap() as i64, queued);
    let actions: Vec<String> = db.summary().unwrap().into_iter().map(|r| r.action).collect();
    assert!(actions.contains(&"download_complete".to_string()) && actions.contains(&"app_launch_ready".to_string()));

    // A flush whose acknowledgement was lost (the device crashed before deleting): the same ids are sent again.
    let resend: Vec<(String, i64, String, String)> = {
        let c = rusqlite::Connection::open(repo.path().join("stats.sqlite3")).unwrap();
        let mut s = c.prepare("SELECT id, at_ms, action, version_name FROM events").unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(|r| r.unwrap()).collect()
    };
    {
        let c = rusqlite::Connection::open(device.root().join("state.sqlite3")).unwrap();
        for (id, at, action, version) in &resend {
            c.execute(
                "INSERT INTO stats_queue (id, at_ms, action, version) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, at, action, version],
            )
            .unwrap();
        }
    }
    let (ok, again) = agent(&cfg, &["flush-stats"]);
    assert!(ok, "{again}");
    assert_eq!(db.event_count().unwrap() as i64, queued, "the collector stored each event once");
    drop(collector);
}

#[test]
fn with_the_collector_down_the_queue_stays_bounded_and_backs_off() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/stats", dead.local_addr().unwrap());
    drop(dead);
    let mut device = Device::new();
    device.plugin = serde_json::json!({ "statsUrl": url });
    let cfg = device.write_config().to_string_lossy().into_owned();
    agent(&cfg, &["launch"]);
    {
        let c = rusqlite::Connection::open(device.root().join("state.sqlite3")).unwrap();
        for i in 0..1500 {
            c.execute(
                "INSERT INTO stats_queue (id, at_ms, action, version) VALUES (?1, 0, 'get', '1.0.0')",
                [format!("e{i}")],
            )
            .unwrap();
        }
    }
    // One more event through the engine trims the queue to its bound and counts the drops.
    let (ok, _) = agent(&cfg, &["download", "--url", "http://127.0.0.1:9/none.zip", "--version", "9.9.9"]);
    assert!(!ok);
    assert_eq!(queue_len(&device), 1000, "the queue never grows past its bound");
    let (ok, err) = agent(&cfg, &["flush-stats"]);
    assert!(!ok && err["error"]["kind"] == "network", "{err}");
    let (ok, err) = agent(&cfg, &["flush-stats"]);
    assert!(!ok && err["error"]["message"].as_str().unwrap().contains("backing off"), "{err}");
    assert_eq!(queue_len(&device), 1000, "nothing is lost while the collector is down");
    let dropped: String = rusqlite::Connection::open(device.root().join("state.sqlite3"))
        .unwrap()
        .query_row("SELECT value FROM kv WHERE key = 'stats_dropped'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dropped, "501", "the oldest events were dropped and counted");
}
