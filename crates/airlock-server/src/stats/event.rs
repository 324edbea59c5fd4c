//! Parsing a `POST /stats` body. Invariant: a body that is not a batch (not JSON, not events, too many) is refused
//! whole; otherwise each event is judged on its own ([`parse_events`]), so one bad event never costs the others,
//! and the refusal names the event and the field; every accepted event has an idempotency id, non-empty required
//! fields within their length limits, and a time.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Most events accepted in one batch (Capgo's client queues at most 200).
pub const MAX_EVENTS: usize = 1000;

/// One stat event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatEvent {
    /// Idempotency key (a UUID from the device; derived from the content for clients that send none).
    pub id: String,
    pub app_id: String,
    /// Lowercased, as Capgo's backend does.
    pub device_id: String,
    /// Capgo action name (`set`, `download_complete`, `update_fail`, …).
    pub action: String,
    /// The version the event is about.
    pub version_name: String,
    pub old_version_name: Option<String>,
    /// `channel`, or Capgo's `defaultChannel` when absent.
    pub channel: Option<String>,
    pub platform: Option<String>,
    /// Free text, or compact JSON when the device sent a structured reason.
    pub reason: Option<String>,
    /// Capgo's `metadata` string map as compact JSON.
    pub metadata: Option<String>,
    /// When it happened (Unix ms): `at` (RFC 3339), else Capgo's `timestamp` (ms), else the receive time.
    pub at_ms: i64,
}

/// Why a batch was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// Stable code: `bad_json`, `bad_event` or `too_many_events`.
    pub code: &'static str,
    pub message: String,
}

impl BatchError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        BatchError { code, message: message.into() }
    }
}

/// Parses a JSON array of events (or one event object), all or nothing: the first bad event refuses the batch.
/// `path_app_id` is the `<app_id>` of `POST /<app_id>/stats`: it fills events without `app_id` and must equal the
/// ones that have it. `now_ms` dates events sent without a time.
pub fn parse_batch(body: &[u8], path_app_id: Option<&str>, now_ms: i64) -> Result<Vec<StatEvent>, BatchError> {
    parse_events(body, path_app_id, now_ms)?.into_iter().collect()
}

/// Parses a JSON array of events (or one event object) event by event: `Err` only when the body is not a batch
/// at all (`bad_json`, `too_many_events`); otherwise one result per event, in order, a bad event being
/// `bad_event` with a message naming its index and field. Same rules as [`parse_batch`].
pub fn parse_events(
    body: &[u8],
    path_app_id: Option<&str>,
    now_ms: i64,
) -> Result<Vec<Result<StatEvent, BatchError>>, BatchError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BatchError::new("bad_json", format!("the body is not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => return Err(BatchError::new("bad_json", "the body must be a JSON array of events or one event object")),
    };
    if items.len() > MAX_EVENTS {
        return Err(BatchError::new(
            "too_many_events",
            format!("{} events in one batch; send at most {MAX_EVENTS} per request", items.len()),
        ));
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(obj) = item else {
                return Err(BatchError::new("bad_event", format!("event {i} is not a JSON object")));
            };
            parse_event(obj, path_app_id, now_ms)
                .map_err(|msg| BatchError::new("bad_event", format!("event {i}: {msg}")))
        })
        .collect())
}

fn parse_event(obj: &Map<String, Value>, path_app_id: Option<&str>, now_ms: i64) -> Result<StatEvent, String> {
    let app_id = match (text(obj, "app_id", 256)?, path_app_id) {
        (Some(a), Some(p)) if a != p => {
            return Err(format!("app_id '{a}' does not match the URL's app '{p}'; post it to /{a}/stats"));
        }
        (Some(a), _) => a,
        (None, Some(p)) => p.to_owned(),
        (None, None) => return Err("missing app_id".into()),
    };
    let required = |key: &str, max: usize| text(obj, key, max)?.ok_or_else(|| format!("missing {key}"));
    let device_id = required("device_id", 128)?.to_ascii_lowercase();
    let action = required("action", 64)?;
    let version_name = required("version_name", 1024)?;
    let old_version_name = text(obj, "old_version_name", 1024)?;
    let channel = match text(obj, "channel", 256)? {
        Some(c) => Some(c),
        None => text(obj, "defaultChannel", 256)?,
    };
    let platform = text(obj, "platform", 32)?;
    let reason = match obj.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    if reason.as_ref().is_some_and(|r| r.len() > 4096) {
        return Err("reason is longer than 4096 bytes".into());
    }
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m @ Value::Object(_)) => Some(m.to_string()),
        Some(_) => return Err("metadata must be an object of strings".into()),
    };
    if metadata.as_ref().is_some_and(|m| m.len() > 64 * 1024) {
        return Err("metadata is larger than 64 KiB".into());
    }
    let sent_time = time(obj)?;
    let at_ms = sent_time.unwrap_or(now_ms);
    let id = match text(obj, "id", 128)? {
        Some(id) => id,
        None if sent_time.is_some() => {
            derived_id(&[&app_id, &device_id, &action, &version_name, old_version_name.as_deref().unwrap_or("")], at_ms)
        }
        None => {
            return Err("missing id (and no time to derive one from); send a UUID in `id` so a retried \
                        flush is not counted twice"
                .into());
        }
    };
    Ok(StatEvent {
        id,
        app_id,
        device_id,
        action,
        version_name,
        old_version_name,
        channel,
        platform,
        reason,
        metadata,
        at_ms,
    })
}

