//! Wall-clock time in milliseconds, driven by tokio's clock.
//!
//! Everything in the core that stores or compares times reads this clock. It follows
//! `tokio::time`, so tests that pause tokio's time (`start_paused`) control every timestamp
//! and every backoff deterministically, with no sleeps.

use std::time::{SystemTime, UNIX_EPOCH};

/// A clock anchored to the system time when it was created and advancing with tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_ms: i64,
    base: tokio::time::Instant,
}

impl Clock {
    /// A clock reading the current time.
    pub fn new() -> Self {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            base_ms,
            base: tokio::time::Instant::now(),
        }
    }

    /// A clock that reads `base_ms` (unix ms) now and advances from there: a store that
    /// lives at another date, for tests of what depends on today.
    pub fn starting_at(base_ms: i64) -> Self {
        Self {
            base_ms,
            base: tokio::time::Instant::now(),
        }
    }

    /// Unix time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.base_ms + self.base.elapsed().as_millis() as i64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
