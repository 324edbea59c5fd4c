//! A stats answer is a delivery only if it is the collector's answer (issue 7, point 17): a captive portal's
//! `200 text/html`, or any 2xx body that is not the collector's JSON acknowledgement, leaves the events queued.

mod common;

use airlock_core::Cancel;
use airlock_testkit::server::{Fault, TestServer};
use common::Phone;
use serde_json::json;

const COLLECTOR: &str = "/collector/stats.json";

#[test]
fn a_captive_portal_page_answered_for_the_stats_post_leaves_every_event_queued() {
    let server = TestServer::start();
    let phone = Phone::new(json!({ "statsUrl": server.url(COLLECTOR) }));
    let agent = phone.open();
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    agent.queue_stat("app_launch_ready", "1.0.0", None, None).unwrap();
    server.put(COLLECTOR, br#"{"status":"ok"}"#.to_vec());
    server.set_fault(COLLECTOR, Fault::Html200);

    let err = agent.flush_stats(false, &Cancel::never()).unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("captive portal"), "{err}");
    assert_eq!(phone.queued_actions(), vec!["set".to_string(), "app_launch_ready".to_string()]);

    // Once the network is the real one again, the same events are delivered.
    server.clear_faults(COLLECTOR);
    let flush = agent.flush_stats(true, &Cancel::never()).unwrap();
    assert_eq!((flush.sent, flush.remaining), (2, 0));
}

#[test]
fn a_2xx_body_that_is_not_the_collectors_acknowledgement_is_not_a_delivery() {
    let server = TestServer::start();
    let phone = Phone::new(json!({ "statsUrl": server.url(COLLECTOR) }));
    let agent = phone.open();
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    for body in [&b""[..], b"OK", br#"{"hello":"proxy"}"#, br#"{"status":"error","error":"x"}"#, b"[]"] {
        server.put(COLLECTOR, body.to_vec());
        let err = agent.flush_stats(true, &Cancel::never()).unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("acknowledgement"), "{}: {err}", String::from_utf8_lossy(body));
        assert_eq!(phone.queued_actions(), vec!["set".to_string()], "{}", String::from_utf8_lossy(body));
    }
}
