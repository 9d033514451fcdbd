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
    /// How the channel receives, when it has several ways (email: `idle` or `poll`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

impl ChannelState {
    /// A channel is degraded when its last contact failed.
    pub fn degraded(&self) -> bool {
        self.consecutive_errors > 0
    }
}

/// Health of every channel, and counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Health {
    clock: Clock,
    channels: Mutex<BTreeMap<String, ChannelState>>,
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
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

    /// Record how a channel receives (email: `idle` when the server pushes, `poll` otherwise).
    pub fn mode(&self, channel: &str, mode: &str) {
        self.update(channel, |s, _| s.mode = Some(mode.to_string()));
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

    /// Every channel's state.
    pub fn channels(&self) -> BTreeMap<String, ChannelState> {
        self.channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Add one to a counter: `name` is the metric, `label` its label value.
    pub fn count(&self, name: &'static str, label: &str) {
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((name, label.to_string())).or_default() += 1;
    }

    /// Every counter, by metric and label.
    pub fn counters(&self) -> BTreeMap<(&'static str, String), u64> {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
