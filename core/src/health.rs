//! Channel health and counters, shared by adapters, the dispatcher, `/healthz` and `/metrics`.
//!
//! Each channel has two records: receiving (the adapters call [`Health::received_ok`] and
//! [`Health::receive_error`], or their short names `ok` and `error`) and sending (the
//! dispatcher calls [`Health::sent_ok`] and [`Health::send_error`]). One never clears the
//! other's errors: a poller that works does not hide deliveries that all fail.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::clock::Clock;

/// One direction of a channel: receiving (polls, webhooks, IMAP) or sending (deliveries).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Side {
    /// Last success, unix ms.
    pub last_ok_ms: Option<i64>,
    /// Last error, as text.
    pub last_error: Option<String>,
    /// When the last error happened, unix ms.
    pub last_error_ms: Option<i64>,
    /// Errors since the last success.
    pub consecutive_errors: u64,
}

impl Side {
    /// Failing: the last attempt in this direction failed.
    pub fn failing(&self) -> bool {
        self.consecutive_errors > 0
    }

    fn ok(&mut self, now: i64) {
        self.last_ok_ms = Some(now);
        self.consecutive_errors = 0;
    }

    fn error(&mut self, message: &str, now: i64) {
        self.last_error = Some(message.to_string());
        self.last_error_ms = Some(now);
        self.consecutive_errors += 1;
    }
}

/// The state of one channel: receiving and sending each with its own record, and the
/// summary fields `/healthz` has always had, which reflect both.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChannelState {
    /// Whether its receiving task is running.
    pub running: bool,
    /// Last successful contact with the platform in either direction, unix ms.
    pub last_ok_ms: Option<i64>,
    /// The most recent error in either direction, as text.
    pub last_error: Option<String>,
    /// When the most recent error happened, unix ms.
    pub last_error_ms: Option<i64>,
    /// Errors since the last success, receiving and sending added: 0 only when neither
    /// direction is failing (a successful poll no longer hides failing sends).
    pub consecutive_errors: u64,
    /// Receiving: polls, webhook calls, mailbox reads.
    pub receive: Side,
    /// Sending: the dispatcher's deliveries.
    pub send: Side,
    /// Facts particular to the channel (X: `state`, and the rate-limit budget left per
    /// endpoint; email: `mode`, `idle` or `poll`), shown as they are in `/healthz`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl ChannelState {
    /// A channel is degraded when its last receiving or its last sending attempt failed.
    pub fn degraded(&self) -> bool {
        self.receive.failing() || self.send.failing()
    }

    /// Recompute the summary fields from the two directions.
    fn summarise(&mut self) {
        let (r, s) = (&self.receive, &self.send);
        self.last_ok_ms = r.last_ok_ms.max(s.last_ok_ms);
        let latest = if s.last_error_ms > r.last_error_ms {
            s
        } else {
            r
        };
        self.last_error = latest.last_error.clone();
        self.last_error_ms = latest.last_error_ms;
        self.consecutive_errors = r.consecutive_errors + s.consecutive_errors;
    }
}

/// A counter of `/metrics`. The exporter matches on it, so a new counter cannot be counted
/// without being exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Inbound messages stored, by channel.
    MessagesIn,
    /// Messages delivered, by channel.
    MessagesOut,
    /// Redelivered messages recognised and ignored, by channel.
    Duplicates,
    /// Outcomes of inbound messages, by decision.
    Decisions,
    /// 👍/👎 and ratings received, by channel.
    Feedback,
    /// Deliveries that failed for good, by channel.
    OutboxFailed,
    /// Messages fetched from the platform, stored or not, by channel (email).
    Fetched,
}

impl Metric {
    /// Every metric, in the order `/metrics` lists them.
    pub const ALL: [Metric; 7] = [
        Self::MessagesIn,
        Self::MessagesOut,
        Self::Duplicates,
        Self::Decisions,
        Self::Feedback,
        Self::OutboxFailed,
        Self::Fetched,
    ];

