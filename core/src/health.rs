//! Channel health and counters, shared by adapters, the dispatcher, `/healthz` and `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::clock::Clock;

/// The state of one channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChannelState {
    /// Whether its receiving task is running.
    pub running: bool,
    /// Last successful contact with the platform (poll, webhook, send), unix ms.
    pub last_ok_ms: Option<i64>,
    /// Last error, as text.
    pub last_error: Option<String>,
    /// When the last error happened, unix ms.
    pub last_error_ms: Option<i64>,
    /// Consecutive errors since the last success.
    pub consecutive_errors: u64,
    /// Facts particular to the channel (X: `state`, and the rate-limit budget left per
    /// endpoint; email: `mode`, `idle` or `poll`), shown as they are in `/healthz`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl ChannelState {
    /// A channel is degraded when its last contact failed.
    pub fn degraded(&self) -> bool {
        self.consecutive_errors > 0
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

    /// Record a successful contact with the platform.
    pub fn ok(&self, channel: &str) {
        self.update(channel, |s, now| {
            s.last_ok_ms = Some(now);
            s.consecutive_errors = 0;
        });
    }

    /// Record a failure; never pass secrets here.
    pub fn error(&self, channel: &str, message: &str) {
        self.update(channel, |s, now| {
            s.last_error = Some(message.to_string());
            s.last_error_ms = Some(now);
            s.consecutive_errors += 1;
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
