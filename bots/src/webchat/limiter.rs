//! Messages per minute, per session and per IP address.
//!
//! Counted in memory, in fixed one-minute windows: right for one `sportello serve` process.
//! Several processes behind a load balancer each count their own share, so the effective limit
//! grows with their number; the limits are a brake on floods, not a quota.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(60);

/// Past this many tracked keys, windows that ended are forgotten.
const PRUNE_AT: usize = 10_000;

/// Fixed-window counters by key.
pub struct Limiter {
    per_session: u32,
    per_ip: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    /// At most `per_session` messages a minute from one session, `per_ip` from one address.
    pub fn new(per_session: u32, per_ip: u32) -> Self {
        Self {
            per_session,
            per_ip,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Count one message of `session` from `ip`; `false` when either is over its limit (the
    /// refused message is not counted against the other).
    pub fn allow(&self, session: &str, ip: &str) -> bool {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > PRUNE_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let keys = [
            (format!("s:{session}"), self.per_session),
            (format!("ip:{ip}"), self.per_ip),
        ];
        let over = keys.iter().any(|(key, limit)| {
            windows
                .get(key)
                .is_some_and(|(start, n)| now.duration_since(*start) < WINDOW && n >= limit)
        });
        if over {
            return false;
        }
        for (key, _) in keys {
            let window = windows.entry(key).or_insert((now, 0));
            if now.duration_since(window.0) >= WINDOW {
                *window = (now, 0);
            }
            window.1 += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_session_over_its_limit_waits_for_the_next_minute() {
        let l = Limiter::new(3, 100);
        for _ in 0..3 {
            assert!(l.allow("a", "1.2.3.4"));
        }
        assert!(!l.allow("a", "1.2.3.4"));
        assert!(l.allow("b", "1.2.3.4"), "another session is not held back");
        tokio::time::advance(WINDOW).await;
        assert!(l.allow("a", "1.2.3.4"));
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_is_limited_across_its_sessions() {
        let l = Limiter::new(10, 4);
        for s in ["a", "b", "c", "d"] {
            assert!(l.allow(s, "5.6.7.8"));
        }
        assert!(!l.allow("e", "5.6.7.8"));
        assert!(l.allow("e", "9.9.9.9"));
    }
}