    /// The Prometheus name, its help text and the name of its label.
    pub fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::MessagesIn => (
                "sportello_messages_in_total",
                "Inbound messages stored, by channel.",
                "channel",
            ),
            Self::MessagesOut => (
                "sportello_messages_out_total",
                "Messages delivered, by channel.",
                "channel",
            ),
            Self::Duplicates => (
                "sportello_duplicates_total",
                "Redelivered messages ignored, by channel.",
                "channel",
            ),
            Self::Decisions => (
                "sportello_decisions_total",
                "Outcomes of inbound messages, by decision.",
                "decision",
            ),
            Self::Feedback => (
                "sportello_feedback_total",
                "Citizens' 👍/👎 and ratings received, by channel.",
                "channel",
            ),
            Self::OutboxFailed => (
                "sportello_outbox_failed_total",
                "Deliveries that failed for good since start, by channel.",
                "channel",
            ),
            Self::Fetched => (
                "sportello_fetched_total",
                "Messages fetched from the platform (email), by channel.",
                "channel",
            ),
        }
    }
}

/// Health of every channel, and counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Health {
    clock: Clock,
    channels: Mutex<BTreeMap<String, ChannelState>>,
    counters: Mutex<BTreeMap<(Metric, String), u64>>,
}

impl Health {
    /// Empty health, reading times from `clock`.
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    fn update(&self, channel: &str, f: impl FnOnce(&mut ChannelState, i64)) {
        let now = self.clock.now_ms();
        let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(channel.to_string()).or_default(), now);
    }

    /// Record whether a channel's receiving task runs.
    pub fn running(&self, channel: &str, running: bool) {
        self.update(channel, |s, _| s.running = running);
    }

    /// Record a successful receipt from the platform (a poll, a webhook call, a mailbox
    /// read); the same as [`Health::received_ok`].
    pub fn ok(&self, channel: &str) {
        self.received_ok(channel);
    }

    /// Record a failure to receive; never pass secrets here. The same as
    /// [`Health::receive_error`].
    pub fn error(&self, channel: &str, message: &str) {
        self.receive_error(channel, message);
    }

    /// Record a successful receipt from the platform.
    pub fn received_ok(&self, channel: &str) {
        self.update(channel, |s, now| {
            s.receive.ok(now);
            s.summarise();
        });
    }

    /// Record a failure to receive; never pass secrets here.
    pub fn receive_error(&self, channel: &str, message: &str) {
        self.update(channel, |s, now| {
            s.receive.error(message, now);
            s.summarise();
        });
    }

    /// Record a message delivered by the platform.
    pub fn sent_ok(&self, channel: &str) {
        self.update(channel, |s, now| {
            s.send.ok(now);
            s.summarise();
        });
    }

    /// Record a failed delivery attempt (transient error, rate limit); never pass secrets here.
    pub fn send_error(&self, channel: &str, message: &str) {
        self.update(channel, |s, now| {
            s.send.error(message, now);
            s.summarise();
        });
    }

    /// Set a channel-specific fact shown in `/healthz`; never pass secrets here.
    pub fn detail(&self, channel: &str, key: &str, value: serde_json::Value) {
        self.update(channel, |s, _| {
            s.details.insert(key.to_string(), value);
        });
    }

    /// Every channel's state.
    pub fn channels(&self) -> BTreeMap<String, ChannelState> {
        self.channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Add one to a counter, under its label value (a channel, a decision).
    pub fn count(&self, metric: Metric, label: &str) {
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((metric, label.to_string())).or_default() += 1;
    }

    /// Every counter, by metric and label.
    pub fn counters(&self) -> BTreeMap<(Metric, String), u64> {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_poll_does_not_hide_failing_sends() {
        let h = Health::default();
        h.running("telegram", true);
        h.send_error("telegram", "HTTP 500");
        h.ok("telegram");
        h.send_error("telegram", "HTTP 500");
        h.ok("telegram");
        let s = &h.channels()["telegram"];
        assert!(s.degraded(), "{s:?}");
        assert_eq!(s.send.consecutive_errors, 2);
        assert_eq!(s.receive.consecutive_errors, 0);
        assert!(s.receive.last_ok_ms.is_some());
        assert_eq!(
            s.consecutive_errors, 2,
            "the summary counts both directions"
        );
        assert_eq!(s.last_error.as_deref(), Some("HTTP 500"));
        h.sent_ok("telegram");
        let s = &h.channels()["telegram"];
        assert!(!s.degraded());
        assert_eq!(s.consecutive_errors, 0);
        h.error("telegram", "getUpdates: timeout");
        h.sent_ok("telegram");
        let s = &h.channels()["telegram"];
        assert!(s.degraded(), "a delivery does not hide a failing poll");
        assert_eq!(s.receive.consecutive_errors, 1);
    }
}
