//! Telegram's sending limits: about 30 messages per second overall and about 1 per second
//! per chat, with short bursts. Token buckets on the tokio clock, so tests can pause time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Burst allowed to one chat before its rate applies.
const CHAT_BURST: f64 = 3.0;

/// Idle chats are forgotten when there are more than this many.
const MAX_CHATS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, rate: f64, burst: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = now;
    }

    /// Time until one token is available.
    fn wait(&self, rate: f64) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / rate)
        }
    }
}

/// Waits until a message may be sent.
#[derive(Debug)]
pub struct Limiter {
    global_rate: f64,
    chat_rate: f64,
    state: Mutex<(Bucket, HashMap<i64, Bucket>)>,
}

impl Limiter {
    /// A limiter of `global` messages per second overall and `per_chat` to each chat.
    pub fn new(global: u32, per_chat: u32) -> Self {
        let global_rate = f64::from(global.max(1));
        Self {
            global_rate,
            chat_rate: f64::from(per_chat.max(1)),
            state: Mutex::new((Bucket::full(global_rate, Instant::now()), HashMap::new())),
        }
    }

    /// Wait for a slot to send to `chat`, and take it.
    pub async fn acquire(&self, chat: i64) {
        loop {
            let wait = self.try_take(chat);
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Take a slot now, or say how long to wait for one.
    fn try_take(&self, chat: i64) -> Duration {
        let now = Instant::now();
        let chat_burst = CHAT_BURST.max(self.chat_rate);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (global, chats) = &mut *state;
        if chats.len() > MAX_CHATS {
            let rate = self.chat_rate;
            chats.retain(|_, b| {
                b.refill(rate, chat_burst, now);
                b.tokens < chat_burst
            });
        }
        global.refill(self.global_rate, self.global_rate, now);
        let bucket = chats
            .entry(chat)
            .or_insert_with(|| Bucket::full(chat_burst, now));
        bucket.refill(self.chat_rate, chat_burst, now);
        let wait = global
            .wait(self.global_rate)
            .max(bucket.wait(self.chat_rate));
        if wait.is_zero() {
            global.tokens -= 1.0;
            bucket.tokens -= 1.0;
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_chat_gets_a_short_burst_then_one_message_per_second() {
        let limiter = Limiter::new(30, 1);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..6 {
            limiter.acquire(1).await;
            times.push(start.elapsed());
        }
        assert!(times[..3].iter().all(|t| t.is_zero()), "{times:?}");
        let secs: Vec<f64> = times.iter().map(|t| t.as_secs_f64()).collect();
        assert!((0.99..1.01).contains(&secs[3]), "{secs:?}");
        assert!((2.99..3.01).contains(&secs[5]), "{secs:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn many_chats_together_get_thirty_messages_per_second() {
        let limiter = Limiter::new(30, 1);
        let start = Instant::now();
        for chat in 0..90 {
            limiter.acquire(chat).await;
        }
        // 30 at once (the burst), then 60 more at 30 per second: two seconds of the paused
        // clock, give or take the rounding of 1/30 s.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.99..2.01).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn different_chats_do_not_wait_for_each_other() {
        let limiter = Limiter::new(30, 1);
        for _ in 0..3 {
            limiter.acquire(1).await;
        }
        let start = Instant::now();
        limiter.acquire(2).await;
        assert!(start.elapsed().is_zero());
    }
}
