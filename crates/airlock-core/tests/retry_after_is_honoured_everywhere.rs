//! 429 and Retry-After (issue 7, point 10): a server's "come back later" is persisted per host (capped at 24 h)
//! and honoured by every later request to that host — check, update, download, latest, channel calls and stats
//! flushes, automatic or manual, in this and later processes — and the error says when the next attempt is
//! allowed (RFC 3339).

mod common;
mod lifecycle_support;

use airlock_core::Cancel;
use airlock_core::install::DownloadRequest;
use airlock_core::schedule::Trigger;
use airlock_testkit::server::{Fault, TestServer};
use common::{Phone, T0};
use lifecycle_support::{CHANNEL_PATH, world};
use serde_json::json;

fn no() -> Cancel {
    Cancel::never()
}

#[test]
fn a_429_with_retry_after_seconds_holds_every_later_request_to_that_host_in_this_and_later_processes() {
    let w = world(json!({ "autoUpdate": "atBackground" }));
    w.release(1, "1.0.1");
    let stats = w.server.url("/collector/stats.json");
    let mut w = w;
    w.phone.device.plugin["statsUrl"] = json!(stats);
    let agent = w.open();
    w.server.set_fault(CHANNEL_PATH, Fault::StatusWithRetryAfter { status: 429, retry_after_secs: 120 });

    let err = agent.check(&no()).unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("2025-11-29T00:02:00.000Z"), "the error names the next allowed time: {err}");
    assert_eq!(err.retry_at_ms(), Some(T0 + 120_000), "the time is kept typed");
    let asked = w.server.request_count();

    // Every later request to the host waits, manual or automatic, without touching the network.
    w.server.clear_faults(CHANNEL_PATH);
    let later = |what: &str, e: airlock_core::Error| {
        assert!(e.is_transient(), "{what}: {e}");
        assert!(e.to_string().contains("2025-11-29T00:02:00.000Z"), "{what}: {e}");
        assert_eq!(e.retry_at_ms(), Some(T0 + 120_000), "{what}: {e}");
    };
    later("check", agent.check(&no()).unwrap_err());
    later("update", agent.update(&no()).unwrap_err());
    later("latest", agent.latest(None, &no()).unwrap_err());
    later("list_channels", agent.list_channels(&no()).unwrap_err());
    later("automatic", agent.check_and_update(Trigger::Manual, &no()).unwrap_err());
    let req =
        DownloadRequest { manifest_url: Some(w.server.url("/com.example.app/releases/1.json")), ..Default::default() };
    later("download", agent.download(&req, &no()).unwrap_err());
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    later("stats flush", agent.flush_stats(true, &no()).unwrap_err());
    assert_eq!(w.server.request_count(), asked, "nothing was sent to the host while it asked to wait");

    // A new process of the app remembers it.
    drop(agent);
    let agent = w.open();
    later("check in a new process", agent.check(&no()).unwrap_err());
    assert_eq!(w.server.request_count(), asked);

    // Once the time has come, requests go out again.
    w.phone.clock.advance_ms(120_000);
    assert!(agent.check(&no()).is_ok());
    assert!(w.server.request_count() > asked);
}

#[test]
fn a_503_retry_after_http_date_is_honoured_and_a_retry_after_beyond_a_day_is_capped_at_24_hours() {
    let server = TestServer::start();
    let phone = Phone::new(json!({ "statsUrl": server.url("/collector/stats.json") }));
    let agent = phone.open();
    agent.queue_stat("set", "1.0.0", None, None).unwrap();
    // T0 is 2025-11-29T00:00:00Z; the server asks for one hour.
    server.set_fault(
        "/collector/stats.json",
        Fault::StatusWithRetryAfterValue { status: 503, value: "Sat, 29 Nov 2025 01:00:00 GMT".into() },
    );
    let err = agent.flush_stats(true, &no()).unwrap_err();
    assert!(err.to_string().contains("2025-11-29T01:00:00.000Z"), "{err}");
    phone.clock.advance_ms(59 * 60_000);
    let err = agent.flush_stats(true, &no()).unwrap_err();
    assert!(err.to_string().contains("2025-11-29T01:00:00.000Z"), "{err}");
    assert_eq!(server.request_count(), 1);

    // A week-long Retry-After parks the host for 24 hours at most.
    phone.clock.set_ms(T0 + 3_600_000);
    server
        .set_fault("/collector/stats.json", Fault::StatusWithRetryAfter { status: 429, retry_after_secs: 7 * 86_400 });
    let err = agent.flush_stats(true, &no()).unwrap_err();
    assert!(err.to_string().contains("2025-11-30T01:00:00.000Z"), "capped at 24 h: {err}");
    phone.clock.advance_ms(24 * 3_600_000);
    server.clear_faults("/collector/stats.json");
    server.put("/collector/stats.json", br#"{"status":"ok"}"#.to_vec());
    let flush = agent.flush_stats(false, &no()).unwrap();
    assert_eq!((flush.sent, flush.remaining), (1, 0));
}
