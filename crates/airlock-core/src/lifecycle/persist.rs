//! What the lifecycle keeps in the `kv` table: the app's delay conditions, the plan of the queued bundle and the
//! time of the last automatic check. Invariant: unreadable stored values degrade to "nothing stored" (with a log
//! warning) rather than blocking updates forever; writes happen only inside the caller's transaction.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::catalog::Window;
use crate::error::{Error, Result};
use crate::schedule::{Apply, DelayCondition};
use crate::store;

const DELAYS_KEY: &str = "delay_conditions";
const PLAN_KEY: &str = "next_plan";
const LAST_CHECK_KEY: &str = "last_check_ms";

/// How the queued `next` bundle was meant to be applied when the automatic pipeline queued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QueuedPlan {
    /// The bundle id this plan belongs to; a plan for another id is stale (the app queued something by hand).
    pub bundle: String,
    pub apply: Apply,
    /// The catalog rule's `install.mandatory`: delay conditions do not hold it back.
    pub mandatory: bool,
    /// The catalog rule's maintenance window (device-local `HH:MM`), gating applies at background.
    pub window: Option<Window>,
}

impl QueuedPlan {
    /// What a bundle queued by hand (`next()`) means: apply at the next background or launch, no window.
    pub fn manual(bundle: &str) -> QueuedPlan {
        QueuedPlan { bundle: bundle.to_string(), apply: Apply::NextBackground, mandatory: false, window: None }
    }
}

fn to_json<T: Serialize>(what: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Storage(format!("could not record the {what}: {e}")))
}

fn kv_delete(c: &Connection, key: &str) -> Result<()> {
    c.execute("DELETE FROM kv WHERE key = ?1", [key])?;
    Ok(())
}

/// The stored delay conditions (empty when none, or when the stored value is unreadable).
pub(crate) fn load_delays(c: &Connection) -> Result<Vec<DelayCondition>> {
    let Some(json) = store::kv_get(c, DELAYS_KEY)? else { return Ok(Vec::new()) };
    Ok(serde_json::from_str(&json).unwrap_or_else(|e| {
        log::warn!("stored delay conditions are unreadable ({e}); ignoring them");
        Vec::new()
    }))
}

/// Replaces the stored delay conditions (an empty list removes them).
pub(crate) fn save_delays(c: &Connection, conds: &[DelayCondition]) -> Result<()> {
    if conds.is_empty() {
        return kv_delete(c, DELAYS_KEY);
    }
    store::kv_set(c, DELAYS_KEY, &to_json("delay conditions", &conds)?)
}

/// The plan of the queued bundle `next`: the stored one when it was made for that bundle, else the manual plan.
pub(crate) fn load_plan(c: &Connection, next: &str) -> Result<QueuedPlan> {
    let stored = store::kv_get(c, PLAN_KEY)?.and_then(|json| match serde_json::from_str::<QueuedPlan>(&json) {
        Ok(p) => Some(p),
        Err(e) => {
            log::warn!("stored plan of the queued bundle is unreadable ({e}); treating it as queued by hand");
            None
        }
    });
    Ok(stored.filter(|p| p.bundle == next).unwrap_or_else(|| QueuedPlan::manual(next)))
}

pub(crate) fn save_plan(c: &Connection, plan: &QueuedPlan) -> Result<()> {
    store::kv_set(c, PLAN_KEY, &to_json("plan of the queued bundle", plan)?)
}

/// Forgets the automatic plan (the queued bundle was applied, or the app queued another one itself).
pub(crate) fn forget_plan(c: &Connection) -> Result<()> {
    kv_delete(c, PLAN_KEY)
}

/// When the last automatic check started (Unix ms), if one ever ran.
pub(crate) fn last_check(c: &Connection) -> Result<Option<i64>> {
    Ok(store::kv_get(c, LAST_CHECK_KEY)?.and_then(|v| v.parse().ok()))
}

pub(crate) fn record_check(c: &Connection, now_ms: i64) -> Result<()> {
    store::kv_set(c, LAST_CHECK_KEY, &now_ms.to_string())
}
