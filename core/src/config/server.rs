//! `[database]`, `[console]`, `[sheets]`, `[matcher]` and `[dispatcher]`: where Sportello
//! keeps its data, serves its console and finds its sheets, and how it answers and delivers.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sportello_faq::MatcherParams;

use super::ConfigError;

/// `[database]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created when missing) or `postgres://…`.
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Seconds to wait for a connection or a lock before giving up.
    pub timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/sportello.db".into(),
            max_connections: 8,
            timeout_secs: 5,
        }
    }
}

impl DatabaseConfig {
    /// Check values the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "database.url",
                Some(url.clone()),
                "must start with sqlite:// or postgres://",
            ));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::new(
                "database.max_connections",
                Some("0".into()),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// `[console]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The console's public address (`https://urp.comune.example.it`): email answers carry
    /// 👍/👎 links under it; empty: no links.
    pub public_url: String,
    /// Address of the console and API.
    pub bind: String,
    /// Waiting time, in minutes, past which the queue highlights a conversation.
    pub queue_target_minutes: u64,
    /// Mark the session cookie `Secure` on every response (set it when the console is served
    /// over HTTPS by a proxy that does not send `X-Forwarded-Proto`).
    pub secure_cookies: bool,
    /// Minutes of inactivity after which a console session ends.
    pub session_idle_minutes: u64,
    /// Hours after which a console session ends however active it is.
    pub session_max_hours: u64,
    /// How often live views look for changes made by other processes, in milliseconds.
    pub live_poll_ms: u64,
    /// Ready-made replies operators can insert into the reply box.
    pub canned: Vec<String>,
    /// Reverse proxies (CIDRs, e.g. `10.0.0.0/8`, `127.0.0.1/32`) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; from any other peer those headers are ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            bind: "127.0.0.1:8080".into(),
            queue_target_minutes: 240,
            secure_cookies: false,
            session_idle_minutes: 120,
            session_max_hours: 12,
            live_poll_ms: 1_000,
            canned: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl ConsoleConfig {
    /// Check values the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bind.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::new(
                "console.bind",
                Some(self.bind.clone()),
                "must be an address and port, e.g. 127.0.0.1:8080",
            ));
        }
        self.proxies()?;
        Ok(())
    }

    /// `trusted_proxies`, parsed; the error names the key and the entry.
    pub fn proxies(&self) -> Result<Vec<Cidr>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|c| {
                c.parse::<Cidr>().map_err(|why| {
                    ConfigError::new("console.trusted_proxies", Some(c.clone()), why)
                })
            })
            .collect()
    }
}

/// A network in CIDR notation (`192.168.0.0/16`, `::1/128`); an address alone is itself
/// (`/32` or `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = address.parse().map_err(|_| {
            "must be a network in CIDR notation, e.g. 10.0.0.0/8 or ::1/128".to_string()
        })?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("the prefix length must be from 0 to {max}"))?,
        };
        Ok(Self { network, prefix })
    }
}

/// `[sheets]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SheetsConfig {
    /// Folder of TOML sheets (or a CSV file) imported when the store has no sheets.
    pub path: PathBuf,
    /// The offices file.
    pub offices: PathBuf,
    /// The synonyms file.
    pub synonyms: PathBuf,
}

impl Default for SheetsConfig {
    fn default() -> Self {
        Self {
            path: "config/sheets".into(),
            offices: "config/offices.toml".into(),
            synonyms: "config/synonyms.toml".into(),
        }
    }
}

/// `[dispatcher]`: delivery of the outbox.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatcherConfig {
    /// Attempts before a message is marked failed.
    pub max_attempts: i64,
    /// First retry delay, in milliseconds; doubled at each attempt.
    pub base_delay_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub max_delay_ms: u64,
    /// How often to look for due messages when nothing wakes the dispatcher, in milliseconds.
    pub poll_ms: u64,
    /// Rows claimed at once.
    pub batch: i64,
    /// How long a claimed row stays reserved before another worker may take it, in seconds.
    pub lease_secs: i64,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_ms: 1_000,
            max_delay_ms: 300_000,
            poll_ms: 1_000,
            batch: 32,
            lease_secs: 60,
        }
    }
}

impl DispatcherConfig {
    /// Check values the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = self;
        if d.max_attempts < 1 {
            return Err(ConfigError::new(
                "dispatcher.max_attempts",
                Some(d.max_attempts.to_string()),
                "must be at least 1",
            ));
        }
        if d.batch < 1 {
            return Err(ConfigError::new(
                "dispatcher.batch",
                Some(d.batch.to_string()),
                "must be at least 1",
            ));
        }
        if d.base_delay_ms > d.max_delay_ms {
            return Err(ConfigError::new(
                "dispatcher.base_delay_ms",
                Some(d.base_delay_ms.to_string()),
                "must not exceed dispatcher.max_delay_ms",
            ));
        }
        Ok(())
    }
}

/// Check `[matcher]`: thresholds in order, at most three choices.
pub fn validate_matcher(m: &MatcherParams) -> Result<(), ConfigError> {
    for (key, v) in [
        ("matcher.answer_threshold", m.answer_threshold),
        ("matcher.clarify_threshold", m.clarify_threshold),
        ("matcher.tie_margin", m.tie_margin),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(ConfigError::new(
                key,
                Some(v.to_string()),
                "must be between 0 and 1",
            ));
        }
    }
    if m.clarify_threshold > m.answer_threshold {
        return Err(ConfigError::new(
            "matcher.clarify_threshold",
            Some(m.clarify_threshold.to_string()),
            "must not be above matcher.answer_threshold",
        ));
    }
    if !(1..=3).contains(&m.max_choices) {
        return Err(ConfigError::new(
            "matcher.max_choices",
            Some(m.max_choices.to_string()),
            "must be 1, 2 or 3",
        ));
    }
    Ok(())
}
