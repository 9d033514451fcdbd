//! The Telegram channel, on teloxide: long polling (default) or webhook, inline buttons,
//! feedback, and Telegram's sending limits.
//!
//! Receiving: each update goes to intake, and only once intake has committed it (with the next
//! offset as the channel's cursor) is it confirmed, by the next `getUpdates` asking for a
//! higher offset. After a crash the stored offset is where polling resumes; an update
//! delivered twice is stored once. Button presses are answered (`answerCallbackQuery`) and
//! their buttons removed (`editMessageReplyMarkup`) after the commit.
//!
//! Sending: every text is HTML-escaped, split at 4,096 characters on paragraph boundaries, and
//! paced by [`limiter::Limiter`]; Telegram's errors become [`SendError`]s that say whether to
//! wait `retry_after`, back off, or give up (403: the citizen blocked the bot). The parts of a
//! split message already delivered are kept with the outbox row, so a retry (after a failure
//! or a crash between parts) sends only the rest.

mod format;
mod limiter;
pub mod updates;
mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sportello_core::channel::{
    Channel, ChannelCaps, ChannelError, Delivered, NoProgress, Progress, SendError,
};
use sportello_core::config::{TelegramConfig, TelegramMode, Texts};
use sportello_core::intake::{Intake, Receipt};
use sportello_core::model::{Action, Outgoing};
use sportello_core::store::ChannelLock;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, CallbackQueryId, ChatId, MessageId, ParseMode, UpdateKind};
use tokio_util::sync::CancellationToken;

pub use webhook::router as webhook_router;

/// The channel's name, as stored with its messages.
pub const NAME: &str = "telegram";

/// What Telegram shows: 4,096 characters a message (longer texts are split) and inline
/// keyboards.
pub const CAPS: ChannelCaps = ChannelCaps {
    text_limit: format::TEXT_LIMIT,
    buttons: true,
    short_answers: false,
    subjects: false,
    length: sportello_core::channel::char_count,
};

/// Longest wait between retries of a failing poll.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Time a send may take before it is given up as transient (well within the outbox lease).
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// The Telegram bot.
pub struct Telegram {
    bot: Bot,
    poll_bot: Bot,
    config: TelegramConfig,
    texts: Texts,
    limiter: limiter::Limiter,
}

impl Telegram {
    /// A bot for `config` (its token must be set); `texts` gives the short notices shown
    /// when a button is pressed.
    pub fn new(config: &TelegramConfig, texts: &Texts) -> Result<Self, crate::Error> {
        let token = config
            .token
            .as_ref()
            .map(|t| t.expose().to_string())
            .ok_or(crate::Error::Config {
                key: "telegram.token",
                message: "not set (SPORTELLO_TELEGRAM__TOKEN)".into(),
            })?;
        let url = reqwest::Url::parse(&config.api_url).map_err(|e| crate::Error::Config {
            key: "telegram.api_url",
            message: format!("{:?}: {e}", config.api_url),
        })?;
        let client = |timeout: Duration| {
            teloxide::net::default_reqwest_settings()
                .timeout(timeout)
                .build()
                .map_err(|e| crate::Error::Client(e.to_string()))
        };
        let poll_timeout = Duration::from_secs(config.poll_timeout_secs);
        Ok(Self {
            bot: Bot::with_client(&token, client(SEND_TIMEOUT)?).set_api_url(url.clone()),
            poll_bot: Bot::with_client(&token, client(poll_timeout + Duration::from_secs(10))?)
                .set_api_url(url),
            config: config.clone(),
            texts: texts.clone(),
            limiter: limiter::Limiter::new(config.rate_global, config.rate_per_chat),
        })
    }

    /// Whether updates arrive through the webhook route rather than long polling.
    pub fn webhook_mode(&self) -> bool {
        self.config.mode == TelegramMode::Webhook
    }

    /// Hand one update to intake and, once it is committed, answer its button press.
    pub async fn handle(
        &self,
        intake: &Intake,
        update: &Update,
    ) -> Result<(), sportello_core::Error> {
        let incoming = updates::read(update, self.config.groups);
        let receipt = match incoming.inbound {
            Some(inbound) => Some(intake.receive(inbound).await?),
            None => {
                if !matches!(
                    update.kind,
                    UpdateKind::Message(_) | UpdateKind::CallbackQuery(_)
                ) {
                    tracing::info!(
                        update = update.id.0,
                        "skipped an update of a kind Sportello does not serve"
                    );
                }
                None
            }
        };
        if let Some(press) = incoming.press {
            self.acknowledge(press, receipt.as_ref()).await;
        }
        Ok(())
    }

