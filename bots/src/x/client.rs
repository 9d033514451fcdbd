//! The HTTP client of X API v2: signs each request (OAuth 2.0 bearer or OAuth 1.0a), reads
//! the rate-limit headers into per-endpoint budgets, and turns X's answers into [`ApiError`]s
//! that say what to do. A 401 under OAuth 2.0 refreshes the token once and tries again.
//! Error texts never carry tokens: reqwest errors are described by kind, without their URL.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sportello_core::store::Store;

use super::api::Problem;
use super::oauth1;
use super::oauth2::{AuthError, Tokens};

/// How requests are signed.
pub enum Auth {
    /// OAuth 2.0 user context, tokens in the store.
    Oauth2(Tokens),
    /// OAuth 1.0a user context.
    Oauth1(oauth1::Credentials),
}

/// What is left of one endpoint's rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left before the reset.
    pub remaining: u64,
    /// When the window resets, unix seconds.
    pub reset: u64,
}

/// A failed request, by what it means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 429: wait until this unix second.
    #[error("rate limited until {reset}")]
    RateLimited {
        /// `x-rate-limit-reset`.
        reset: u64,
    },
    /// 5xx, timeouts, connection failures, malformed answers: retry with backoff.
    #[error("{0}")]
    Transient(String),
    /// 400, 403 and other refusals, with X's detail.
    #[error("HTTP {status}: {detail}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// X's `detail` (or `title`).
        detail: String,
    },
    /// No valid token.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Describe a reqwest error without its URL.
pub fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else if e.is_decode() || e.is_body() {
        "malformed response from the server".into()
    } else {
        "network error".into()
    }
}

/// The X API client of one account.
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    budgets: Mutex<BTreeMap<&'static str, Budget>>,
}

/// Now, unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Client {
    /// A client of `base` (`x.api_url`).
    pub fn new(http: reqwest::Client, base: &str, auth: Auth) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            budgets: Mutex::new(BTreeMap::new()),
        }
    }

    /// The budgets seen so far, by endpoint name.
    pub fn budgets(&self) -> BTreeMap<&'static str, Budget> {
        self.budgets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The budget of one endpoint.
    pub fn budget(&self, endpoint: &str) -> Option<Budget> {
        self.budgets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(endpoint)
            .copied()
    }

    /// A GET of `path` with `query`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        store: &Store,
        endpoint: &'static str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T, ApiError> {
        self.call(store, endpoint, reqwest::Method::GET, path, query, None)
            .await
    }

    /// A POST of JSON `body` to `path`.
    pub async fn post<T: DeserializeOwned>(
        &self,
        store: &Store,
        endpoint: &'static str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ApiError> {
        self.call(
            store,
            endpoint,
            reqwest::Method::POST,
            path,
            &[],
            Some(body),
        )
        .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        store: &Store,
        endpoint: &'static str,
        method: reqwest::Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.base);
        let mut stale: Option<String> = None;
        for attempt in 0..2 {
            let authorization = match &self.auth {
                Auth::Oauth2(tokens) => {
                    let token = tokens.access(store, stale.as_deref()).await?;
                    stale = Some(token.expose().to_string());
                    format!("Bearer {}", token.expose())
                }
                Auth::Oauth1(c) => {
                    use rand::Rng;
                    let nonce: String = rand::thread_rng()
                        .sample_iter(&rand::distributions::Alphanumeric)
                        .take(32)
                        .map(char::from)
                        .collect();
                    oauth1::header(c, method.as_str(), &url, query, &nonce, unix_now())
                }
            };
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("authorization", authorization);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| ApiError::Transient(describe(&e)))?;
            self.note_budget(endpoint, response.headers());
            let status = response.status().as_u16();
            if status == 401 && attempt == 0 && matches!(self.auth, Auth::Oauth2(_)) {
                tracing::info!(endpoint, "X answered 401: refreshing the token once");
                continue;
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| ApiError::Transient(describe(&e)))?;
            if (200..300).contains(&status) {
                return serde_json::from_slice(&bytes)
                    .map_err(|_| ApiError::Transient("malformed response from the server".into()));
            }
            return Err(self.error(endpoint, status, &bytes));
        }
        Err(ApiError::Transient(
            "X refused the refreshed token (401)".into(),
        ))
    }

    fn error(&self, endpoint: &str, status: u16, body: &[u8]) -> ApiError {
        let problem: Problem = serde_json::from_slice(body).unwrap_or_default();
        let detail = problem.detail.filter(|d| !d.is_empty()).unwrap_or_else(|| {
            if problem.title.is_empty() {
                format!("HTTP {status}")
            } else {
                problem.title.clone()
            }
        });
        match status {
            429 => ApiError::RateLimited {
                reset: self
                    .budget(endpoint)
                    .map(|b| b.reset)
                    .unwrap_or_else(|| unix_now() + 60),
            },
            500.. => ApiError::Transient(format!("HTTP {status}: {detail}")),
            401 => ApiError::Transient(format!("HTTP 401: {detail}")),
            _ => ApiError::Refused { status, detail },
        }
    }

    fn note_budget(&self, endpoint: &'static str, headers: &reqwest::header::HeaderMap) {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(limit), Some(remaining), Some(reset)) = (
            get("x-rate-limit-limit"),
            get("x-rate-limit-remaining"),
            get("x-rate-limit-reset"),
        ) {
            self.budgets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    endpoint,
                    Budget {
                        limit,
                        remaining,
                        reset,
                    },
                );
        }
    }
}

/// How long to wait before the next request of an endpoint with `budget`: nothing while
/// requests are left, until the reset (to the second) when none is.
pub fn wait_for(budget: Option<Budget>, now: u64) -> Duration {
    match budget {
        Some(b) if b.remaining == 0 && b.reset > now => Duration::from_secs(b.reset - now),
        _ => Duration::ZERO,
    }
}
