//! The `Channel` trait: how a platform's messages come in and replies go out.
//!
//! A channel receives in a long-running task ([`Channel::run`]) that hands each message to
//! [`Intake`] and acknowledges the platform only after intake has committed it, and it sends
//! through [`Channel::send`], which the dispatcher calls for each outbox row. Errors say in
//! their type whether to retry after an exact delay, retry with backoff, or give up.

mod memory;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::intake::Intake;
use crate::model::Outgoing;

pub use memory::{Behaviour, MemoryChannel};

/// What a channel can show, so that replies are written to fit it.
#[derive(Debug, Clone, Copy)]
pub struct ChannelCaps {
    /// Longest text of one message, in characters; longer replies are split or shortened by
    /// the adapter.
    pub text_limit: usize,
    /// Whether messages can carry buttons.
    pub buttons: bool,
    /// Whether answers should use a sheet's short text (e.g. X's 280 characters).
    pub short_answers: bool,
    /// Whether messages have a subject line (email).
    pub subjects: bool,
    /// How the platform counts a text against `text_limit` (X weighs some characters double
    /// and every link as 23), so that the console counts as the platform does.
    pub length: fn(&str) -> usize,
}

/// A text's length in characters (Unicode scalar values).
pub fn char_count(text: &str) -> usize {
    text.chars().count()
}

impl Default for ChannelCaps {
    fn default() -> Self {
        Self {
            text_limit: 4096,
            buttons: true,
            short_answers: false,
            subjects: false,
            length: char_count,
        }
    }
}

/// The platform accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    /// The platform's id for the sent message, when it gives one.
    pub platform_ref: Option<String>,
}

/// Why a send failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The platform asked to wait exactly this long (Telegram `retry_after`, X rate-limit reset).
    #[error("rate limited: retry after {0:?}")]
    RetryAfter(Duration),
    /// A temporary failure (5xx, timeout, connection reset): retry with backoff.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// The platform refused the message for good.
    #[error("refused: {reason}")]
    Permanent {
        /// The platform's reason, shown to operators.
        reason: String,
        /// The citizen cannot be reached on this channel any more (e.g. blocked the bot).
        unreachable: bool,
    },
}

/// A receiving loop failed in a way it could not recover from.
#[derive(Debug, thiserror::Error)]
#[error("channel {channel}: {message}")]
pub struct ChannelError {
    /// The channel.
    pub channel: String,
    /// What happened.
    pub message: String,
}

/// One messaging platform.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    /// The channel's name, as stored with its messages: `telegram`, `x`, `email`, `webchat`.
    fn name(&self) -> &str;

    /// What the channel can show.
    fn caps(&self) -> ChannelCaps;

    /// Receive until `shutdown` is cancelled, handing each message to `intake`. Resume from
    /// `intake.store().cursor(name)`. Retry platform outages with backoff and report them in
    /// `intake.health()`. Channels that only send (or receive through the console's HTTP
    /// routes) return at once.
    async fn run(
        self: Arc<Self>,
        intake: Arc<Intake>,
        shutdown: CancellationToken,
    ) -> Result<(), ChannelError>;

    /// Deliver one message. Give up with [`SendError::Transient`] well within
    /// `dispatcher.lease_secs`: after the lease another worker may claim the row again.
    async fn send(&self, message: &Outgoing) -> Result<Delivered, SendError>;

    /// Deliver one message that the platform may need in several parts, reporting each part
    /// delivered to `progress` and starting after the [`Outgoing::parts_sent`] parts earlier
    /// attempts delivered. The dispatcher calls this; channels that send in one request
    /// need not override it.
    async fn send_parts(
        &self,
        message: &Outgoing,
        progress: &dyn Progress,
    ) -> Result<Delivered, SendError> {
        let _ = progress;
        self.send(message).await
    }
}

/// Where a channel records how far it got with a message sent in several parts, so that a
/// retry, after a failure or a crash between parts, sends only the rest.
#[async_trait]
pub trait Progress: Send + Sync {
    /// The first `parts` parts are delivered. `false` when the send no longer holds the
    /// message (its lease ran out and another worker took it): the channel should stop.
    async fn parts_delivered(&self, parts: i64) -> bool;
}

/// Progress that is not kept (a send outside the dispatcher).
pub struct NoProgress;

#[async_trait]
impl Progress for NoProgress {
    async fn parts_delivered(&self, _parts: i64) -> bool {
        true
    }
}
