//! `[telegram]`: the Telegram bot.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// Telegram polling or webhook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    /// Long polling with getUpdates.
    #[default]
    Polling,
    /// Telegram calls the console's webhook route.
    Webhook,
}

/// `[telegram]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// Bot API server.
    pub api_url: String,
    /// `polling` or `webhook`.
    pub mode: TelegramMode,
    /// Bot token: only from `SPORTELLO_TELEGRAM__TOKEN`.
    #[serde(skip_serializing)]
    pub token: Option<Secret>,
    /// Webhook secret: only from `SPORTELLO_TELEGRAM__WEBHOOK_SECRET`.
    #[serde(skip_serializing)]
    pub webhook_secret: Option<Secret>,
    /// Public HTTPS address of the console's `/telegram/webhook` route, registered with
    /// `setWebhook` in webhook mode.
    pub webhook_url: String,
    /// Long-polling timeout of `getUpdates`, in seconds.
    pub poll_timeout_secs: u64,
    /// Messages per second to all chats together (Telegram allows about 30).
    pub rate_global: u32,
    /// Messages per second to one chat (Telegram allows about 1, with short bursts).
    pub rate_per_chat: u32,
    /// Answer in group chats too; by default only private chats are served.
    pub groups: bool,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            api_url: "https://api.telegram.org".into(),
            mode: TelegramMode::Polling,
            token: None,
            webhook_secret: None,
            webhook_url: String::new(),
            poll_timeout_secs: 25,
            rate_global: 30,
            rate_per_chat: 1,
            groups: false,
        }
    }
}

impl TelegramConfig {
    /// Check values the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.enabled
            && !(self.api_url.starts_with("http://") || self.api_url.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "telegram.api_url",
                Some(self.api_url.clone()),
                "must be an http:// or https:// URL",
            ));
        }
        if self.enabled && self.token.as_ref().is_none_or(|t| t.expose().is_empty()) {
            return Err(ConfigError::new(
                "telegram.token",
                None,
                "the channel is enabled: set SPORTELLO_TELEGRAM__TOKEN",
            ));
        }
        if self.enabled && self.mode == TelegramMode::Webhook {
            if !self.webhook_url.starts_with("https://") && !self.webhook_url.starts_with("http://")
            {
                return Err(ConfigError::new(
                    "telegram.webhook_url",
                    Some(self.webhook_url.clone()),
                    "webhook mode needs the public address of /telegram/webhook",
                ));
            }
            if self
                .webhook_secret
                .as_ref()
                .is_none_or(|t| t.expose().is_empty())
            {
                return Err(ConfigError::new(
                    "telegram.webhook_secret",
                    None,
                    "webhook mode needs SPORTELLO_TELEGRAM__WEBHOOK_SECRET",
                ));
            }
        }
        for (key, v) in [
            ("telegram.rate_global", self.rate_global),
            ("telegram.rate_per_chat", self.rate_per_chat),
        ] {
            if v == 0 {
                return Err(ConfigError::new(
                    key,
                    Some("0".into()),
                    "must be at least 1",
                ));
            }
        }
        Ok(())
    }
}
