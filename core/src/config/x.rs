//! `[x]`: the X (Twitter) account.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// `[x]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct XConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// X API server.
    pub api_url: String,
    /// The office account's user id, whose mentions are read.
    pub user_id: String,
    /// App bearer token (reads mentions): only from `SPORTELLO_X__BEARER_TOKEN`.
    #[serde(skip_serializing)]
    pub bearer_token: Option<Secret>,
    /// User-context token (posts replies): only from `SPORTELLO_X__USER_TOKEN`.
    #[serde(skip_serializing)]
    pub user_token: Option<Secret>,
}

impl Default for XConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            api_url: "https://api.x.com".into(),
            user_id: String::new(),
            bearer_token: None,
            user_token: None,
        }
    }
}

impl XConfig {
    /// Check values the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.enabled
            && !(self.api_url.starts_with("http://") || self.api_url.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "x.api_url",
                Some(self.api_url.clone()),
                "must be an http:// or https:// URL",
            ));
        }
        if self.enabled && self.user_id.is_empty() {
            return Err(ConfigError::new(
                "x.user_id",
                None,
                "the channel is enabled: set the office account's user id",
            ));
        }
        if self.enabled && self.bearer_token.is_none() {
            return Err(ConfigError::new(
                "x.bearer_token",
                None,
                "the channel is enabled: set SPORTELLO_X__BEARER_TOKEN",
            ));
        }
        Ok(())
    }
}
