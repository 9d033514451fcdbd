//! The citizen web chat: a page under `/chat`, an embeddable `/chat/widget.js`, and the
//! `webchat` channel on the same intake and policy as Telegram.
//!
//! Receiving: the page posts each message (or button press) to `/chat/messages`, which hands
//! it to intake and answers once intake has committed it. Sending: the dispatcher's
//! [`Channel::send`] pushes the outbox row to the browser tabs of the session that listen on
//! `/chat/events`; nothing else is stored. The transcript (`/chat/transcript`) is the source
//! of truth: a page that (re)loads, or reconnects its live stream, reads it again, so a
//! message delivered while no tab was open is not lost.
//!
//! Live delivery reaches tabs connected to the process that sends; with several processes on
//! one PostgreSQL, a tab connected elsewhere sees the message when it next reads the
//! transcript (on reconnect or reload).
//!
//! - [`session`]: the anonymous session cookie, its thread and its CSRF token.
//! - [`limiter`]: messages per minute per session and per address.
//! - `routes`: the HTTP handlers; `inbound`: a post read into an `Inbound`; `live`: the
//!   Server-Sent Events stream, which also keeps the citizen marked online; `page`: the HTML;
//!   `reach`: the email address and phone number a citizen leaves for the reply; `resume`:
//!   the personal link that brings a conversation back to any browser.

mod inbound;
mod limiter;
mod live;
mod page;
mod reach;
mod resume;
mod routes;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use sportello_core::channel::{Channel, ChannelCaps, ChannelError, Delivered, SendError};
use sportello_core::config::{SiteConfig, Texts, WebchatConfig};
use sportello_core::intake::Intake;
use sportello_core::model::{Button, Outgoing};
use sportello_core::store::notify::WEBCHAT_CHANNEL;
use sportello_core::store::{Backend, Store};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use routes::router;

/// The channel's name, as stored with its messages.
pub const NAME: &str = "webchat";

/// Longest bot or operator message shown in one bubble.
const TEXT_LIMIT: usize = 4096;

/// What the web chat shows: long texts and buttons.
pub const CAPS: ChannelCaps = ChannelCaps {
    text_limit: TEXT_LIMIT,
    buttons: true,
    short_answers: false,
    subjects: false,
    length: sportello_core::channel::char_count,
};

/// A message pushed live to the citizen's open tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Live {
    /// The outbox row, as `outbox_id` in the transcript.
    pub outbox_id: i64,
    /// The text.
    pub text: String,
    /// The buttons offered with it.
    pub buttons: Vec<Button>,
}

/// The web chat channel.
pub struct WebChat {
    config: WebchatConfig,
    site: SiteConfig,
    texts: Texts,
    secure_cookies: bool,
    limiter: limiter::Limiter,
    /// Open tabs by thread, each sent a message or `None`, "read the transcript again". A std
    /// mutex: held only to look up or insert, never across an await.
    listeners: Mutex<HashMap<String, broadcast::Sender<Option<Live>>>>,
    /// On PostgreSQL, where deliveries are announced to every process (the citizen's page
    /// may be open on another instance than the one sending); set when the channel runs.
    shared_store: OnceLock<Store>,
    /// Cancelled when the server stops, so that live streams end and shutdown is not held up.
    stop: CancellationToken,
}

impl WebChat {
    /// The channel for `config`; `texts` gives the notices shown after a button press;
    /// `secure_cookies` marks the session cookie `Secure` (as the console's).
    pub fn new(config: &WebchatConfig, texts: &Texts, secure_cookies: bool) -> Self {
        Self {
            limiter: limiter::Limiter::new(config.rate_per_session, config.rate_per_ip),
            config: config.clone(),
            site: SiteConfig::default(),
            texts: texts.clone(),
            secure_cookies,
            listeners: Mutex::new(HashMap::new()),
            shared_store: OnceLock::new(),
            stop: CancellationToken::new(),
        }
    }

    /// The same channel, its page naming the body and linking the footer pages of `site`.
    pub fn with_site(mut self, site: &SiteConfig) -> Self {
        self.site = site.clone();
        self
    }