    /// Answer a button press and remove the buttons it came from. Failures are logged only:
    /// the press itself is safely stored, and a redelivered press is answered again.
    async fn acknowledge(&self, press: updates::Press, receipt: Option<&Receipt>) {
        let t = &self.texts;
        let notice = match (&press.action, receipt) {
            (None, _) => Some(&t.stale_button),
            (Some(_), Some(Receipt::Feedback { stale: true, .. })) => Some(&t.stale_button),
            (Some(Action::Feedback { .. }), _) => Some(&t.feedback_thanks),
            (Some(Action::Rate { .. }), _) => Some(&t.rating_thanks),
            _ => None,
        };
        let mut answer = self
            .bot
            .answer_callback_query(CallbackQueryId(press.id.clone()));
        if let Some(text) = notice {
            answer = answer.text(text.chars().take(200).collect::<String>());
        }
        if let Err(e) = answer.await {
            tracing::warn!(error = %e, "answerCallbackQuery failed");
        }
        if let Some((chat, message)) = press.message
            && let Err(e) = self
                .bot
                .edit_message_reply_markup(ChatId(chat), MessageId(message))
                .await
        {
            tracing::warn!(error = %e, "removing used buttons failed");
        }
    }

    async fn poll(
        &self,
        intake: Arc<Intake>,
        shutdown: CancellationToken,
    ) -> Result<(), ChannelError> {
        let health = intake.health().clone();
        loop {
            // One poller per bot across instances sharing a PostgreSQL database.
            let lock = loop {
                match intake.store().channel_lock(NAME).await {
                    Ok(Some(lock)) => break lock,
                    Ok(None) => tracing::debug!("another instance polls telegram; waiting"),
                    Err(e) => health.error(NAME, &format!("poller lock: {e}")),
                }
                let mut wait = Duration::from_secs(5);
                if pause(&shutdown, &mut wait).await {
                    return Ok(());
                }
            };
            // A former holder whose lock died with its connection stops within the grace.
            let mut grace = lock.grace();
            if !grace.is_zero() && pause(&shutdown, &mut grace).await {
                return Ok(());
            }
            if self.poll_holding(&intake, &shutdown, &lock).await? {
                return Ok(());
            }
            tracing::warn!("telegram poller lock lost: stopped polling until it is taken again");
            drop(lock);
            let mut wait = Duration::from_secs(5);
            if pause(&shutdown, &mut wait).await {
                return Ok(());
            }
        }
    }

