//! Device-side stats: a durable, bounded SQLite queue flushed in batches. Invariant: an event leaves the queue
//! only after the collector's own JSON acknowledgement took it or refused it for good (refusals are counted, so
//! one bad event never blocks the others); every event carries a stable id and a version, so a retried flush
//! never counts twice; a collector that is down costs bounded storage and backs off with full jitter, and a
//! backoff deadline further ahead than the longest backoff (the clock was set back) is due.

use serde_json::{Value, json};

use crate::agent::Agent;
use crate::clock::iso8601;
use crate::config::SourceKind;
use crate::error::{Error, Result};
use crate::events::Cancel;
use crate::fsutil::{self, FileLock};
use crate::schedule;
use crate::store;

/// Events per POST.
const BATCH: usize = 100;
const BACKOFF_BASE_MS: u64 = 5_000;
const BACKOFF_CAP_MS: u64 = 3_600_000;
/// Longest `reason` sent, in characters (a longer one is cut and marked with `…`).
const MAX_REASON_CHARS: usize = 1000;
/// kv key: events the collector refused permanently and the agent dropped.
const REFUSED_KEY: &str = "stats_refused";

/// What the collector said about one POST.
enum Answer {
    /// The collector's acknowledgement: every event was taken except those at `refused` (refused for good) and
    /// at `kept` (neither taken nor refused: sent again later).
    PerEvent { refused: Vec<usize>, kept: Vec<usize> },
    /// The whole batch was refused (HTTP 400/413/422): some event in it is bad, or the batch too large.
    RefusedWhole(String),
}

