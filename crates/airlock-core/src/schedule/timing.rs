//! Time arithmetic for scheduling. Invariant: every function here is total — any input, including absurd
//! times, periods or attempt counts, yields a value without overflow or panic.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const MINUTES_PER_DAY: i64 = 24 * 60;
const MS_PER_MINUTE: i64 = 60_000;

/// Parses `HH:MM` (exactly two digits each; `00:00`..`23:59`, plus `24:00` meaning midnight) into minutes of day.
fn minute_of_day(s: &str, which: &str) -> Result<i64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let parsed = match (b.len(), b.get(2)) {
        (5, Some(b':')) => digits(0..2).zip(digits(3..5)),
        _ => None,
    };
    match parsed {
        Some((h, m)) if (h < 24 && m < 60) || (h == 24 && m == 0) => Ok((h * 60 + m) % MINUTES_PER_DAY),
        _ => Err(Error::rejected(
            "bad_metadata",
            format!("maintenance window {which} \"{s}\" is not a 24-hour local time \"HH:MM\" such as \"02:00\""),
        )),
    }
}

/// Is the device's local time inside the maintenance window `start`–`end`?
///
/// Times are `"HH:MM"` in the device's local time, which is UTC shifted by `utc_offset_minutes` (e.g. 120 for
/// UTC+2; the caller reads it from the OS so daylight saving is its concern). `start` is inclusive, `end` is
/// exclusive, a window may cross midnight (`22:00`–`02:00`), and `start == end` means always open. `24:00` is
/// accepted as midnight. A malformed time is `Error::Rejected("bad_metadata")`: the catalog rule carrying it is
/// broken, and the caller should not apply anything "now" because of it.
pub fn in_window(start: &str, end: &str, now_ms: i64, utc_offset_minutes: i32) -> Result<bool> {
    let (s, e) = (minute_of_day(start, "start")?, minute_of_day(end, "end")?);
    let local = (now_ms.div_euclid(MS_PER_MINUTE) + i64::from(utc_offset_minutes)).rem_euclid(MINUTES_PER_DAY);
    Ok(match s.cmp(&e) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => s <= local && local < e,
        std::cmp::Ordering::Greater => local >= s || local < e,
    })
}

/// When the next periodic check is due, given when the last one ran.
///
/// `period_s` is `periodCheckDelay` as configured (0 = periodic checks off → `None`; the configuration already
/// raises values below 600 to 600). A per-install offset in `[0, period/10)` ms, derived deterministically from
/// `jitter_seed` (use the device id), is added so a fleet that checked together does not keep checking in
/// lockstep, while one device keeps a steady rhythm. The derivation is SHA-256 of `"airlock-periodic-v1/"` ‖
/// seed, first 8 bytes as a big-endian integer, modulo the spread. Saturates at `i64::MAX`.
pub fn next_periodic_check(last_check_ms: i64, period_s: u64, jitter_seed: &str) -> Option<i64> {
    if period_s == 0 {
        return None;
    }
    let period_ms = period_s.saturating_mul(1000);
    let spread = period_ms / 10;
    let offset = if spread == 0 { 0 } else { seed_u64(jitter_seed) % spread };
    let delay = i64::try_from(period_ms.saturating_add(offset)).unwrap_or(i64::MAX);
    Some(last_check_ms.saturating_add(delay))
}

fn seed_u64(seed: &str) -> u64 {
    let digest = Sha256::new().chain_update(b"airlock-periodic-v1/").chain_update(seed.as_bytes()).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// How long to wait before retry number `attempt` (0 for the first retry), in ms: "full jitter" exponential
/// backoff, a uniform pick in `[0, min(cap_ms, base_ms · 2^attempt)]` using the caller's `rand01` in `[0, 1]`
/// (clamped; NaN counts as 0), so callers and tests control randomness.
///
/// A server's `Retry-After` (seconds) is a lower bound on the wait, itself capped at `cap_ms` so a hostile or
/// confused server cannot park the device for days. Never overflows.
pub fn backoff_ms(attempt: u32, base_ms: u64, cap_ms: u64, rand01: f64, retry_after_s: Option<u64>) -> u64 {
    let growth = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
    let ceiling = cap_ms.min(base_ms.saturating_mul(growth));
    let r = if rand01.is_nan() { 0.0 } else { rand01.clamp(0.0, 1.0) };
    // `as` from f64 saturates; the `min` keeps float rounding from exceeding the ceiling.
    let jittered = ((ceiling as f64) * r) as u64;
    let jittered = jittered.min(ceiling);
    let floor = retry_after_s.map_or(0, |s| s.saturating_mul(1000).min(cap_ms));
    jittered.max(floor)
}

/// A stored deadline read back at `now_ms`: `Some(deadline)` while it is still ahead, `None` once it is due.
///
/// A deadline more than `max_ahead_ms` ahead of now cannot have been set by this clock's present — the clock was
/// set back since — so it is due too: a device whose clock jumped back a month must not wait a month.
pub fn pending_deadline(deadline_ms: i64, now_ms: i64, max_ahead_ms: i64) -> Option<i64> {
    let ahead = deadline_ms.saturating_sub(now_ms);
    (ahead > 0 && ahead <= max_ahead_ms.max(0)).then_some(deadline_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_pending_only_while_ahead_and_within_its_maximum() {
        assert_eq!(pending_deadline(1_500, 1_000, 600), Some(1_500));
        assert_eq!(pending_deadline(1_600, 1_000, 600), Some(1_600), "exactly the maximum still waits");
        assert_eq!(pending_deadline(1_601, 1_000, 600), None, "further ahead: the clock was set back");
        assert_eq!(pending_deadline(1_000, 1_000, 600), None, "due now");
        assert_eq!(pending_deadline(0, 1_000, 600), None, "passed");
        assert_eq!(pending_deadline(i64::MAX, i64::MIN, 600), None, "no overflow");
        assert_eq!(pending_deadline(5, 0, -1), None, "a negative maximum means nothing waits");
    }
}
