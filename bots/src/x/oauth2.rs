//! OAuth 2.0 user context with X's rotating tokens.
//!
//! Access tokens last 2 hours; each refresh consumes the refresh token and returns a new
//! pair. The new pair is written to the store, in one transaction, before the access token is
//! used: a crash right after a refresh leaves the store holding the pair X expects next, and
//! a restart continues from the store, never from the token it was first given. One process
//! refreshes at a time: on PostgreSQL under an advisory lock, and the winner's pair is read by
//! the others instead of refreshing again (which would spend the single-use token twice).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::Digest;
use sportello_core::config::{Secret, XConfig};
use sportello_core::store::{Backend, Store, XTokens};
use tokio::sync::Mutex;

/// Refresh this long before X's expiry, so that a request never carries a token that
/// expires on the way.
const MARGIN_MS: i64 = 60_000;

/// Scopes the channel needs; `offline.access` makes X return refresh tokens.
pub const SCOPES: &str = "tweet.read tweet.write users.read dm.read dm.write offline.access";

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// X refused the refresh token (`invalid_grant`): only a new authorization helps.
    #[error(
        "X refused the stored refresh token (invalid_grant): authorize the app again with `sportello x authorize`, then `sportello x authorize --code CODE`"
    )]
    Refused,
    /// No token pair stored and none given.
    #[error(
        "no X tokens: set SPORTELLO_X__REFRESH_TOKEN or run `sportello x authorize`, then `sportello x authorize --code CODE`"
    )]
    Missing,
    /// The token endpoint or the store failed for now: retry.
    #[error("token refresh failed: {0}")]
    Transient(String),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

/// The token endpoint of an X app.
#[derive(Clone)]
pub struct App {
    http: reqwest::Client,
    url: String,
    client_id: String,
    client_secret: Option<Secret>,
}

impl App {
    /// The app of `config`.
    pub fn new(config: &XConfig, http: reqwest::Client) -> Self {
        Self {
            http,
            url: format!("{}/2/oauth2/token", config.api_url.trim_end_matches('/')),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
        }
    }

