//! `[email]`: the office's mailbox.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// `[email]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// IMAP server.
    pub imap_host: String,
    /// IMAP port.
    pub imap_port: u16,
    /// SMTP server.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// Login name for IMAP and SMTP.
    pub username: String,
    /// Password: only from `SPORTELLO_EMAIL__PASSWORD`.
    #[serde(skip_serializing)]
    pub password: Option<Secret>,
    /// The office's address, used as sender.
    pub address: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            imap_host: "127.0.0.1".into(),
            imap_port: 993,
            smtp_host: "127.0.0.1".into(),
            smtp_port: 465,
            username: String::new(),
            password: None,
            address: String::new(),
        }
    }
}

impl EmailConfig {
    /// Check values the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.enabled {
            for (key, v) in [
                ("email.imap_host", &self.imap_host),
                ("email.smtp_host", &self.smtp_host),
                ("email.username", &self.username),
                ("email.address", &self.address),
            ] {
                if v.is_empty() {
                    return Err(ConfigError::new(
                        key,
                        None,
                        "the channel is enabled: this key is required",
                    ));
                }
            }
            if self.password.is_none() {
                return Err(ConfigError::new(
                    "email.password",
                    None,
                    "the channel is enabled: set SPORTELLO_EMAIL__PASSWORD",
                ));
            }
        }
        Ok(())
    }
}