    /// Poll while `lock` is held; `true` on shutdown, `false` when the lock is lost.
    async fn poll_holding(
        &self,
        intake: &Arc<Intake>,
        shutdown: &CancellationToken,
        lock: &ChannelLock,
    ) -> Result<bool, ChannelError> {
        let health = intake.health().clone();
        let mut backoff = Duration::from_secs(1);
        let shutdown = shutdown.clone();
        // A webhook left set would make getUpdates fail with 409.
        while let Err(e) = self.poll_bot.delete_webhook().await {
            health.error(NAME, &format!("deleteWebhook: {e}"));
            if pause(&shutdown, &mut backoff).await {
                return Ok(true);
            }
        }
        let mut offset: i64 = match intake.store().cursor(NAME).await {
            Ok(c) => c.and_then(|c| c.parse().ok()).unwrap_or(0),
            Err(e) => {
                return Err(ChannelError {
                    channel: NAME.into(),
                    message: format!("cannot read the stored offset: {e}"),
                });
            }
        };
        tracing::info!(offset, "telegram long polling");
        loop {
            if !lock.is_held().await {
                return Ok(false);
            }
            let request = self
                .poll_bot
                .get_updates()
                .offset(i32::try_from(offset).unwrap_or(i32::MAX))
                .timeout(u32::try_from(self.config.poll_timeout_secs).unwrap_or(25))
                .allowed_updates(vec![
                    AllowedUpdate::Message,
                    AllowedUpdate::EditedMessage,
                    AllowedUpdate::CallbackQuery,
                ]);
            let result = tokio::select! {
                _ = shutdown.cancelled() => return Ok(true),
                // Stop at once, in the middle of the long poll: another instance may take over.
                () = lock.lost() => return Ok(false),
                r = request.send() => r,
            };
            let batch = match result {
                Ok(batch) => batch,
                Err(e) => {
                    let message = poll_error(&e);
                    tracing::warn!(error = %message, retry_in = ?backoff, "telegram getUpdates failed");
                    health.error(NAME, &message);
                    if pause(&shutdown, &mut backoff).await {
                        return Ok(true);
                    }
                    continue;
                }
            };
            health.ok(NAME);
            backoff = Duration::from_secs(1);
            let Some(last) = batch.iter().map(updates::next_offset).max() else {
                continue;
            };
            // Chats are independent: their updates are stored concurrently, each chat's in
            // order. The offset is stored, and then confirmed by the next getUpdates, only
            // once the whole batch is committed; after a crash midway the batch comes again
            // and what was already stored is recognised as duplicate.
            let mut chats: HashMap<i64, Vec<&Update>> = HashMap::new();
            for update in &batch {
                chats
                    .entry(updates::chat_of(update))
                    .or_default()
                    .push(update);
            }
            let stored = futures::future::join_all(
                chats
                    .into_values()
                    .map(|updates| self.store_in_order(intake, updates, &shutdown)),
            )
            .await;
            if stored.contains(&false) {
                return Ok(true);
            }
            while let Err(e) = intake.store().set_cursor(NAME, &last.to_string()).await {
                health.error(NAME, &format!("storing the offset: {e}"));
                if pause(&shutdown, &mut backoff).await {
                    return Ok(true);
                }
            }
            offset = offset.max(last);
        }
    }

    /// Store one chat's updates in order, retrying a failing store rather than losing an
    /// update; `false` if shutdown came first.
    async fn store_in_order(
        &self,
        intake: &Intake,
        updates: Vec<&Update>,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut backoff = Duration::from_secs(1);
        for update in updates {
            while let Err(e) = self.handle(intake, update).await {
                tracing::error!(update = update.id.0, error = %e, "cannot store a telegram update; retrying");
                intake
                    .health()
                    .error(NAME, &format!("storing update {}: {e}", update.id.0));
                if pause(shutdown, &mut backoff).await {
                    return false;
                }
            }
        }
        true
    }

