//! Stats never wedge (issue 7, point 13): one event the collector refuses is dropped (and counted) while the rest
//! of the queue is delivered, a failed download without a version is reported under the serving bundle's
//! version, and a stats URL that does not exist is reported as a configuration problem, not "will retry".

mod common;

use airlock_core::Cancel;
use airlock_core::install::DownloadRequest;
use airlock_testkit::server::{Fault, TestServer};
use common::Phone;
use serde_json::json;

const COLLECTOR: &str = "/collector/stats.json";

fn phone(server: &TestServer) -> Phone {
    Phone::new(json!({ "statsUrl": server.url(COLLECTOR) }))
}

fn queued_versions(phone: &Phone) -> Vec<String> {
    let c = rusqlite::Connection::open(phone.device.root().join("state.sqlite3")).unwrap();
    let mut stmt = c.prepare("SELECT version FROM stats_queue ORDER BY seq").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

fn posted_batches(server: &TestServer) -> usize {
    server.requests_for(COLLECTOR).iter().filter(|r| r.method == "POST").count()
}

#[test]
fn an_event_the_collector_refuses_permanently_is_dropped_and_counted_and_the_rest_are_delivered() {
    let server = TestServer::start();
    let phone = phone(&server);
    let agent = phone.open();
    for action in ["set", "not_an_action", "app_launch_ready"] {
        agent.queue_stat(action, "1.0.0", None, None).unwrap();
    }
    // Capgo's batch answer: the second event is refused, the others are stored.
    let answer = json!({"status": "ok", "results": [
        {"status": "ok", "index": 0},
        {"status": "error", "index": 1, "error": "invalid_action", "message": "action is not a known stat"},
        {"status": "ok", "index": 2},
    ]});
    server.put(COLLECTOR, serde_json::to_vec(&answer).unwrap());

    let flush = agent.flush_stats(false, &Cancel::never()).expect("a per-event answer is a delivery");
    assert_eq!((flush.sent, flush.remaining, flush.refused_total), (2, 0, 1), "{flush:?}");
    assert!(phone.queued_actions().is_empty(), "the refused event does not stay at the head of the queue");
    assert_eq!(posted_batches(&server), 1);

    // Nothing is left to send: the next flush posts nothing, and the refusal stays counted across processes.
    drop(agent);
    let agent = phone.open();
    let again = agent.flush_stats(false, &Cancel::never()).unwrap();
    assert_eq!((again.sent, again.remaining, again.refused_total), (0, 0, 1));
    assert_eq!(posted_batches(&server), 1);
}

#[test]
fn a_batch_the_collector_refuses_whole_is_retried_event_by_event_and_only_the_bad_one_is_dropped() {
    let server = TestServer::start();
    let phone = phone(&server);
    let agent = phone.open();
    for action in ["set", "app_launch_ready"] {
        agent.queue_stat(action, "1.0.0", None, None).unwrap();
    }
    // An older collector that refuses a batch whole with 400 and its JSON error: the agent must not keep posting
    // the same batch. (A 400 that is not the collector's JSON keeps the events: review_findings_of_issue_7.rs.)
    let error = br#"{"error":"invalid_event","message":"the batch has an event this collector does not know"}"#;
    server.set_fault(
        COLLECTOR,
        Fault::StatusWithBody { status: 400, content_type: "application/json".into(), body: error.to_vec() },
    );
    let flush = agent.flush_stats(false, &Cancel::never()).expect("refused events are settled, not retried");
    assert_eq!((flush.sent, flush.remaining, flush.refused_total), (0, 0, 2), "{flush:?}");
    assert!(phone.queued_actions().is_empty(), "events refused one by one are dropped: {:?}", phone.queued_actions());
    assert_eq!(posted_batches(&server), 3, "the batch, then each event alone");
    assert_eq!(agent.flush_stats(false, &Cancel::never()).unwrap().sent, 0);
    assert_eq!(posted_batches(&server), 3, "nothing is posted again");
}

#[test]
fn a_failed_download_without_a_version_is_reported_under_the_serving_bundles_version() {
    let server = TestServer::start();
    let phone = phone(&server);
    let agent = phone.open();
    let req = DownloadRequest { manifest_url: Some(server.url("/missing/manifest.json")), ..Default::default() };
    agent.download(&req, &Cancel::never()).unwrap_err();
    assert_eq!(phone.queued_actions(), vec!["download_fail".to_string()]);
    let builtin = agent.builtin_version();
    assert!(!builtin.is_empty());
    assert_eq!(queued_versions(&phone), vec![builtin.clone()], "the event names the version that was serving");

    server.put(COLLECTOR, br#"{"status":"ok"}"#.to_vec());
    agent.flush_stats(false, &Cancel::never()).unwrap();
    let posted = server.requests_for(COLLECTOR);
    assert_eq!(posted.len(), 1);
    assert!(phone.queued_actions().is_empty());
}

#[test]
fn a_stats_url_that_does_not_exist_is_a_configuration_problem_and_keeps_the_events() {
    let server = TestServer::start();
    let phone = phone(&server);
    let agent = phone.open();
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    // Nothing is served at the collector's URL: 404.
    let err = agent.flush_stats(false, &Cancel::never()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("statsUrl") && msg.contains("configuration"), "{msg}");
    assert!(!msg.contains("will retry later"), "{msg}");
    assert_eq!(phone.queued_actions(), vec!["set".to_string()], "a wrong URL loses no event");
}

#[test]
fn a_very_long_failure_reason_is_cut_so_the_collector_never_refuses_the_event_for_it() {
    let server = TestServer::start();
    let phone = phone(&server);
    let agent = phone.open();
    agent.queue_stat("download_fail", "1.0.0", None, Some(&"é".repeat(10_000))).unwrap();
    let c = rusqlite::Connection::open(phone.device.root().join("state.sqlite3")).unwrap();
    let reason: String = c.query_row("SELECT reason FROM stats_queue", [], |r| r.get(0)).unwrap();
    assert!(reason.len() <= 4096 && reason.ends_with('…'), "{} bytes", reason.len());
}
