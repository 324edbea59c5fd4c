//! The collector answers per event (issue 7, point 13): one event it refuses is named in Capgo's
//! `{status, results: [{status, index, error?, message?}]}` answer while the others of the batch are stored, so a
//! device drops the refused event (counted) and its queue never wedges behind it.

mod common;

use airlock_core::events::MemorySink;
use airlock_core::{Agent, Cancel, ManualClock};
use airlock_server::{Server, ServerConfig, stats};
use airlock_testkit::bundle::Device;
use serde_json::{Value, json};
use std::sync::Arc;

fn event(id: &str, action: &str, version: &str) -> Value {
    json!({"id": id, "action": action, "app_id": "com.example.app", "device_id": "d1", "version_name": version,
           "at": "2027-03-01T10:00:00Z"})
}

#[test]
fn one_bad_event_is_refused_by_index_and_the_rest_of_the_batch_is_stored() {
    let repo = tempfile::tempdir().unwrap();
    let server = Server::start(ServerConfig::new(repo.path())).unwrap();
    let batch = json!([event("a", "set", "1.0.0"), event("b", "set", ""), event("c", "app_launch_ready", "1.0.0")]);
    let resp = common::client()
        .post(format!("{}/stats", server.url()))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&batch).unwrap())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = serde_json::from_slice(&resp.bytes().unwrap()).unwrap();
    assert_eq!(answer["status"], "ok");
    assert_eq!(answer["stored"], 2);
    let results = answer["results"].as_array().expect("per-event results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0], json!({"status": "ok", "index": 0}));
    assert_eq!((results[1]["status"].as_str(), results[1]["index"].as_u64()), (Some("error"), Some(1)));
    assert_eq!(results[1]["error"], "bad_event");
    assert!(results[1]["message"].as_str().unwrap().contains("version_name"), "{answer}");
    assert_eq!(stats::open(&repo.path().join("stats.sqlite3")).unwrap().event_count().unwrap(), 2);
}

#[test]
fn a_device_whose_queue_holds_one_refused_event_delivers_the_others_and_drops_it() {
    let repo = tempfile::tempdir().unwrap();
    let server = Server::start(ServerConfig::new(repo.path())).unwrap();
    let device = Device::with_plugin(json!({ "statsUrl": format!("{}/stats", server.url()) }));
    let agent = Agent::open(device.config(), Arc::new(MemorySink::default()), Arc::new(ManualClock::new(0))).unwrap();
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    agent.queue_stat(&"x".repeat(100), "1.0.0", None, None).unwrap(); // an action longer than the collector takes
    agent.queue_stat("app_launch_ready", "1.0.0", None, None).unwrap();

    let flush = agent.flush_stats(false, &Cancel::never()).expect("the queue is not wedged by one bad event");
    assert_eq!((flush.sent, flush.remaining, flush.refused_total), (2, 0, 1), "{flush:?}");
    let db = stats::open(&repo.path().join("stats.sqlite3")).unwrap();
    let actions: Vec<String> = db.summary().unwrap().into_iter().map(|r| r.action).collect();
    assert_eq!(actions, vec!["app_launch_ready".to_string(), "set".to_string()]);
}
