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
//! - [`x`]: X (Twitter) mentions and direct messages over X API v2, and `sportello x authorize`.
//!
//! A build without one of the cargo features refuses to enable that channel with a clear
//! error, rather than silently doing nothing.

#[cfg(feature = "email")]
pub mod email;
#[cfg(feature = "telegram")]
pub mod telegram;
#[cfg(feature = "webchat")]
pub mod webchat;
#[cfg(feature = "x")]
pub mod x;

use std::sync::Arc;

use sportello_core::channel::{Channel, ChannelCaps};
use sportello_core::config::Config;
use sportello_core::intake::Intake;

mod error;

pub use error::Error;

/// What each channel this build knows can show, enabled or not: intake writes replies to
/// fit them, the console limits operators' replies and previews sheets with them.
pub fn known_caps() -> Vec<(&'static str, ChannelCaps)> {
    [
        #[cfg(feature = "telegram")]
        (telegram::NAME, telegram::CAPS),
        #[cfg(feature = "webchat")]
        (webchat::NAME, webchat::CAPS),
        #[cfg(feature = "x")]
        (x::NAME, x::CAPS),
        #[cfg(feature = "email")]
        (email::NAME, email::CAPS),
    ]
    .into()
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
pub fn build(config: &Config) -> Result<Channels, Error> {
    let mut channels = Channels::default();
    if config.telegram.enabled {
        #[cfg(feature = "telegram")]
        {
            let bot = Arc::new(telegram::Telegram::new(&config.telegram, &config.texts)?);
            channels.all.push(bot.clone());
            channels.telegram = Some(bot);
        }
        #[cfg(not(feature = "telegram"))]
        return Err(not_built("telegram.enabled", "telegram"));
    }
    if config.webchat.enabled {
        #[cfg(feature = "webchat")]
        {
            let chat = Arc::new(
                webchat::WebChat::new(
                    &config.webchat,
                    &config.texts,
                    config.console.secure_cookies,
                )
                .with_site(&config.site),
            );
            channels.all.push(chat.clone());
            channels.webchat = Some(chat);
        }
        #[cfg(not(feature = "webchat"))]
        return Err(not_built("webchat.enabled", "webchat"));
    }
    if config.x.enabled {
        #[cfg(feature = "x")]
        channels.all.push(Arc::new(x::X::new(&config.x)?));
        #[cfg(not(feature = "x"))]
        return Err(not_built("x.enabled", "x"));
    }
    if config.email.enabled {
        #[cfg(feature = "email")]
        {
            let email = email::Email::new(&config.email, &config.console.public_url, &config.texts)
                .map_err(|message| Error::Config {
                    key: "email.enabled",
                    message,
                })?;
            channels.all.push(Arc::new(email));
        }
        #[cfg(not(feature = "email"))]
        return Err(not_built("email.enabled", "email"));
    }
    Ok(channels)
}

// Used only by builds without one of the channel features.
#[cfg_attr(
    all(
        feature = "telegram",
        feature = "webchat",
        feature = "x",
        feature = "email"
    ),
    allow(dead_code)
)]
fn not_built(key: &'static str, channel: &'static str) -> Error {
    Error::NotBuilt { key, channel }
}