    /// Whether a tab of `thread` listens on this process.
    fn is_listening(&self, thread: &str) -> bool {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(thread)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// Listen for messages to `thread`.
    fn subscribe(&self, thread: &str) -> broadcast::Receiver<Option<Live>> {
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        // Forget threads whose tabs have all closed.
        listeners.retain(|_, tx| tx.receiver_count() > 0);
        listeners
            .entry(thread.to_string())
            .or_insert_with(|| broadcast::channel(32).0)
            .subscribe()
    }

    /// Push to the open tabs of `thread` on this process.
    fn push(&self, thread: &str, live: Option<Live>) {
        let tx = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(thread)
            .cloned();
        if let Some(tx) = tx {
            let _ = tx.send(live);
        }
    }

    /// Tell every open tab of this process to read its transcript again.
    fn resync_all(&self) {
        let listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        for tx in listeners.values() {
            let _ = tx.send(None);
        }
    }

    /// On PostgreSQL: push the deliveries any process announces to the tabs open here. A
    /// lost connection is made again, and the open tabs then read their transcripts again,
    /// since announcements made meanwhile were missed.
    async fn relay(self: Arc<Self>, store: Store, shutdown: CancellationToken) {
        let mut listener = None;
        loop {
            let Some(l) = listener.as_mut() else {
                match store.listen(&[WEBCHAT_CHANNEL]).await {
                    Ok(Some(l)) => {
                        listener = Some(l);
                        self.resync_all();
                    }
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for web chat deliveries; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = shutdown.cancelled() => return,
                        }
                    }
                }
                continue;
            };
            let received = tokio::select! {
                r = l.try_recv() => r,
                () = shutdown.cancelled() => return,
            };
            match received {
                Ok(Some(n)) => self.deliver_announced(&store, n.payload()).await,
                Ok(None) | Err(_) => {
                    tracing::warn!("web chat deliveries: connection lost; reconnecting");
                    listener = None;
                }
            }
        }
    }

    /// An announced delivery (`outbox_id:thread`): read from the store and pushed, when a tab
    /// of that thread is open here.
    async fn deliver_announced(&self, store: &Store, payload: &str) {
        let Some((id, thread)) = payload.split_once(':') else {
            return;
        };
        let Ok(outbox_id) = id.parse::<i64>() else {
            return;
        };
        if !self.is_listening(thread) {
            return;
        }
        let live = match store.transcript(NAME, thread, 50).await {
            Ok(entries) => entries
                .into_iter()
                .find(|e| e.outbox_id == Some(outbox_id))
                .map(|e| Live {
                    outbox_id,
                    text: e.text,
                    buttons: e.buttons,
                }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read an announced web chat delivery");
                None
            }
        };
        // Not found (or unreadable): the page reads its transcript again all the same.
        self.push(thread, live);
    }
}

#[async_trait]
impl Channel for WebChat {
    fn name(&self) -> &str {
        NAME
    }

    fn caps(&self) -> ChannelCaps {
        CAPS
    }

    /// Messages arrive on the console server's `/chat` routes: this only marks the channel
    /// healthy and, at shutdown, ends the live streams.
    async fn run(
        self: Arc<Self>,
        intake: Arc<Intake>,
        shutdown: CancellationToken,
    ) -> Result<(), ChannelError> {
        let store = intake.store().clone();
        let relay = (store.backend() == Backend::Postgres
            && self.shared_store.set(store.clone()).is_ok())
        .then(|| tokio::spawn(Arc::clone(&self).relay(store, shutdown.clone())));
        intake.health().ok(NAME);
        shutdown.cancelled().await;
        self.stop.cancel();
        if let Some(relay) = relay {
            let _ = relay.await;
        }
        Ok(())
    }

    /// The message is in the transcript already: delivering it is telling the citizen's open
    /// tabs. On SQLite (one process) they are here. On PostgreSQL they may be open on any
    /// instance: the delivery is announced, and every instance's relay pushes it to the tabs
    /// it holds, this one's included. The row counts as delivered once announced; a tab that
    /// misses the announcement (its instance was reconnecting) reads the transcript again,
    /// and a page opened later shows it anyway.
    async fn send(&self, message: &Outgoing) -> Result<Delivered, SendError> {
        if let Some(store) = self.shared_store.get() {
            store
                .notify(
                    WEBCHAT_CHANNEL,
                    &format!("{}:{}", message.id, message.recipient),
                )
                .await
                .map_err(|e| SendError::Transient(format!("announcing the delivery: {e}")))?;
        } else {
            // No open tab is not a failure: the citizen reads the message from the
            // transcript when the page next loads.
            self.push(
                &message.recipient,
                Some(Live {
                    outbox_id: message.id,
                    text: message.text.clone(),
                    buttons: message.buttons.clone(),
                }),
            );
        }
        Ok(Delivered {
            platform_ref: Some(format!("webchat:{}", message.id)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(recipient: &str) -> Outgoing {
        Outgoing {
            id: 7,
            conversation_id: 1,
            channel: NAME.into(),
            recipient: recipient.into(),
            thread: recipient.into(),
            subject: None,
            reply_to: None,
            text: "Buongiorno".into(),
            buttons: vec![],
            attempt: 1,
            lease: 1,
            parts_sent: 0,
        }
    }

    fn chat() -> WebChat {
        WebChat::new(&WebchatConfig::default(), &Texts::default(), false)
    }

    #[tokio::test]
    async fn a_message_reaches_every_open_tab_of_its_session_only() {
        let chat = chat();
        let mut a1 = chat.subscribe("wa");
        let mut a2 = chat.subscribe("wa");
        let mut b = chat.subscribe("wb");
        chat.send(&outgoing("wa")).await.unwrap();
        assert_eq!(a1.recv().await.unwrap().unwrap().text, "Buongiorno");
        assert_eq!(a2.recv().await.unwrap().unwrap().outbox_id, 7);
        assert!(b.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_message_with_no_open_tab_is_delivered_to_the_transcript() {
        let chat = chat();
        let sent = chat.send(&outgoing("nobody")).await.unwrap();
        assert_eq!(sent.platform_ref.as_deref(), Some("webchat:7"));
    }
}