/// An optional string field: non-empty once trimmed, at most `max` bytes, no control characters.
fn text(obj: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if s.len() > max {
                Err(format!("{key} is longer than {max} bytes"))
            } else if s.chars().any(char::is_control) {
                Err(format!("{key} contains control characters"))
            } else {
                Ok(Some(s.to_owned()))
            }
        }
        Some(_) => Err(format!("{key} must be a string")),
    }
}

/// The event time: `at` (RFC 3339) or Capgo's `timestamp` (Unix ms).
fn time(obj: &Map<String, Value>) -> Result<Option<i64>, String> {
    if let Some(at) = obj.get("at").filter(|v| !v.is_null()) {
        let text = at.as_str().ok_or("at must be an RFC 3339 string")?;
        return airlock_core::clock::parse_rfc3339(text)
            .map(Some)
            .ok_or_else(|| format!("at '{text}' is not an RFC 3339 time like 2026-01-31T12:00:00Z"));
    }
    match obj.get("timestamp") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| "timestamp must be an integer (Unix milliseconds)".into()),
    }
}

/// A stable id for clients that send none: the same event retried hashes to the same id.
fn derived_id(fields: &[&str], at_ms: i64) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update(field.as_bytes());
        hasher.update([0]);
    }
    hasher.update(at_ms.to_le_bytes());
    format!("derived-{}", hex::encode(&hasher.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn parses_a_full_event_and_lowercases_the_device() {
        let body = br#"[{"id":"e1","action":"set","app_id":"com.x","device_id":"ABC","version_name":"1.2.0",
            "old_version_name":"1.1.0","channel":"beta","platform":"ios","reason":{"code":"x"},
            "metadata":{"k":"v"},"at":"2027-01-15T08:00:00Z"}]"#;
        let events = parse_batch(body, None, NOW).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.id.as_str(), e.device_id.as_str(), e.action.as_str()), ("e1", "abc", "set"));
        assert_eq!(e.old_version_name.as_deref(), Some("1.1.0"));
        assert_eq!(e.channel.as_deref(), Some("beta"));
        assert_eq!(e.reason.as_deref(), Some(r#"{"code":"x"}"#));
        assert_eq!(e.metadata.as_deref(), Some(r#"{"k":"v"}"#));
        assert_eq!(e.at_ms, airlock_core::clock::parse_rfc3339("2027-01-15T08:00:00Z").unwrap());
    }

    #[test]
    fn accepts_a_single_capgo_style_object_with_a_timestamp_and_no_id() {
        let body = br#"{"action":"app_launch_ready","app_id":"com.x","device_id":"d","version_name":"2",
            "defaultChannel":"production","timestamp":1700000000000}"#;
        let first = parse_batch(body, Some("com.x"), NOW).unwrap();
        let again = parse_batch(body, Some("com.x"), NOW + 5).unwrap();
        assert_eq!(first[0].channel.as_deref(), Some("production"));
        assert_eq!(first[0].at_ms, 1_700_000_000_000);
        assert!(first[0].id.starts_with("derived-"));
        assert_eq!(first[0].id, again[0].id);
    }

    #[test]
    fn refuses_bad_batches_with_a_message_naming_the_event() {
        let bad = |body: &[u8], app: Option<&str>| parse_batch(body, app, NOW).unwrap_err();
        assert_eq!(bad(b"[{", None).code, "bad_json");
        assert_eq!(bad(b"42", None).code, "bad_json");
        let missing =
            bad(br#"[{"id":"a","action":"set","app_id":"x","device_id":"d","version_name":"1"},{"id":"b"}]"#, None);
        assert_eq!(missing.code, "bad_event");
        assert!(missing.message.starts_with("event 1:"), "{}", missing.message);
        let no_id = bad(br#"[{"action":"set","app_id":"x","device_id":"d","version_name":"1"}]"#, None);
        assert!(no_id.message.contains("missing id"), "{}", no_id.message);
        let other_app =
            bad(br#"[{"id":"a","action":"set","app_id":"x","device_id":"d","version_name":"1"}]"#, Some("y"));
        assert!(other_app.message.contains("does not match"), "{}", other_app.message);
        let bad_time =
            bad(br#"{"id":"a","action":"set","app_id":"x","device_id":"d","version_name":"1","at":"yesterday"}"#, None);
        assert!(bad_time.message.contains("RFC 3339"), "{}", bad_time.message);
        let wrong_type = bad(br#"{"id":1,"action":"set","app_id":"x","device_id":"d","version_name":"1"}"#, None);
        assert!(wrong_type.message.contains("id must be a string"), "{}", wrong_type.message);
    }

    #[test]
    fn fills_the_app_from_the_url_and_limits_the_batch_size() {
        let ok = parse_batch(br#"[{"id":"a","action":"set","device_id":"d","version_name":"1"}]"#, Some("com.y"), NOW)
            .unwrap();
        assert_eq!(ok[0].app_id, "com.y");
        assert_eq!(ok[0].at_ms, NOW);
        let many = format!("[{}]", vec!["{}"; MAX_EVENTS + 1].join(","));
        assert_eq!(parse_batch(many.as_bytes(), None, NOW).unwrap_err().code, "too_many_events");
    }
}
