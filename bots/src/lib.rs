//! Channel adapters: one module per platform, each behind a cargo feature.
//!
//! # Layout
//!
//! - [`build`]: the channels the configuration enables, as `Channel` trait objects for the
//!   dispatcher and the receiving tasks, plus the HTTP routes some of them need on the
//!   console server (Telegram's webhook).
//! - [`telegram`]: the Telegram bot (teloxide), long polling or webhook.
//! - [`email`]: one IMAP mailbox (IDLE or polling) answered over SMTP.
//! - [`webchat`]: the citizen web chat under `/chat`, and its embeddable widget.
//!
//! Channels not built yet (`x`) are refused with a clear error when
//! enabled, rather than silently doing nothing.

#[cfg(feature = "email")]
pub mod email;
#[cfg(feature = "telegram")]
pub mod telegram;
#[cfg(feature = "webchat")]
pub mod webchat;

use std::sync::Arc;

use sportello_core::channel::Channel;
use sportello_core::config::Config;
use sportello_core::intake::Intake;

/// A channel cannot start with this configuration or this build.
#[derive(Debug, thiserror::Error)]
#[error("configuration key `{key}`: {message}")]
pub struct Unavailable {
    /// The key at fault.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The enabled channels.
#[derive(Default)]
pub struct Channels {
    /// Every enabled channel, for the receiving tasks and the dispatcher.
    pub all: Vec<Arc<dyn Channel>>,
    /// The Telegram bot, when enabled (its webhook route lives on the console server).
    #[cfg(feature = "telegram")]
    pub telegram: Option<Arc<telegram::Telegram>>,
    /// The web chat, when enabled (its routes live on the console server).
    #[cfg(feature = "webchat")]
    pub webchat: Option<Arc<webchat::WebChat>>,
}

impl Channels {
    /// Routes the channels need on the console server.
    pub fn routes(&self, intake: &Arc<Intake>) -> axum::Router {
        #[allow(unused_mut)]
        let mut router = axum::Router::new();
        #[cfg(feature = "telegram")]
        if let Some(t) = &self.telegram
            && t.webhook_mode()
        {
            router = router.merge(telegram::webhook_router(t.clone(), intake.clone()));
        }
        #[cfg(feature = "webchat")]
        if let Some(w) = &self.webchat {
            router = router.merge(webchat::router(w.clone(), intake.clone()));
        }
        let _ = intake;
        router
    }
}

/// The channels the configuration enables.
pub fn build(config: &Config) -> Result<Channels, Unavailable> {
    let mut channels = Channels::default();
    if config.telegram.enabled {
        #[cfg(feature = "telegram")]
        {
            let bot =
                telegram::Telegram::new(&config.telegram, &config.texts).map_err(|message| {
                    Unavailable {
                        key: "telegram.enabled",
                        message,
                    }
                })?;
            let bot = Arc::new(bot);
            channels.all.push(bot.clone());
            channels.telegram = Some(bot);
        }
        #[cfg(not(feature = "telegram"))]
        return Err(not_built("telegram.enabled", "telegram"));
    }
    if config.webchat.enabled {
        #[cfg(feature = "webchat")]
        {
            let chat = Arc::new(webchat::WebChat::new(
                &config.webchat,
                &config.texts,
                config.console.secure_cookies,
            ));
            channels.all.push(chat.clone());
            channels.webchat = Some(chat);
        }
        #[cfg(not(feature = "webchat"))]
        return Err(not_built("webchat.enabled", "webchat"));
    }
    if config.email.enabled {
        #[cfg(feature = "email")]
        {
            let email = email::Email::new(&config.email, &config.console.public_url, &config.texts)
                .map_err(|message| Unavailable {
                    key: "email.enabled",
                    message,
                })?;
            channels.all.push(Arc::new(email));
        }
        #[cfg(not(feature = "email"))]
        return Err(not_built("email.enabled", "email"));
    }
    if config.x.enabled {
        return Err(not_built("x.enabled", "x"));
    }
    Ok(channels)
}

fn not_built(key: &'static str, channel: &str) -> Unavailable {
    Unavailable {
        key,
        message: format!("the {channel} channel is not available in this version of Sportello"),
    }
}
