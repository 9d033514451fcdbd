//! The X channel (X API v2 over reqwest): mentions and direct messages in, public replies
//! and DMs out, within X's rate limits and with rotating OAuth 2.0 tokens.
//!
//! - [`poll`](X::run): one poller at a time (advisory lock) reads mentions (`since_id`
//!   cursor, pages of 100 processed oldest first) and DMs (their own cursor), both kept in
//!   the channel's cursor and advanced in intake's transaction; it waits for
//!   `x-rate-limit-reset` whenever a window is used up.
//! - [`send`](X::send): public replies fitted to 280 weighted characters ([`text`]) and
//!   addressed to the citizen, so two citizens never get identical posts; operators' answers
//!   by DM when the citizen accepts DMs; a handoff answered publicly only with `x.handoff_text`.
//! - [`oauth2`]: token refresh under a lock, each new pair stored before use; [`oauth1`]:
//!   HMAC-SHA1 signing as the alternative.
//! - `/healthz` shows the channel's `state` and its rate-limit budget left per endpoint.

pub mod api;
mod authorize;
pub mod client;
mod cursor;
pub mod oauth1;
pub mod oauth2;
mod poll;
pub mod read;
mod send;
pub mod text;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use sportello_core::channel::{Channel, ChannelCaps, ChannelError, Delivered, SendError};
use sportello_core::config::{XAuth, XConfig};
use sportello_core::health::Health;
use sportello_core::intake::Intake;
use sportello_core::model::Outgoing;
use sportello_core::store::Store;
use tokio_util::sync::CancellationToken;

pub use authorize::authorize;
use client::{Auth, Client};

/// The channel's name, as stored with its messages.
pub const NAME: &str = "x";

/// The X channel of one office account.
pub struct X {
    config: XConfig,
    client: Client,
    store: OnceLock<Store>,
    health: OnceLock<Arc<Health>>,
}

/// The HTTP client the channel and `sportello x authorize` use.
pub fn http_client(config: &XConfig) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_secs))
        .connect_timeout(Duration::from_secs(config.timeout_secs))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// What X shows: 280 weighted characters, no buttons, a sheet's short text.
pub const CAPS: ChannelCaps = ChannelCaps {
    text_limit: text::LIMIT,
    buttons: false,
    short_answers: true,
    subjects: false,
    length: text::weighted_len,
};

impl X {
    /// The channel for `config` (validated by the configuration).
    pub fn new(config: &XConfig) -> Result<Self, crate::Error> {
        let http = http_client(config).map_err(crate::Error::Client)?;
        let auth = match config.auth {
            XAuth::Oauth2 => Auth::Oauth2(oauth2::Tokens::new(
                oauth2::App::new(config, http.clone()),
                &config.user_id,
            )),
            XAuth::Oauth1 => {
                let get = |s: &Option<sportello_core::config::Secret>, key: &'static str| {
                    s.clone().ok_or_else(|| crate::Error::Config {
                        key,
                        message: "not set".into(),
                    })
                };
                Auth::Oauth1(oauth1::Credentials {
                    consumer_key: get(&config.consumer_key, "x.consumer_key")?,
                    consumer_secret: get(&config.consumer_secret, "x.consumer_secret")?,
                    token: get(&config.access_token, "x.access_token")?,
                    token_secret: get(&config.access_token_secret, "x.access_token_secret")?,
                })
            }
        };
        Ok(Self {
            client: Client::new(http, &config.api_url, auth),
            config: config.clone(),
            store: OnceLock::new(),
            health: OnceLock::new(),
        })
    }

    /// Give the channel its store and health before it sends (the receiving task does this
    /// itself; senders that run without it, like benchmarks, call it).
    pub fn attach(&self, store: Store, health: Arc<Health>) {
        let _ = self.store.set(store);
        let _ = self.health.set(health);
    }

    /// Show the rate-limit budgets in `/healthz`.
    fn report_budgets(&self) {
        if let Some(health) = self.health.get() {
            let budgets = self.client.budgets();
            health.detail(NAME, "rate_limits", serde_json::json!(budgets));
        }
    }

    fn set_state(&self, state: &str) {
        if let Some(health) = self.health.get() {
            health.detail(NAME, "state", serde_json::json!(state));
        }
    }
}

#[async_trait]
impl Channel for X {
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
        self.attach(intake.store().clone(), intake.health().clone());
        let result = self.poll(&intake, &shutdown).await;
        if let Err(e) = &result {
            self.set_state(&format!("stopped: {}", e.message));
        }
        result
    }

    async fn send(&self, message: &Outgoing) -> Result<Delivered, SendError> {
        let result = self.deliver(message).await;
        self.report_budgets();
        result
    }
}