/// Reads a 2xx answer: a delivery only if it is the collector's JSON acknowledgement `{"status":"ok"}`, with
/// optional per-event `results: [{status, index, error?, message?}]` (Capgo). An entry whose status is `error`
/// is refused for good; one with any status other than `ok` is kept for a later flush.
fn acknowledgement(url: &str, body: &[u8], events: usize) -> Result<Answer> {
    let not_ack = |what: &str| {
        Error::Network(format!(
            "the answer from {url} is not the stats collector's JSON acknowledgement ({what}): a captive portal, \
             proxy or wrong statsUrl answered; the events stay queued and will be retried"
        ))
    };
    let trimmed = String::from_utf8_lossy(body);
    let trimmed = trimmed.trim_start();
    if trimmed.starts_with('<') {
        return Err(not_ack("an HTML page"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| not_ack("not JSON"))?;
    if value.get("status").and_then(Value::as_str) != Some("ok") {
        return Err(not_ack("no \"status\": \"ok\""));
    }
    let Some(results) = value.get("results") else {
        return Ok(Answer::PerEvent { refused: Vec::new(), kept: Vec::new() });
    };
    let results = results.as_array().ok_or_else(|| not_ack("\"results\" is not a list"))?;
    let mut refused = Vec::new();
    let mut kept = Vec::new();
    for r in results {
        let index = r.get("index").and_then(Value::as_u64).and_then(|i| usize::try_from(i).ok());
        let Some(index) = index.filter(|i| *i < events) else {
            return Err(not_ack("a result names no event of the batch"));
        };
        match r.get("status").and_then(Value::as_str) {
            Some("ok") => {}
            Some("error") => refused.push(index),
            _ => kept.push(index),
        }
    }
    Ok(Answer::PerEvent { refused, kept })
}

/// What a flush did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Flush {
    pub sent: u64,
    pub remaining: u64,
    pub dropped_total: u64,
    /// Events the collector refused permanently and the agent dropped, since the app was installed.
    pub refused_total: u64,
}

impl Agent {
    /// Where stats go: `statsUrl`, or `<catalogUrl>/stats` for the catalog source when `statsUrl` was left at
    /// Capgo's default; `None` when disabled (`statsUrl: ""`).
    pub fn stats_url(&self) -> Option<String> {
        let p = &self.config.plugin;
        if p.stats_url.is_empty() {
            return None;
        }
        if p.source == SourceKind::Catalog && p.stats_url == crate::config::PluginConfig::default().stats_url {
            return p.catalog_url.as_ref().map(|u| format!("{}/stats", u.trim_end_matches('/')));
        }
        Some(p.stats_url.clone())
    }

    /// Queues one event (Capgo action name) durably. An event about no version (a download that failed before
    /// its version was known) is filed under the version serving now: the collector needs one, and that is the
    /// version the device was on when it happened.
    pub fn queue_stat(&self, action: &str, version: &str, old: Option<&str>, reason: Option<&str>) -> Result<()> {
        let id = fsutil::random_id(20)?;
        let now = self.clock.now_ms();
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| {
            let serving;
            let version = match version.trim() {
                "" => {
                    serving = self.serving_version(tx)?;
                    serving.as_str()
                }
                v => v,
            };
            // Collectors cap free text (the reference one at 4 KiB, Capgo's metadata at 2 KiB): never send a
            // reason that would get the event refused.
            let reason = reason.map(|r| match r.char_indices().nth(MAX_REASON_CHARS) {
                Some((cut, _)) => format!("{}…", &r[..cut]),
                None => r.to_owned(),
            });
            store::queue_event(tx, &id, now, action, version, old, reason.as_deref())
        })
    }

    /// Sends queued events in batches. Respects the backoff set by earlier failures unless `force` (a host's
    /// `Retry-After` is honoured even then). The collector answers per event (Capgo's `{status, results}`): an
    /// event it refuses is dropped and counted, never retried; a batch refused whole (an older collector) is
    /// sent again event by event so only the bad ones are dropped. Only the collector's JSON acknowledgement is a
    /// delivery: anything else (a captive portal's page) leaves the events queued.
    pub fn flush_stats(&self, force: bool, cancel: &Cancel) -> Result<Flush> {
        let Some(url) = self.stats_url() else { return self.flush_summary(0) };
        let now = self.clock.now_ms();
        let stored: i64 =
            store::kv_get(self.store().read(), "stats_next_ms")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        // A deadline further ahead than the longest backoff was set before the clock went back: it is due.
        if let Some(until) = schedule::pending_deadline(stored, now, BACKOFF_CAP_MS as i64).filter(|_| !force) {
            return Err(Error::Network(format!(
                "stats collector backing off until {}; will retry then",
                iso8601(until)
            )));
        }
        let device_id = self.device_id()?;
        let channel = self.channel()?;
        let serving = {
            let store = self.store();
            self.serving_version(store.read())?
        };
        let mut sent = 0;
        loop {
            cancel.check()?;
            let batch = store::queued_events(self.store().read(), BATCH)?;
            if batch.is_empty() {
                break;
            }
            let body: Vec<Value> = batch.iter().map(|e| self.stat_json(e, &device_id, &channel, &serving)).collect();
            let (delivered, refused) = match self.post_events(&url, &body, cancel) {
                Ok(Answer::PerEvent { refused, kept }) => {
                    let taken = |i: &usize| !refused.contains(i) && !kept.contains(i);
                    let delivered: Vec<String> =
                        batch.iter().enumerate().filter(|(i, _)| taken(i)).map(|(_, e)| e.id.clone()).collect();
                    let bad: Vec<&store::QueuedEvent> =
                        batch.iter().enumerate().filter(|(i, _)| refused.contains(i)).map(|(_, e)| e).collect();
                    if delivered.is_empty() && bad.is_empty() {
                        // Nothing of this batch was settled: stop rather than post it again in a loop.
                        return Err(self.failed_flush(Error::Network(format!(
                            "the stats collector at {url} neither took nor refused {} events; will retry later",
                            kept.len()
                        ))));
                    }
                    (delivered, bad)
                }
                Ok(Answer::RefusedWhole(why)) if batch.len() > 1 => {
                    log::warn!("{why}; sending the batch again one event at a time to find the refused ones");
                    self.post_one_by_one(&url, &batch, &body, cancel)?
                }
                Ok(Answer::RefusedWhole(why)) => {
                    log::warn!("{why}");
                    (Vec::new(), batch.iter().collect())
                }
                Err(e) => return Err(self.failed_flush(e)),
            };
            sent += delivered.len() as u64;
            self.settle_events(&delivered, &refused)?;
        }
        self.flush_summary(sent)
    }

    pub fn queued_stats(&self) -> Result<u64> {
        store::queued_count(self.store().read())
    }

    fn dropped_stats(&self) -> Result<u64> {
        Ok(store::kv_get(self.store().read(), "stats_dropped")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn refused_stats(&self) -> Result<u64> {
        Ok(store::kv_get(self.store().read(), REFUSED_KEY)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn flush_summary(&self, sent: u64) -> Result<Flush> {
        Ok(Flush {
            sent,
            remaining: self.queued_stats()?,
            dropped_total: self.dropped_stats()?,
            refused_total: self.refused_stats()?,
        })
    }

    /// The version serving now: the current bundle's, or the builtin one.
    fn serving_version(&self, c: &rusqlite::Connection) -> Result<String> {
        let current = store::load_state(c)?.current;
        Ok(store::get_bundle(c, &current)?.map(|b| b.version).unwrap_or_else(|| self.builtin_version()))
    }

    /// One POST of `body` (a JSON array of events), classified.
    fn post_events(&self, url: &str, body: &[Value], cancel: &Cancel) -> Result<Answer> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Storage(e.to_string()))?;
        let (status, answer) = self.http.post_json(url, bytes, 64 * 1024, cancel)?;
        let text = || String::from_utf8_lossy(&answer).chars().take(200).collect::<String>();
        match status {
            200..=299 => acknowledgement(url, &answer, body.len()),
            // Only the collector's own JSON refuses events; a proxy's or portal's page keeps them queued.
            400 | 413 | 422 if !is_json_object(&answer) => Err(Error::Network(format!(
                "{url} answered HTTP {status} with something that is not the stats collector's JSON ({}): a \
                 captive portal, proxy or wrong statsUrl answered; the events stay queued and will be retried",
                text()
            ))),
            400 | 413 | 422 => Ok(Answer::RefusedWhole(format!(
                "the stats collector refused a batch of {} events (HTTP {status}: {}); refused events are dropped \
                 (permanent)",
                body.len(),
                text()
            ))),
            401 | 403 | 404 | 405 | 410 => Err(Error::Config(format!(
                "the stats collector at {url} answered HTTP {status} ({}): check CapacitorUpdater.statsUrl (or \
                 catalogUrl, whose /stats it defaults to); this is a configuration problem: the events stay \
                 queued until it is fixed",
                text()
            ))),
            _ => Err(Error::Network(format!("stats collector answered {status}: {}; will retry later", text()))),
        }
    }

    /// Sends each event of a batch refused whole on its own; returns the delivered ids and the refused events.
    fn post_one_by_one<'a>(
        &self,
        url: &str,
        batch: &'a [store::QueuedEvent],
        body: &[Value],
        cancel: &Cancel,
    ) -> Result<(Vec<String>, Vec<&'a store::QueuedEvent>)> {
        let (mut delivered, mut refused) = (Vec::new(), Vec::new());
        for (event, json) in batch.iter().zip(body) {
            cancel.check()?;
            match self.post_events(url, std::slice::from_ref(json), cancel) {
                Ok(Answer::PerEvent { refused: r, kept }) if r.is_empty() && kept.is_empty() => {
                    delivered.push(event.id.clone())
                }
                Ok(Answer::PerEvent { kept, .. }) if !kept.is_empty() => {}
                Ok(Answer::PerEvent { .. } | Answer::RefusedWhole(_)) => refused.push(event),
                Err(e) => {
                    // Keep what was settled so far, then report the failure.
                    self.settle_events(&delivered, &refused)?;
                    return Err(self.failed_flush(e));
                }
            }
        }
        Ok((delivered, refused))
    }

    /// Removes delivered and refused events in one transaction, counting the refused ones.
    fn settle_events(&self, delivered: &[String], refused: &[&store::QueuedEvent]) -> Result<()> {
        for e in refused {
            log::warn!("the stats collector refused event {} ({}) permanently; it was dropped", e.id, e.action);
        }
        let refused_ids: Vec<String> = refused.iter().map(|e| e.id.clone()).collect();
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| {
            store::remove_events(tx, delivered)?;
            store::remove_events(tx, &refused_ids)?;
            if !refused_ids.is_empty() {
                let before: u64 = store::kv_get(tx, REFUSED_KEY)?.and_then(|v| v.parse().ok()).unwrap_or(0);
                store::kv_set(tx, REFUSED_KEY, &(before + refused_ids.len() as u64).to_string())?;
            }
            tx.execute("DELETE FROM kv WHERE key IN ('stats_next_ms', 'stats_attempt')", [])?;
            Ok(())
        })
    }

    /// Backs off after a failed flush (unless the host itself set a deadline, which every request honours) and
    /// returns the error.
    fn failed_flush(&self, err: Error) -> Error {
        if err.retry_at_ms().is_none()
            && let Err(e) = self.back_off()
        {
            log::warn!("could not record the stats backoff: {e}");
        }
        err
    }

    fn back_off(&self) -> Result<()> {
        let attempt: u32 =
            store::kv_get(self.store().read(), "stats_attempt")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let r: [u8; 8] = crate::crypto::random_bytes()?;
        let rand01 = (u64::from_le_bytes(r) >> 11) as f64 / (1u64 << 53) as f64;
        let delay = schedule::backoff_ms(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS, rand01, None);
        let next = self.clock.now_ms() + delay as i64;
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| {
            store::kv_set(tx, "stats_attempt", &(attempt + 1).to_string())?;
            store::kv_set(tx, "stats_next_ms", &next.to_string())
        })
    }

    /// One event in Capgo's stats shape plus Airlock's idempotency id.
    fn stat_json(&self, e: &store::QueuedEvent, device_id: &str, channel: &str, serving: &str) -> Value {
        let d = &self.config.device;
        let version = if e.version.trim().is_empty() { serving } else { e.version.as_str() };
        json!({
            "id": e.id,
            "action": e.action,
            "app_id": self.config.app_id(),
            "device_id": device_id,
            "version_name": version,
            "old_version_name": e.old_version,
            "reason": e.reason,
            "channel": channel,
            "platform": d.platform,
            "version_build": self.builtin_version(),
            "version_code": d.native_build,
            "version_os": d.os_version,
            "plugin_version": crate::PLUGIN_VERSION,
            "is_emulator": d.is_emulator,
            "is_prod": d.is_prod,
            "at": iso8601(e.at_ms),
        })
    }
}

/// True when `body` is a JSON object (the shape every answer of a stats collector has).
fn is_json_object(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, Value>>(body).is_ok()
}
