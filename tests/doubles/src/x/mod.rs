//! A test double of the X API v2 (api.x.com) for one office account.
//!
//! [`XDouble::start`] serves, on 127.0.0.1, the paths of the contract
//! `shared/contracts/x-api-v2-openapi.json` that Sportello uses: `GET /2/users/{id}/mentions`
//! (since_id, until_id, start_time, max_results 5-100, pagination_token/next_token,
//! `tweet.fields`, `expansions=author_id` with `includes.users`), `GET /2/dm_events`,
//! `POST /2/tweets` (with `reply.in_reply_to_tweet_id`; 403 for a duplicate of a text the
//! account already posted; 400 above 280 weighted characters),
//! `POST /2/dm_conversations/with/{participant_id}/messages` (403 to a user who does not
//! accept DMs), and `POST /2/oauth2/token`.
//!
//! Errors are RFC 7807 problems; a 200 can carry partial `errors[]` (a post whose author
//! cannot be found); every answer of a rate-limited endpoint carries `x-rate-limit-limit`,
//! `x-rate-limit-remaining` and `x-rate-limit-reset` for X's per-user 15-minute windows (which
//! tests can shorten), and a used-up window answers 429. Query parameters and request bodies
//! are checked against the contract; breaches are answered 400 and kept in
//! [`XDouble::violations`]. Access tokens last 2 hours (tests can expire them at once);
//! refresh tokens are single use.

pub mod contract;
mod oauth;
mod posting;
mod server;
mod state;
mod time;
mod timelines;
mod types;
pub mod weight;

pub use contract::XContract;
pub use types::{Endpoint, Fault, Posted, Reference, Request, SentDm};

use state::{Dm, Oauth1, State, User};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub(crate) struct Shared {
    state: Mutex<State>,
    contract: Arc<XContract>,
    changed: Notify,
    base: OnceLock<String>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base(&self) -> &str {
        self.base.get().map(String::as_str).unwrap_or_default()
    }
}

