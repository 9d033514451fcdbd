//! A test double of the Telegram Bot API (api.telegram.org) for one bot token.
//!
//! [`TelegramDouble::start`] serves `/bot<TOKEN>/<method>` (GET and POST, method names in any
//! case) on 127.0.0.1. Every request is checked against the contract
//! `shared/contracts/telegram-bot-api-9.1.json`: a breach is answered 400 as Telegram answers it
//! and recorded in [`TelegramDouble::violations`], so a test can assert the bot spoke the
//! protocol right.
//!
//! Methods with behaviour: `getMe`, `getUpdates` (long polling, offsets, 409 conflicts),
//! `sendMessage`, `answerCallbackQuery`, `editMessageReplyMarkup`, `setWebhook`,
//! `deleteWebhook`, `getWebhookInfo` and `sendChatAction`. Every other method of the contract
//! is validated, recorded and answered `true` — also those that return an object on Telegram.
//!
//! Faults can be injected per method (and per chat), and a rate limiter like Telegram's can be
//! turned on. Updates reach the bot by `getUpdates` or by [`TelegramDouble::deliver_webhook`].

pub mod contract;
pub mod html;
mod methods;
mod params;
mod rules;
mod server;
mod state;
mod types;
mod updates;
pub mod validate;

pub use contract::Contract;
pub use types::{Call, Fault, SentMessage};
pub use validate::Problem;

