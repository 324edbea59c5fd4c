//! Transfer watchdog. Invariant: a transfer is stopped only when it outlives its overall deadline or moves
//! fewer bytes than the minimum throughput over a whole window, measured on the monotonic clock; a slow but
//! alive transfer is never cut by a wall-clock cap shorter than the deadline.

use std::time::{Duration, Instant};

/// Why the watchdog stopped a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stall {
    /// The overall deadline passed.
    Deadline { limit: Duration },
    /// Fewer than the minimum bytes arrived during the last window.
    TooSlow { bytes: u64, window: Duration, min_per_sec: u64 },
}

impl Stall {
    /// Human-readable reason, naming the thresholds.
    pub fn describe(&self) -> String {
        match self {
            Stall::Deadline { limit } => {
                format!("the transfer took longer than the overall deadline of {} s", limit.as_secs_f64())
            }
            Stall::TooSlow { bytes, window, min_per_sec } => format!(
                "the transfer was too slow: {bytes} bytes in the last {} ms, below the minimum of {min_per_sec} bytes/s",
                window.as_millis()
            ),
        }
    }
}

/// Tracks bytes per window and the overall deadline.
#[derive(Debug)]
pub(crate) struct Watchdog {
    deadline: Instant,
    limit: Duration,
    window: Duration,
    min_per_sec: u64,
    window_start: Instant,
    window_bytes: u64,
}

impl Watchdog {
    /// Starts the clocks now. A zero window or zero minimum disables the throughput check.
    pub fn start(overall: Duration, window: Duration, min_per_sec: u64) -> Self {
        let now = Instant::now();
        Watchdog {
            deadline: now.checked_add(overall).unwrap_or(now + Duration::from_secs(365 * 24 * 3600)),
            limit: overall,
            window,
            min_per_sec,
            window_start: now,
            window_bytes: 0,
        }
    }

    /// Records `n` received bytes and says whether the transfer must stop.
    pub fn on_bytes(&mut self, n: u64) -> Result<(), Stall> {
        self.window_bytes = self.window_bytes.saturating_add(n);
        self.check()
    }

    /// Checks the deadline and, when a full window has passed, the throughput over it.
    pub fn check(&mut self) -> Result<(), Stall> {
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Stall::Deadline { limit: self.limit });
        }
        if self.window.is_zero() || self.min_per_sec == 0 {
            return Ok(());
        }
        let elapsed = now.duration_since(self.window_start);
        if elapsed >= self.window {
            let needed = u128::from(self.min_per_sec).saturating_mul(elapsed.as_nanos()) / 1_000_000_000;
            if u128::from(self.window_bytes) < needed {
                return Err(Stall::TooSlow {
                    bytes: self.window_bytes,
                    window: elapsed,
                    min_per_sec: self.min_per_sec,
                });
            }
            self.window_start = now;
            self.window_bytes = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generous_watchdog_lets_bytes_through() {
        let mut w = Watchdog::start(Duration::from_secs(60), Duration::from_secs(30), 1024);
        assert!(w.on_bytes(10).is_ok());
    }

    #[test]
    fn a_passed_deadline_stops_the_transfer() {
        let mut w = Watchdog::start(Duration::ZERO, Duration::from_secs(30), 1024);
        assert!(matches!(w.on_bytes(10), Err(Stall::Deadline { .. })));
    }

    #[test]
    fn an_empty_window_below_the_minimum_stops_the_transfer() {
        let mut w = Watchdog::start(Duration::from_secs(60), Duration::ZERO, 1024);
        // A zero window disables the throughput check entirely.
        assert!(w.on_bytes(0).is_ok());
        let mut w = Watchdog::start(Duration::from_secs(60), Duration::from_nanos(1), u64::MAX / 2);
        std::thread::yield_now();
        let mut stopped = false;
        for _ in 0..1000 {
            if w.on_bytes(0).is_err() {
                stopped = true;
                break;
            }
        }
        assert!(stopped);
    }
}