    /// Ask for a pair; `Refused` for `invalid_grant`.
    async fn grant(&self, form: &[(&str, &str)], now_ms: i64) -> Result<XTokens, AuthError> {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(&self.url);
        match &self.client_secret {
            Some(secret) => request = request.basic_auth(&self.client_id, Some(secret.expose())),
            None => form.push(("client_id", &self.client_id)),
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| AuthError::Transient(super::client::describe(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| AuthError::Transient(super::client::describe(&e)))?;
        if status.is_success() {
            let answer: TokenAnswer = serde_json::from_slice(&body)
                .map_err(|_| AuthError::Transient("malformed token answer".into()))?;
            let refresh = answer.refresh_token.ok_or_else(|| {
                AuthError::Transient("no refresh token: is offline.access granted?".into())
            })?;
            return Ok(XTokens {
                access_token: Secret::new(answer.access_token),
                refresh_token: Secret::new(refresh),
                expires_at_ms: now_ms + answer.expires_in.unwrap_or(7200) * 1000,
                refused: false,
            });
        }
        match serde_json::from_slice::<TokenError>(&body) {
            Ok(e) if e.error == "invalid_grant" || e.error == "invalid_request" => {
                Err(AuthError::Refused)
            }
            Ok(e) => Err(AuthError::Transient(format!("token endpoint: {}", e.error))),
            Err(_) => Err(AuthError::Transient(format!(
                "token endpoint: HTTP {status}"
            ))),
        }
    }
}

/// The office account's tokens: cached in memory, kept in the store.
pub struct Tokens {
    app: App,
    account: String,
    cache: Mutex<Option<(Secret, i64)>>,
}

impl Tokens {
    /// Tokens of `account` through `app`.
    pub fn new(app: App, account: &str) -> Self {
        Self {
            app,
            account: account.to_string(),
            cache: Mutex::new(None),
        }
    }

    /// A valid access token, refreshing when it expires or when `stale` (a token X just
    /// answered 401 to) is the one held.
    pub async fn access(&self, store: &Store, stale: Option<&str>) -> Result<Secret, AuthError> {
        let mut cache = self.cache.lock().await;
        let now = store.now_ms();
        if let Some((token, expires)) = cache.as_ref()
            && *expires > now + MARGIN_MS
            && stale != Some(token.expose())
        {
            return Ok(token.clone());
        }
        let fresh = self.refresh(store, stale).await?;
        *cache = Some((fresh.access_token.clone(), fresh.expires_at_ms));
        Ok(fresh.access_token)
    }

    async fn refresh(&self, store: &Store, stale: Option<&str>) -> Result<XTokens, AuthError> {
        let transient = |e: sportello_core::Error| AuthError::Transient(format!("store: {e}"));
        // SQLite serves a single process, and its "advisory lock" is granted to every
        // caller: there the refreshers of the process take turns here. On PostgreSQL the
        // advisory lock below decides, across processes.
        static IN_PROCESS: Mutex<()> = Mutex::const_new(());
        let _in_process = match store.backend() {
            Backend::Sqlite => Some(IN_PROCESS.lock().await),
            Backend::Postgres => None,
        };
        // One refresher across instances; the lock is given up when `_lock` drops.
        let mut waited = Duration::ZERO;
        let _lock = loop {
            if let Some(lock) = store
                .channel_lock("x-token-refresh")
                .await
                .map_err(transient)?
            {
                break lock;
            }
            if waited > Duration::from_secs(30) {
                return Err(AuthError::Transient(
                    "another instance holds the refresh lock".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += Duration::from_millis(100);
        };
        let stored = store
            .x_tokens(&self.account)
            .await
            .map_err(transient)?
            .ok_or(AuthError::Missing)?;
        if stored.refused {
            return Err(AuthError::Refused);
        }
        let now = store.now_ms();
        // Another instance (or an earlier run) refreshed already: use its pair.
        if !stored.access_token.expose().is_empty()
            && stored.expires_at_ms > now + MARGIN_MS
            && stale != Some(stored.access_token.expose())
        {
            return Ok(stored);
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", stored.refresh_token.expose()),
        ];
        match self.app.grant(&form, now).await {
            Ok(fresh) => {
                store
                    .save_x_tokens(&self.account, &fresh)
                    .await
                    .map_err(transient)?;
                tracing::info!("X access token refreshed; the new pair is stored");
                Ok(fresh)
            }
            Err(AuthError::Refused) => {
                store
                    .refuse_x_tokens(&self.account)
                    .await
                    .map_err(transient)?;
                Err(AuthError::Refused)
            }
            Err(e) => Err(e),
        }
    }
}

/// `sportello x authorize`: store a new PKCE verifier and return the page the office opens.
pub async fn authorization_url(config: &XConfig, store: &Store) -> sportello_core::Result<String> {
    use rand::Rng;
    let verifier: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    let state: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    store
        .save_x_verifier(&config.user_id, &Secret::new(verifier))
        .await?;
    let q = |s: &str| super::oauth1::encode(s);
    Ok(format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state={state}&code_challenge={challenge}&code_challenge_method=S256",
        config.authorize_url,
        q(&config.client_id),
        q(&config.redirect_uri),
        q(SCOPES),
    ))
}

/// `sportello x authorize --code CODE`: exchange the code for a pair and store it.
pub async fn complete(
    config: &XConfig,
    store: &Store,
    http: reqwest::Client,
    code: &str,
) -> Result<(), AuthError> {
    let verifier = store
        .x_verifier(&config.user_id)
        .await
        .map_err(|e| AuthError::Transient(format!("store: {e}")))?
        .ok_or(AuthError::Missing)?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("code_verifier", verifier.expose()),
    ];
    let tokens = App::new(config, http).grant(&form, store.now_ms()).await?;
    store
        .save_x_tokens(&config.user_id, &tokens)
        .await
        .map_err(|e| AuthError::Transient(format!("store: {e}")))
}