/// A running double; clones share it. The server stops when the last clone is dropped.
#[derive(Clone)]
pub struct XDouble {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The office account the double serves unless told otherwise.
pub const ACCOUNT_ID: &str = "1500000000000000001";
/// Its handle.
pub const ACCOUNT_HANDLE: &str = "URPMilano";

impl XDouble {
    /// A double for the office account [`ACCOUNT_ID`] (`@URPMilano`) and the X app
    /// `client_id` (a confidential client when `client_secret` is given).
    ///
    /// # Panics
    /// When the contract file cannot be found or no port is free.
    pub async fn start(client_id: &str, client_secret: Option<&str>) -> XDouble {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(
                ACCOUNT_ID,
                ACCOUNT_HANDLE,
                client_id,
                client_secret,
            )),
            contract: XContract::shared(),
            changed: Notify::new(),
            base: OnceLock::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let _ = shared.base.set(format!("http://{addr}"));
        let app = server::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        XDouble {
            inner: Arc::new(Inner {
                shared,
                addr,
                server,
            }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The base address, for `x.api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// A refresh token the office obtained when it authorized the app.
    pub fn issue_refresh_token(&self) -> String {
        let mut s = self.shared().state();
        let (access, refresh) = s.issue_pair();
        s.access.remove(&access);
        refresh
    }

    /// A valid access token, for tests that speak to the double directly.
    pub fn issue_access_token(&self) -> String {
        self.shared().state().issue_pair().0
    }

    /// Accept OAuth 1.0a requests signed with these credentials.
    pub fn accept_oauth1(
        &self,
        consumer_key: &str,
        consumer_secret: &str,
        token: &str,
        token_secret: &str,
    ) {
        self.shared().state().oauth1 = Some(Oauth1 {
            consumer_key: consumer_key.into(),
            consumer_secret: consumer_secret.into(),
            token: token.into(),
            token_secret: token_secret.into(),
        });
    }

    /// The authorization page approved: the code X sends to the redirect URI for a PKCE
    /// `code_challenge` (S256).
    pub fn approve(&self, code_challenge: &str) -> String {
        let mut s = self.shared().state();
        let code = format!("code-{}", s.id());
        s.codes.insert(code.clone(), code_challenge.into());
        code
    }

    /// Expire every access token issued so far (the 2 hours have passed).
    pub fn expire_access_tokens(&self) {
        for v in self.shared().state().access.values_mut() {
            *v = 0;
        }
    }

    /// Refuse every refresh token issued so far (the office revoked the app).
    pub fn revoke_refresh_tokens(&self) {
        for v in self.shared().state().refresh.values_mut() {
            *v = false;
        }
    }

    /// Make the token endpoint take this long to answer (to let refreshes overlap).
    pub fn delay_token_answers(&self, delay: Duration) {
        self.shared().state().token_delay = delay;
    }

    /// How many token pairs the token endpoint has issued (refreshes and authorizations).
    pub fn tokens_issued(&self) -> u64 {
        self.shared().state().tokens_issued
    }

    /// Set an endpoint's rate-limit window: `limit` requests per `secs` seconds.
    pub fn set_rate_limit(&self, endpoint: Endpoint, limit: u32, secs: u64) {
        let mut s = self.shared().state();
        if let Some(w) = s.windows.get_mut(&endpoint) {
            *w = state::Window {
                limit,
                secs,
                used: 0,
                reset: 0,
            };
        }
    }

    /// Make the next request of `endpoint` fail with `fault` (faults queue up in order).
    pub fn fail_next(&self, endpoint: Endpoint, fault: Fault) {
        self.shared()
            .state()
            .faults
            .entry(endpoint)
            .or_default()
            .push_back(fault);
    }

    /// A citizen of X.
    pub fn add_user(&self, id: &str, username: &str, name: &str, receives_dm: bool) {
        let user = User {
            id: id.into(),
            username: username.into(),
            name: name.into(),
            receives_dm,
        };
        self.shared().state().users.insert(id.into(), user);
    }

    /// Make a user unfindable: mentions carry their posts with a partial `errors[]` entry.
    pub fn hide_user(&self, id: &str) {
        self.shared().state().missing_users.insert(id.into());
    }

    /// A post by `author_id`; returns its id.
    pub fn post(&self, author_id: &str, text: &str, reference: Reference) -> String {
        let id = self
            .shared()
            .state()
            .add_tweet(author_id, text, reference)
            .to_string();
        self.shared().changed.notify_waiters();
        id
    }

    /// A post by `author_id` that mentions the account (`@URPMilano text`); returns its id.
    pub fn mention(&self, author_id: &str, text: &str) -> String {
        self.post(
            author_id,
            &format!("@{ACCOUNT_HANDLE} {text}"),
            Reference::None,
        )
    }

    /// A direct message from `sender_id` to the account; returns the event id.
    pub fn dm(&self, sender_id: &str, text: &str) -> String {
        let mut s = self.shared().state();
        let id = s.id();
        let account = s.account.id.clone();
        s.dms.insert(
            id,
            Dm {
                id,
                sender_id: sender_id.into(),
                recipient_id: account,
                text: text.into(),
                created_ms: time::now_ms(),
            },
        );
        id.to_string()
    }

    /// Every post the account made, in order.
    pub fn posted(&self) -> Vec<Posted> {
        self.shared().state().posted.clone()
    }

    /// Every DM the account sent, in order.
    pub fn sent_dms(&self) -> Vec<SentDm> {
        self.shared().state().sent_dms.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared().state().requests.clone()
    }

    /// Requests that broke the contract.
    pub fn violations(&self) -> Vec<String> {
        self.shared().state().violations.clone()
    }

    /// Wait until `check` holds on the double's records, or `patience` passes; the last
    /// result either way.
    pub async fn wait_for<T>(
        &self,
        patience: Duration,
        mut check: impl FnMut(&XDouble) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + patience;
        loop {
            let notified = self.shared().changed.notified();
            if let Some(v) = check(self) {
                return Some(v);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            // Records change on requests; new posts by tests also notify. A short cap keeps
            // changes made under the lock by helpers from being missed.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
        }
    }

    /// Wait for at least `n` posts by the account.
    pub async fn wait_posted(&self, n: usize, patience: Duration) -> Vec<Posted> {
        self.wait_for(patience, |d| {
            let p = d.posted();
            (p.len() >= n).then_some(p)
        })
        .await
        .unwrap_or_else(|| self.posted())
    }

    /// Wait for at least `n` DMs sent by the account.
    pub async fn wait_dms(&self, n: usize, patience: Duration) -> Vec<SentDm> {
        self.wait_for(patience, |d| {
            let p = d.sent_dms();
            (p.len() >= n).then_some(p)
        })
        .await
        .unwrap_or_else(|| self.sent_dms())
    }
}
