//! Delay conditions (`setMultiDelay`). Invariant: `settle` only ever removes conditions (never adds or reorders),
//! and a malformed stored condition is dropped rather than allowed to hold back updates forever.

use serde::{Deserialize, Serialize};

use super::Moment;
use crate::clock::parse_rfc3339;
use crate::error::{Error, Result};
use crate::semver::{self, Version};

/// One of Capgo's delay conditions, with its JSON shape `{"kind": "background"|"kill"|"date"|"nativeVersion",
/// "value"?: string}`. The queued bundle applies only once every condition has been satisfied (and removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayCondition {
    /// What has to happen.
    pub kind: DelayKind,
    /// The kind's parameter: milliseconds for `background` (default `"0"`), an RFC 3339 time for `date`, a
    /// version for `nativeVersion`; ignored for `kill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl DelayCondition {
    /// A condition of `kind` with an optional `value`.
    pub fn new(kind: DelayKind, value: Option<&str>) -> Self {
        DelayCondition { kind, value: value.map(str::to_owned) }
    }
}

/// The kinds of delay condition Capgo defines; an unknown kind is a deserialization error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DelayKind {
    /// Satisfied on a return to the foreground after a background stay of at least `value` ms (default 0), so the
    /// bundle applies at the *following* background.
    Background,
    /// Satisfied at the next process start (the app was killed).
    Kill,
    /// Satisfied once the current time is strictly after `value` (RFC 3339).
    Date,
    /// Satisfied once the native app version is at least `value` (Capgo-style coerced semver).
    NativeVersion,
}

impl DelayKind {
    /// The JSON name of the kind, as apps write it.
    pub fn as_str(self) -> &'static str {
        match self {
            DelayKind::Background => "background",
            DelayKind::Kill => "kill",
            DelayKind::Date => "date",
            DelayKind::NativeVersion => "nativeVersion",
        }
    }
}

/// Outcome of evaluating one condition at a moment.
enum Verdict {
    Satisfied,
    Pending,
    /// The stored condition cannot be evaluated; the message says why.
    Malformed(String),
}

/// A `background` value: a non-negative whole number of milliseconds; `None` (absent) means 0.
fn background_ms(value: Option<&str>) -> std::result::Result<u64, String> {
    match value {
        None => Ok(0),
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse().map_err(|_| format!("background value \"{v}\" is too large"))
        }
        Some(v) => Err(format!("background value \"{v}\" is not a whole number of milliseconds (e.g. \"60000\")")),
    }
}

fn date_ms(value: Option<&str>) -> std::result::Result<i64, String> {
    let v = value.ok_or("date condition has no value; give an RFC 3339 time such as 2026-01-31T09:00:00Z")?;
    parse_rfc3339(v).ok_or_else(|| {
        format!("date value \"{v}\" is not an RFC 3339 time with a zone (e.g. new Date(...).toISOString())")
    })
}

fn version_value(value: Option<&str>) -> std::result::Result<&str, String> {
    let v = value.ok_or("nativeVersion condition has no value; give a version such as \"2.1.0\"")?;
    match Version::coerce(v) {
        Some(_) => Ok(v),
        None => Err(format!("nativeVersion value \"{v}\" is not a version number (e.g. \"2.1.0\")")),
    }
}

fn evaluate(cond: &DelayCondition, moment: &Moment, now_ms: i64, native_version: &str) -> Verdict {
    let value = cond.value.as_deref();
    let verdict = |r: std::result::Result<bool, String>| match r {
        Ok(true) => Verdict::Satisfied,
        Ok(false) => Verdict::Pending,
        Err(why) => Verdict::Malformed(why),
    };
    match cond.kind {
        DelayKind::Kill => verdict(Ok(matches!(moment, Moment::Launch))),
        DelayKind::Background => verdict(background_ms(value).map(|needed| match moment {
            // A negative stay (clock moved backwards) counts as zero.
            Moment::Foreground { background_ms } => u64::try_from(*background_ms).unwrap_or(0) >= needed,
            Moment::Launch | Moment::Background => false,
        })),
        DelayKind::Date => verdict(date_ms(value).map(|date| now_ms > date)),
        DelayKind::NativeVersion => verdict(version_value(value).map(|v| semver::compare(native_version, v).is_ge())),
    }
}

/// Re-evaluates stored delay conditions at a lifecycle `moment` (Capgo semantics) and returns those that remain,
/// in their original order. The queued bundle may apply when the result is empty.
///
/// - `kill` is satisfied at [`Moment::Launch`] only;
/// - `background` (value V ms, default 0) is satisfied at [`Moment::Foreground`] when the stay lasted ≥ V ms;
/// - `date` is satisfied at any moment once `now_ms` is strictly after the date;
/// - `nativeVersion` is satisfied at any moment once `native_version` ≥ value (see [`semver::compare`]; an
///   unparsable native version sorts lowest, so it never satisfies the condition).
///
/// A condition that cannot be evaluated (unparsable date, bad background value, missing version) is dropped with a
/// log warning, as Capgo does for dates: a broken condition must not block updates forever. Call this *before*
/// [`may_apply_next`](super::may_apply_next) at every launch, foreground and background, and persist the result.
pub fn settle(conds: &[DelayCondition], moment: &Moment, now_ms: i64, native_version: &str) -> Vec<DelayCondition> {
    conds
        .iter()
        .filter(|c| match evaluate(c, moment, now_ms, native_version) {
            Verdict::Satisfied => false,
            Verdict::Pending => true,
            Verdict::Malformed(why) => {
                log::warn!("dropping delay condition {}: {why}", c.kind.as_str());
                false
            }
        })
        .cloned()
        .collect()
}

/// Checks conditions passed to `setMultiDelay` before they are stored, so the app learns about a mistake at the
/// call instead of seeing the condition silently dropped later. `kill` accepts anything (its value is ignored);
/// `background` needs no value or a non-negative whole number of ms; `date` needs an RFC 3339 time with a zone;
/// `nativeVersion` needs a version number. Errors are [`Error::InvalidRequest`] naming the condition's position
/// (from 1) and kind.
pub fn validate(conds: &[DelayCondition]) -> Result<()> {
    for (i, c) in conds.iter().enumerate() {
        let value = c.value.as_deref();
        let check = match c.kind {
            DelayKind::Kill => Ok(()),
            DelayKind::Background => background_ms(value).map(drop),
            DelayKind::Date => date_ms(value).map(drop),
            DelayKind::NativeVersion => version_value(value).map(drop),
        };
        check.map_err(|why| {
            Error::InvalidRequest(format!("delay condition #{} ({}) is invalid: {why}", i + 1, c.kind.as_str()))
        })?;
    }
    Ok(())
}
