//! Channel adapters: one module per platform, each behind a cargo feature.
//!
//! # Layout
//!
//! - [`build`]: the channels the configuration enables, as `Channel` trait objects for the
//!   dispatcher and the receiving tasks.
//! - one module per channel (`telegram`, `x`, `email`, `webchat`) implementing
//!   `sportello_core::channel::Channel`.
//!
//! No adapter is built yet: enabling a channel in the configuration is refused with a clear
//! error, rather than silently doing nothing.

use std::sync::Arc;

use sportello_core::channel::Channel;
use sportello_core::config::Config;

/// A channel is enabled that this build cannot run.
#[derive(Debug, thiserror::Error)]
#[error(
    "configuration key `{key}`: the {channel} channel is not available in this version of Sportello"
)]
pub struct Unavailable {
    /// The key that enables it.
    pub key: &'static str,
    /// The channel.
    pub channel: &'static str,
}

/// The channels the configuration enables.
pub fn build(config: &Config) -> Result<Vec<Arc<dyn Channel>>, Unavailable> {
    let enabled = [
        (config.telegram.enabled, "telegram.enabled", "telegram"),
        (config.x.enabled, "x.enabled", "x"),
        (config.email.enabled, "email.enabled", "email"),
        (config.webchat.enabled, "webchat.enabled", "webchat"),
    ];
    if let Some((_, key, channel)) = enabled.iter().find(|(on, _, _)| *on) {
        return Err(Unavailable { key, channel });
    }
    Ok(Vec::new())
}
