//! A clock set back (issue 7, point 9): a deadline that lies further ahead than its maximum interval — the
//! periodic check, the stats backoff, a server's Retry-After — cannot have been set by this clock's present, so it
//! is treated as due instead of parking the device for as long as the clock was wrong.

mod common;
mod lifecycle_support;

use airlock_core::Cancel;
use airlock_core::lifecycle::AutoOutcome;
use airlock_core::schedule::Trigger;
use airlock_testkit::server::{Fault, TestServer};
use common::{Phone, T0};
use lifecycle_support::{cold_start, world};
use serde_json::json;

const DAY: i64 = 86_400_000;

#[test]
fn a_periodic_check_deadline_further_ahead_than_one_period_is_due_after_the_clock_was_set_back() {
    let w = world(json!({ "autoUpdate": "atBackground", "periodCheckDelay": 600 }));
    w.release(1, "1.0.1");
    let agent = w.open();
    cold_start(&agent);
    agent.check_and_update(Trigger::ColdStart, &Cancel::never()).unwrap();
    let before = w.catalog_requests();

    // The user sets the clock back a month: the stored "last check" is now in the future.
    w.phone.clock.set_ms(T0 - 30 * DAY);
    assert_eq!(agent.next_periodic_check_ms().unwrap(), Some(T0 - 30 * DAY), "due now");
    let outcome = agent.check_and_update(Trigger::Periodic, &Cancel::never()).unwrap();
    assert!(!matches!(outcome, AutoOutcome::Skipped { .. }), "{outcome:?}");
    assert_eq!(w.catalog_requests(), before + 1);

    // A normal deadline (within one period) still waits.
    let next = agent.next_periodic_check_ms().unwrap().unwrap();
    assert!(next > T0 - 30 * DAY, "the check just ran, so the next one is a period away");
    assert!(matches!(
        agent.check_and_update(Trigger::Periodic, &Cancel::never()).unwrap(),
        AutoOutcome::Skipped { .. }
    ));
}

#[test]
fn a_stats_backoff_deadline_further_ahead_than_the_longest_backoff_is_due_after_the_clock_was_set_back() {
    let server = TestServer::start();
    let phone = Phone::new(json!({ "statsUrl": server.url("/collector/stats.json") }));
    let agent = phone.open();
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    server.set_fault("/collector/stats.json", Fault::Status(503));
    agent.flush_stats(false, &Cancel::never()).unwrap_err();

    server.clear_faults("/collector/stats.json");
    server.put("/collector/stats.json", br#"{"status":"ok"}"#.to_vec());
    phone.clock.set_ms(T0 - 2 * DAY);
    let flush = agent.flush_stats(false, &Cancel::never()).expect("a backoff two days ahead is stale");
    assert_eq!((flush.sent, flush.remaining), (1, 0));
}

#[test]
fn a_retry_after_deadline_further_ahead_than_a_day_is_due_after_the_clock_was_set_back() {
    let server = TestServer::start();
    let phone = Phone::new(json!({ "statsUrl": server.url("/collector/stats.json") }));
    let agent = phone.open();
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    server.set_fault("/collector/stats.json", Fault::StatusWithRetryAfter { status: 429, retry_after_secs: 3600 });
    agent.flush_stats(true, &Cancel::never()).unwrap_err();

    server.clear_faults("/collector/stats.json");
    server.put("/collector/stats.json", br#"{"status":"ok"}"#.to_vec());
    phone.clock.set_ms(T0 - 2 * DAY);
    let flush = agent.flush_stats(true, &Cancel::never()).expect("a Retry-After two days ahead is stale");
    assert_eq!((flush.sent, flush.remaining), (1, 0));
}