use serde_json::{Value, json};
use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A running double; clones share it. The server stops when the last clone is dropped.
#[derive(Clone)]
pub struct TelegramDouble {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
    client: reqwest::Client,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TelegramDouble {
    /// Starts a double for the bot with that token on 127.0.0.1 and a free port.
    ///
    /// # Panics
    /// When the contract file cannot be found (see [`contract::locate`]) or no port is free.
    pub async fn start(token: &str) -> TelegramDouble {
        let shared = Arc::new(Shared::new(Contract::shared(), token));
        let (addr, server) = server::spawn(Arc::clone(&shared)).await;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");
        TelegramDouble {
            inner: Arc::new(Inner {
                shared,
                addr,
                server,
                client,
            }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`; the bot appends `/bot<token>/<method>`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// Sets the username `getMe` reports (`sportello_test_bot` unless set).
    pub fn set_bot_username(&self, username: &str) {
        self.shared().lock().bot["username"] = json!(username);
    }

    /// Queues an update for `getUpdates`, giving it an `update_id` above all earlier ones
    /// when it has none; returns its id. The update is not checked against the contract.
    pub fn push_update(&self, update: Value) -> i64 {
        let id = self.shared().lock().push_update(update);
        self.shared().notify();
        id
    }

    /// Queues a text message from the user `first_name` in the private chat `chat_id`
    /// (a command such as `/start` gets its `bot_command` entity); returns the update id.
    pub fn push_text(&self, chat_id: i64, first_name: &str, text: &str) -> i64 {
        let id = self.shared().lock().push_text(chat_id, first_name, text);
        self.shared().notify();
        id
    }

    /// Queues the press of an inline button with `data` on the message `message_id` of the
    /// chat (the bot's message as sent, when the double knows it); returns the update id and
    /// the callback query id to answer.
    pub fn push_callback(&self, chat_id: i64, message_id: i64, data: &str) -> (i64, String) {
        let pushed = self
            .shared()
            .lock()
            .push_callback(chat_id, message_id, data);
        self.shared().notify();
        pushed
    }

    /// Every accepted `sendMessage`, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared().lock().sent.clone()
    }

    /// The accepted `sendMessage`s from the `from`-th on (0-based), in order: a reader that
    /// follows a long run takes only what is new.
    pub fn sent_since(&self, from: usize) -> Vec<SentMessage> {
        let st = self.shared().lock();
        st.sent.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// Every accepted `sendMessage` to that chat, in order.
    pub fn sent_to(&self, chat_id: i64) -> Vec<SentMessage> {
        self.sent()
            .into_iter()
            .filter(|m| m.chat_id == chat_id)
            .collect()
    }

    /// Waits until at least `n` messages went to that chat, or `timeout`; gives what there is.
    pub async fn wait_sent(&self, chat_id: i64, n: usize, timeout: Duration) -> Vec<SentMessage> {
        let mut events = self.shared().events.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            events.borrow_and_update();
            let sent = self.sent_to(chat_id);
            if sent.len() >= n {
                return sent;
            }
            match tokio::time::timeout_at(deadline, events.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.sent_to(chat_id),
            }
        }
    }

    /// Every request to that method (any case), accepted or not, in order of arrival.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        let calls = &self.shared().lock().calls;
        calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// The parameters of every accepted `answerCallbackQuery`.
    pub fn callback_answers(&self) -> Vec<Value> {
        self.shared().lock().callback_answers.clone()
    }

    /// The parameters of every accepted `editMessageReplyMarkup`.
    pub fn markup_edits(&self) -> Vec<Value> {
        self.shared().lock().markup_edits.clone()
    }

    /// Makes the next `times` well-formed calls of `method` (any case) meet `fault`.
    pub fn inject(&self, method: &str, fault: Fault, times: usize) {
        self.shared().lock().add_fault(method, None, fault, times);
    }

    /// Drops every injected fault not met yet: with a large `times`, [`inject`](Self::inject)
    /// and this bound a fault window in time.
    pub fn clear_faults(&self) {
        self.shared().lock().clear_faults();
    }

    /// Like [`inject`](Self::inject), for calls whose `chat_id` is that chat; these come
    /// before faults injected for the whole method.
    pub fn inject_for_chat(&self, method: &str, chat_id: i64, fault: Fault, times: usize) {
        self.shared()
            .lock()
            .add_fault(method, Some(chat_id), fault, times);
    }

    /// Turns on flood control for `sendMessage`: more than `global_per_sec` messages in the
    /// last second, or more than `per_chat_per_sec` to one chat, get 429 with the seconds left
    /// in the window as `retry_after`. 0 leaves that limit off.
    pub fn rate_limit(&self, global_per_sec: u32, per_chat_per_sec: u32) {
        self.shared()
            .lock()
            .set_limits(global_per_sec, per_chat_per_sec);
    }

    /// How many 429s the rate limiter gave (injected faults not counted).
    pub fn throttled(&self) -> usize {
        self.shared().lock().throttled
    }

    /// How many `getUpdates` were ended with 409 "Conflict: terminated by other getUpdates
    /// request", as Telegram ends a long poll when another `getUpdates` comes meanwhile.
    pub fn conflicts(&self) -> usize {
        self.shared().lock().conflicts
    }

    /// How many `getUpdates` arrived while another was still in progress (a long poll whose
    /// client went away does not count as in progress): two bot instances polling at once.
    pub fn overlapping_polls(&self) -> usize {
        self.shared().lock().overlapping_polls
    }

    /// How many `getUpdates` are being answered now.
    pub fn polls_in_progress(&self) -> usize {
        self.shared().lock().polls_in_progress
    }

    /// The highest `offset` any `getUpdates` asked for (0 before any).
    pub fn confirmed_offset(&self) -> i64 {
        self.shared().lock().confirmed_offset
    }

    /// How many `getUpdates` calls have begun. Once a call is counted it has taken over from
    /// any earlier long poll (which answers 409), and an update pushed afterwards reaches it:
    /// a test waits on this instead of sleeping until the call is under way.
    pub fn polls_begun(&self) -> u64 {
        self.shared().lock().poll_generation
    }

    /// How many queued updates are not confirmed yet.
    pub fn pending_updates(&self) -> usize {
        self.shared().lock().updates.len()
    }

    /// The webhook set by `setWebhook`: its URL and secret token.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        let st = self.shared().lock();
        st.webhook
            .as_ref()
            .map(|w| (w.url.clone(), w.secret.clone()))
    }

    /// POSTs the update (given an `update_id` when it has none) to the webhook, with the
    /// registered secret in `X-Telegram-Bot-Api-Secret-Token`; gives the status answered.
    pub async fn deliver_webhook(&self, update: Value) -> Result<u16, String> {
        let secret = self.webhook().and_then(|(_, secret)| secret);
        self.deliver_webhook_with_secret(update, secret.as_deref())
            .await
    }

    /// Like [`deliver_webhook`](Self::deliver_webhook) with that secret header instead (none
    /// when `None`), to see the bot refuse a wrong one.
    pub async fn deliver_webhook_with_secret(
        &self,
        mut update: Value,
        secret: Option<&str>,
    ) -> Result<u16, String> {
        let url = self
            .webhook()
            .map(|(url, _)| url)
            .ok_or("no webhook is set")?;
        self.shared().lock().stamp_update(&mut update);
        let mut request = self.inner.client.post(&url).json(&update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        Ok(response.status().as_u16())
    }

    /// Every breach of the contract seen so far, as `method: path: what`.
    pub fn violations(&self) -> Vec<String> {
        self.shared().lock().violations.clone()
    }
}

#[cfg(test)]
mod tests;
