//! `[x]`: the X (Twitter) account.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, env_name};

/// How the X channel signs its requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum XAuth {
    /// OAuth 2.0 user context with rotating refresh tokens kept in the store.
    #[default]
    Oauth2,
    /// OAuth 1.0a user context (HMAC-SHA1), with long-lived tokens from the environment.
    Oauth1,
}

/// `[x]`: mentions and direct messages of the office's X account.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct XConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// X API server.
    pub api_url: String,
    /// The office account's user id, whose mentions are read.
    pub user_id: String,
    /// Seconds between polls of mentions and of direct messages (never faster than the
    /// rate-limit headers allow).
    pub poll_secs: u64,
    /// `oauth2` (default) or `oauth1`.
    pub auth: XAuth,
    /// On a first start with no cursor, also take the mentions of the last N hours.
    pub backfill_hours: u64,
    /// Seconds a request may take before it is given up as transient.
    pub timeout_secs: u64,
    /// OAuth 2.0 client id of the X app (`SPORTELLO_X__CLIENT_ID`).
    pub client_id: String,
    /// OAuth 2.0 client secret: only from `SPORTELLO_X__CLIENT_SECRET`.
    #[serde(skip_serializing)]
    pub client_secret: Option<Secret>,
    /// First refresh token, imported into the store on first start: only from
    /// `SPORTELLO_X__REFRESH_TOKEN`.
    #[serde(skip_serializing)]
    pub refresh_token: Option<Secret>,
    /// Where X sends the office back after authorizing (`sportello x authorize`); must match
    /// the callback registered for the X app.
    pub redirect_uri: String,
    /// X's authorization page.
    pub authorize_url: String,
    /// OAuth 1.0a consumer key: only from `SPORTELLO_X__CONSUMER_KEY`.
    #[serde(skip_serializing)]
    pub consumer_key: Option<Secret>,
    /// OAuth 1.0a consumer secret: only from `SPORTELLO_X__CONSUMER_SECRET`.
    #[serde(skip_serializing)]
    pub consumer_secret: Option<Secret>,
    /// OAuth 1.0a access token: only from `SPORTELLO_X__ACCESS_TOKEN`.
    #[serde(skip_serializing)]
    pub access_token: Option<Secret>,
    /// OAuth 1.0a access token secret: only from `SPORTELLO_X__ACCESS_TOKEN_SECRET`.
    #[serde(skip_serializing)]
    pub access_token_secret: Option<Secret>,
    /// The only public reply to a handoff: asks the citizen to continue by DM (`{ref}`).
    pub handoff_text: String,
}

impl Default for XConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            api_url: "https://api.x.com".into(),
            user_id: String::new(),
            poll_secs: 60,
            auth: XAuth::Oauth2,
            backfill_hours: 0,
            timeout_secs: 10,
            client_id: String::new(),
            client_secret: None,
            refresh_token: None,
            redirect_uri: "http://127.0.0.1:8080/x/callback".into(),
            authorize_url: "https://x.com/i/oauth2/authorize".into(),
            consumer_key: None,
            consumer_secret: None,
            access_token: None,
            access_token_secret: None,
            handoff_text: super::texts::shipped_text("x", "handoff_text"),
        }
    }
}

impl XConfig {
    /// The checks of an enabled channel: intervals and the credentials of its `auth`.
    fn enabled_checks(&self) -> Result<(), ConfigError> {
        if self.poll_secs == 0 || self.timeout_secs == 0 {
            return Err(ConfigError::new(
                "x.poll_secs",
                Some(format!("{}/{}", self.poll_secs, self.timeout_secs)),
                "x.poll_secs and x.timeout_secs must be at least 1",
            ));
        }
        let missing = |s: &Option<Secret>| s.as_ref().is_none_or(|s| s.expose().is_empty());
        match self.auth {
            XAuth::Oauth2 if self.client_id.is_empty() => Err(ConfigError::new(
                "x.client_id",
                None,
                "the channel is enabled: set SPORTELLO_X__CLIENT_ID",
            )),
            XAuth::Oauth2 => Ok(()),
            XAuth::Oauth1 => {
                for (key, v) in [
                    ("x.consumer_key", &self.consumer_key),
                    ("x.consumer_secret", &self.consumer_secret),
                    ("x.access_token", &self.access_token),
                    ("x.access_token_secret", &self.access_token_secret),
                ] {
                    if missing(v) {
                        return Err(ConfigError::new(
                            key,
                            None,
                            format!("x.auth = \"oauth1\": set {}", env_name(key)),
                        ));
                    }
                }
                Ok(())
            }
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
        if self.enabled {
            self.enabled_checks()?;
        }
        Ok(())
    }
}
