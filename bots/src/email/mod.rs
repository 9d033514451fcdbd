//! The email channel: one IMAP mailbox read with IDLE (or polling) and answered over SMTP.
//!
//! Receiving ([`receive`]): messages are fetched by UID above the stored cursor
//! (`UIDVALIDITY:UID`), in batches and in order, and each is handed to intake with its
//! cursor, so the cursor advances in the transaction that stores the message; only after the
//! commit is a message flagged `\Seen` or moved. Mail is never deleted. Parsing ([`parse`],
//! [`text`], [`rules`]) picks the citizen's words out of quoted history, unwraps PEC
//! envelopes, recognises bounces, and applies RFC 3834: auto-replies, lists, system senders
//! and the office itself are stored for operators but never answered.
//!
//! Sending ([`smtp`], [`reply`]): threaded replies (`In-Reply-To`, `References`, one stable
//! Message-ID per outbox row), plain text and escaped HTML, `Auto-Submitted: auto-replied` on
//! the bot's answers only.

mod conn;
mod offices;
pub mod parse;
mod process;
mod receive;
pub mod reply;
pub mod rules;
mod smtp;
pub mod text;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use sportello_core::channel::{Channel, ChannelCaps, ChannelError, Delivered, SendError};
use sportello_core::config::{EmailConfig, Texts};
use sportello_core::intake::Intake;
use sportello_core::model::Outgoing;
use tokio_util::sync::CancellationToken;

pub use receive::Cursor;

/// The channel's name, as stored with its messages.
pub const NAME: &str = "email";

/// The email channel.
pub struct Email {
    config: EmailConfig,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    smtp: smtp::Smtp,
    /// Intake, known once `run` starts; `send` reads from its store who wrote a reply.
    intake: OnceLock<Arc<Intake>>,
    /// `console.public_url`, under which answers carry 👍/👎 links; empty: none.
    public_url: String,
    /// The labels of the 👍/👎 links.
    useful: (String, String),
}

impl Email {
    /// The channel for `config` (validated by the configuration); answers carry 👍/👎 links
    /// under `public_url` when it is set, labelled as `texts` says.
    pub fn new(config: &EmailConfig, public_url: &str, texts: &Texts) -> Result<Self, String> {
        Ok(Self {
            tls: conn::tls_config(config)?,
            smtp: smtp::Smtp::new(config)?,
            config: config.clone(),
            intake: OnceLock::new(),
            public_url: public_url.trim_end_matches('/').to_string(),
            useful: (texts.useful_button.clone(), texts.not_useful_button.clone()),
        })
    }

    /// The 👍/👎 links of an answer to the citizen's email `reply_to`.
    async fn feedback_links(
        &self,
        automatic: bool,
        reply_to: Option<&str>,
    ) -> Vec<(String, String)> {
        let (Some(intake), Some(reply_to)) = (self.intake.get(), reply_to) else {
            return Vec::new();
        };
        if !automatic || self.public_url.is_empty() {
            return Vec::new();
        }
        match intake.store().email_feedback_token(reply_to).await {
            Ok(Some(token)) => vec![
                (
                    self.useful.0.clone(),
                    format!("{}/feedback/email/{token}/si", self.public_url),
                ),
                (
                    self.useful.1.clone(),
                    format!("{}/feedback/email/{token}/no", self.public_url),
                ),
            ],
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "email: feedback links left out");
                Vec::new()
            }
        }
    }

    /// Give the channel its intake before `run` (for a process that sends without
    /// receiving, such as a test or a second instance).
    pub fn attach(&self, intake: Arc<Intake>) {
        let _ = self.intake.set(intake);
    }
}

/// What email shows: room for the whole answer, a subject, no buttons.
pub const CAPS: ChannelCaps = ChannelCaps {
    text_limit: 100_000,
    buttons: false,
    short_answers: false,
    subjects: true,
    length: sportello_core::channel::char_count,
};

#[async_trait]
impl Channel for Email {
    fn name(&self) -> &str {
        NAME
    }

    fn caps(&self) -> ChannelCaps {
        CAPS
    }

    async fn run(
        self: Arc<Self>,
        intake: Arc<Intake>,
        shutdown: CancellationToken,
    ) -> Result<(), ChannelError> {
        self.attach(intake.clone());
        intake.register(NAME, self.caps());
        intake.health().running(NAME, true);
        // Office emails leave from whichever process runs the channel; each row is leased.
        let offices = self.send_office_mail(intake.clone(), shutdown.clone());
        let result = tokio::select! {
            r = self.receive(intake.clone(), shutdown.clone()) => r,
            () = offices => Ok(()),
        };
        intake.health().running(NAME, false);
        result
    }

    async fn send(&self, message: &Outgoing) -> Result<Delivered, SendError> {
        let automatic = match self.intake.get() {
            Some(intake) => intake
                .store()
                .email_outbox_is_bot(message.id)
                .await
                .map_err(|e| SendError::Transient(format!("reading the outbox row: {e}")))?,
            None => true,
        };
        let feedback = self
            .feedback_links(automatic, message.reply_to.as_deref())
            .await;
        let sender = reply::Sender {
            address: &self.config.address,
            name: &self.config.from_name,
            signature: &self.config.signature,
        };
        let email = reply::build(
            &sender,
            &reply::Reply {
                outbox_id: message.id,
                to: &message.recipient,
                subject: message.subject.as_deref(),
                in_reply_to: message.reply_to.as_deref(),
                text: &message.text,
                automatic,
                feedback: &feedback,
            },
        )
        .map_err(|reason| SendError::Permanent {
            reason,
            unreachable: true,
        })?;
        self.smtp.send(&email).await?;
        if let Some(intake) = self.intake.get() {
            intake.health().sent_ok(NAME);
        }
        Ok(Delivered {
            platform_ref: Some(reply::message_id(message.id, &self.config.address)),
        })
    }
}
