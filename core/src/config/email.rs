//! `[email]`: the office's mailbox.

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// `[email]`: one IMAP mailbox read for citizens' mail, answered through SMTP.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Whether the channel runs.
    pub enabled: bool,
    /// IMAP server.
    pub imap_host: String,
    /// IMAP port.
    pub imap_port: u16,
    /// `tls` (implicit, 993), `starttls` (143) or `none` (loopback hosts only).
    pub imap_tls: String,
    /// SMTP server.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `tls` (implicit, 465), `starttls` (587) or `none` (loopback hosts only).
    pub smtp_tls: String,
    /// Login name for IMAP (and SMTP unless `smtp_username` is set).
    pub username: String,
    /// Password: only from `SPORTELLO_EMAIL__PASSWORD`.
    #[serde(skip_serializing)]
    pub password: Option<Secret>,
    /// SMTP login name when it differs from `username`; empty: `username`.
    pub smtp_username: String,
    /// SMTP password: only from `SPORTELLO_EMAIL__SMTP_PASSWORD`; unset: `password`.
    #[serde(skip_serializing)]
    pub smtp_password: Option<Secret>,
    /// The office's address, used as sender.
    pub address: String,
    /// The sender's display name.
    pub from_name: String,
    /// The mailbox read, usually `INBOX`.
    pub mailbox: String,
    /// Seconds between polls when the server lacks IDLE.
    pub poll_secs: u64,
    /// Seconds after which IDLE is re-issued (below the 29 minutes RFC 2177 allows).
    pub idle_secs: u64,
    /// Messages fetched per IMAP round trip.
    pub batch_size: u32,
    /// Timeout in seconds of one IMAP or SMTP exchange.
    pub timeout_secs: u64,
    /// Set `\Seen` on messages once stored.
    pub mark_seen: bool,
    /// Move stored messages to this mailbox; empty: leave them where they are.
    pub processed_mailbox: String,
    /// Attachment bytes stored per message; larger attachments are recorded by name, type
    /// and size only.
    pub attachment_limit: u64,
    /// Automatic replies to one sender in 24 hours; beyond, mail goes to operators silently.
    pub auto_replies_per_sender_per_day: u32,
    /// Signature appended to every email reply.
    pub signature: String,
    /// PEM file of an extra certificate authority to trust (a private mail server); empty:
    /// the public web roots only.
    pub ca_file: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            imap_host: "127.0.0.1".into(),
            imap_port: 993,
            imap_tls: "tls".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 465,
            smtp_tls: "tls".into(),
            username: String::new(),
            password: None,
            smtp_username: String::new(),
            smtp_password: None,
            address: String::new(),
            from_name: "URP".into(),
            mailbox: "INBOX".into(),
            poll_secs: 60,
            idle_secs: 25 * 60,
            batch_size: 100,
            timeout_secs: 60,
            mark_seen: true,
            processed_mailbox: String::new(),
            attachment_limit: 10 * 1024 * 1024,
            auto_replies_per_sender_per_day: 5,
            signature: String::new(),
            ca_file: String::new(),
        }
    }
}

impl EmailConfig {
    /// Check the TLS modes, the IDLE interval and the sender address.
    fn enabled_checks(&self) -> Result<(), ConfigError> {
        for (key, mode, host) in [
            ("email.imap_tls", &self.imap_tls, &self.imap_host),
            ("email.smtp_tls", &self.smtp_tls, &self.smtp_host),
        ] {
            match mode.as_str() {
                "tls" | "starttls" => {}
                "none" if is_loopback(host) => {}
                "none" => {
                    return Err(ConfigError::new(
                        key,
                        Some(mode.clone()),
                        format!("`none` is allowed only for a loopback host, not {host:?}"),
                    ));
                }
                _ => {
                    return Err(ConfigError::new(
                        key,
                        Some(mode.clone()),
                        "must be `tls`, `starttls` or `none`",
                    ));
                }
            }
        }
        if self.idle_secs == 0 || self.idle_secs >= 29 * 60 {
            return Err(ConfigError::new(
                "email.idle_secs",
                Some(self.idle_secs.to_string()),
                "must be between 1 and 1739 (IDLE must be re-issued before 29 minutes)",
            ));
        }
        if self.poll_secs == 0 || self.batch_size == 0 || self.timeout_secs == 0 {
            return Err(ConfigError::new(
                "email.poll_secs",
                None,
                "poll_secs, batch_size and timeout_secs must be positive",
            ));
        }
        if !self.address.contains('@') || self.address.contains(['\r', '\n', '<', '>', ' ']) {
            return Err(ConfigError::new(
                "email.address",
                Some(self.address.clone()),
                "must be a plain address such as urp@comune.example.it",
            ));
        }
        Ok(())
    }
}

/// Whether `host` names this machine (`localhost`, 127.0.0.0/8, ::1).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
            self.enabled_checks()?;
        }
        Ok(())
    }
}