    async fn register_webhook(&self, intake: &Intake, shutdown: &CancellationToken) {
        let mut backoff = Duration::from_secs(1);
        let url = match reqwest::Url::parse(&self.config.webhook_url) {
            Ok(url) => url,
            Err(e) => {
                intake
                    .health()
                    .error(NAME, &format!("telegram.webhook_url: {e}"));
                return;
            }
        };
        loop {
            let mut request = self.bot.set_webhook(url.clone()).allowed_updates(vec![
                AllowedUpdate::Message,
                AllowedUpdate::EditedMessage,
                AllowedUpdate::CallbackQuery,
            ]);
            if let Some(secret) = &self.config.webhook_secret {
                request = request.secret_token(secret.expose().to_string());
            }
            match request.await {
                Ok(_) => {
                    intake.health().ok(NAME);
                    tracing::info!(url = %url, "telegram webhook registered");
                    return;
                }
                Err(e) => {
                    intake.health().error(NAME, &format!("setWebhook: {e}"));
                    if pause(shutdown, &mut backoff).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Sleep for `backoff` (doubling it for next time); `true` if shutdown came first.
async fn pause(shutdown: &CancellationToken, backoff: &mut Duration) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(wait) => false,
    }
}

/// A poll failure as shown in `/healthz`, without the token (reqwest errors carry the URL).
fn poll_error(e: &RequestError) -> String {
    match e {
        RequestError::Network(e) => {
            let e = e.as_ref();
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "network error"
            };
            format!("getUpdates: {kind}")
        }
        RequestError::InvalidJson { .. } => "getUpdates: malformed response from the server".into(),
        other => format!("getUpdates: {other}"),
    }
}

/// What a failed send means for the outbox.
fn classify(e: RequestError) -> SendError {
    use teloxide::ApiError;
    match e {
        RequestError::RetryAfter(s) => SendError::RetryAfter(s.duration()),
        RequestError::Api(
            api @ (ApiError::BotBlocked
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::ChatNotFound
            | ApiError::CantInitiateConversation),
        ) => SendError::Permanent {
            reason: api.to_string(),
            unreachable: true,
        },
        RequestError::Api(ApiError::InvalidToken) => {
            SendError::Transient("the bot token was refused (Unauthorized)".into())
        }
        // teloxide keeps only the description: Telegram's 4xx descriptions start with their
        // status name; anything else (e.g. "Bad Gateway") is a server-side failure.
        RequestError::Api(ApiError::Unknown(d)) if d.starts_with("Forbidden") => {
            SendError::Permanent {
                reason: d,
                unreachable: true,
            }
        }
        RequestError::Api(ApiError::Unknown(d)) if !d.starts_with("Bad Request") => {
            SendError::Transient(d)
        }
        RequestError::Api(api) => SendError::Permanent {
            reason: api.to_string(),
            unreachable: false,
        },
        RequestError::MigrateToChatId(id) => SendError::Permanent {
            reason: format!("the group moved to chat {id}"),
            unreachable: true,
        },
        RequestError::Network(e) => SendError::Transient(if e.is_timeout() {
            "timeout".into()
        } else {
            "network error".into()
        }),
        RequestError::InvalidJson { .. } => {
            SendError::Transient("malformed response from the server".into())
        }
        RequestError::Io(e) => SendError::Transient(e.to_string()),
    }
}

#[async_trait]
impl Channel for Telegram {
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
        match self.config.mode {
            TelegramMode::Polling => self.poll(intake, shutdown).await,
            TelegramMode::Webhook => {
                // Updates arrive on the console's `/telegram/webhook` route.
                self.register_webhook(&intake, &shutdown).await;
                shutdown.cancelled().await;
                Ok(())
            }
        }
    }

    async fn send(&self, message: &Outgoing) -> Result<Delivered, SendError> {
        self.send_parts(message, &NoProgress).await
    }

    async fn send_parts(
        &self,
        message: &Outgoing,
        progress: &dyn Progress,
    ) -> Result<Delivered, SendError> {
        let chat: i64 = message
            .recipient
            .parse()
            .map_err(|_| SendError::Permanent {
                reason: format!("{:?} is not a Telegram chat id", message.recipient),
                unreachable: true,
            })?;
        let parts = format::split(&message.text, format::TEXT_LIMIT);
        // Parts an earlier attempt delivered (kept with the outbox row) are not sent again.
        let done = usize::try_from(message.parts_sent).unwrap_or(0);
        let mut platform_ref = None;
        for (i, part) in parts.iter().enumerate().skip(done) {
            self.limiter.acquire(chat).await;
            let mut request = self
                .bot
                .send_message(ChatId(chat), format::escape(part))
                .parse_mode(ParseMode::Html);
            let last = i + 1 == parts.len();
            if last && let Some(keyboard) = format::keyboard(&message.buttons) {
                request = request.reply_markup(keyboard);
            }
            match request.await {
                Ok(sent) => {
                    platform_ref = Some(sent.id.0.to_string());
                    if !last {
                        if !progress.parts_delivered(i as i64 + 1).await {
                            return Err(SendError::Transient(
                                "the message's lease ran out between its parts".into(),
                            ));
                        }
                        sportello_core::failpoint::hit("telegram.after_part");
                    }
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(Delivered { platform_ref })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_bot_makes_the_citizen_unreachable() {
        let e = classify(RequestError::Api(teloxide::ApiError::BotBlocked));
        assert!(matches!(
            e,
            SendError::Permanent {
                unreachable: true,
                ..
            }
        ));
    }

    #[test]
    fn server_errors_are_transient_and_bad_requests_permanent() {
        let e = classify(RequestError::Api(teloxide::ApiError::Unknown(
            "Bad Gateway".into(),
        )));
        assert_eq!(e, SendError::Transient("Bad Gateway".into()));
        let e = classify(RequestError::Api(teloxide::ApiError::Unknown(
            "Bad Request: can't parse entities".into(),
        )));
        assert!(matches!(
            e,
            SendError::Permanent {
                unreachable: false,
                ..
            }
        ));
    }

    #[test]
    fn retry_after_is_kept_exactly() {
        let e = classify(RequestError::RetryAfter(
            teloxide::types::Seconds::from_seconds(7),
        ));
        assert_eq!(e, SendError::RetryAfter(Duration::from_secs(7)));
    }
}
