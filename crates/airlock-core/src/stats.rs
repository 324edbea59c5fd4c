//! Device-side stats: a durable, bounded SQLite queue flushed in batches. Invariant: an event leaves the queue
//! only after the collector acknowledged it; every event carries a stable id, so a retried flush never counts
//! twice; a collector that is down costs bounded storage and backs off with full jitter.

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

/// What a flush did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Flush {
    pub sent: u64,
    pub remaining: u64,
    pub dropped_total: u64,
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

    /// Queues one event (Capgo action name) durably.
    pub fn queue_stat(&self, action: &str, version: &str, old: Option<&str>, reason: Option<&str>) -> Result<()> {
        let id = fsutil::random_id(20)?;
        let now = self.clock.now_ms();
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| store::queue_event(tx, &id, now, action, version, old, reason))
    }

    /// Sends queued events in batches. Respects the backoff set by earlier failures unless `force`.
    pub fn flush_stats(&self, force: bool, cancel: &Cancel) -> Result<Flush> {
        let Some(url) = self.stats_url() else {
            return Ok(Flush { sent: 0, remaining: self.queued_stats()?, dropped_total: self.dropped_stats()? });
        };
        let now = self.clock.now_ms();
        let not_before: i64 =
            store::kv_get(self.store().read(), "stats_next_ms")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        if !force && now < not_before {
            return Err(Error::Network(format!("stats collector backing off until {}", iso8601(not_before))));
        }
        let device_id = self.device_id()?;
        let channel = self.channel()?;
        let mut sent = 0;
        loop {
            cancel.check()?;
            let batch = store::queued_events(self.store().read(), BATCH)?;
            if batch.is_empty() {
                break;
            }
            let body: Vec<Value> = batch.iter().map(|e| self.stat_json(e, &device_id, &channel)).collect();
            let bytes = serde_json::to_vec(&body).map_err(|e| Error::Storage(e.to_string()))?;
            let result = self.http.post_json(&url, bytes, 64 * 1024, cancel).and_then(|(status, body)| {
                if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(Error::Network(format!(
                        "stats collector answered {status}: {}",
                        String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
                    )))
                }
            });
            if let Err(e) = result {
                self.back_off(&e)?;
                return Err(e);
            }
            let ids: Vec<String> = batch.iter().map(|e| e.id.clone()).collect();
            let mut store = self.store();
            let _lock = FileLock::exclusive(&self.layout.lock())?;
            store.write(|tx| {
                store::remove_events(tx, &ids)?;
                tx.execute("DELETE FROM kv WHERE key IN ('stats_next_ms', 'stats_attempt')", [])?;
                Ok(())
            })?;
            sent += ids.len() as u64;
        }
        Ok(Flush { sent, remaining: self.queued_stats()?, dropped_total: self.dropped_stats()? })
    }

    pub fn queued_stats(&self) -> Result<u64> {
        store::queued_count(self.store().read())
    }

    fn dropped_stats(&self) -> Result<u64> {
        Ok(store::kv_get(self.store().read(), "stats_dropped")?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn back_off(&self, err: &Error) -> Result<()> {
        let attempt: u32 =
            store::kv_get(self.store().read(), "stats_attempt")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let retry_after =
            err.to_string().split("Retry-After").nth(1).and_then(|t| {
                t.trim_start_matches([':', ' ']).split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
            });
        let r: [u8; 8] = crate::crypto::random_bytes()?;
        let rand01 = (u64::from_le_bytes(r) >> 11) as f64 / (1u64 << 53) as f64;
        let delay = schedule::backoff_ms(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS, rand01, retry_after);
        let next = self.clock.now_ms() + delay as i64;
        let mut store = self.store();
        let _lock = FileLock::exclusive(&self.layout.lock())?;
        store.write(|tx| {
            store::kv_set(tx, "stats_attempt", &(attempt + 1).to_string())?;
            store::kv_set(tx, "stats_next_ms", &next.to_string())
        })
    }

    /// One event in Capgo's stats shape plus Airlock's idempotency id.
    fn stat_json(&self, e: &store::QueuedEvent, device_id: &str, channel: &str) -> Value {
        let d = &self.config.device;
        json!({
            "id": e.id,
            "action": e.action,
            "app_id": self.config.app_id(),
            "device_id": device_id,
            "version_name": e.version,
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
