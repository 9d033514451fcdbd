//! The double's side of authentication: OAuth 2.0 bearer tokens that expire, single-use
//! refresh tokens rotated by `POST /2/oauth2/token` (a reused one gets `invalid_grant`), the
//! PKCE authorization-code grant, and OAuth 1.0a HMAC-SHA1 signatures checked in full.

use super::Shared;
use super::server::{problem, respond};
use super::time::now_ms;
use super::types::{Endpoint, Fault, Request};
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Digest;
use std::sync::Arc;

/// Who an `Authorization` header stands for: the bearer token, or `oauth1`; `None` when it
/// is missing, unknown, expired or wrongly signed.
pub(crate) fn check(
    shared: &Shared,
    auth: &str,
    method: &Method,
    path: &str,
    query: &[(String, String)],
) -> Option<String> {
    if let Some(token) = auth.strip_prefix("Bearer ") {
        let s = shared.state();
        let expires = s.access.get(token)?;
        return (*expires > now_ms()).then(|| token.to_string());
    }
    let params = auth.strip_prefix("OAuth ")?;
    let creds = shared.state().oauth1.clone()?;
    let mut oauth: Vec<(String, String)> = Vec::new();
    for part in params.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let v = v.trim_matches('"');
        oauth.push((decode(k), decode(v)));
    }
    let get = |k: &str| oauth.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("oauth_consumer_key")? != creds.consumer_key
        || get("oauth_token")? != creds.token
        || get("oauth_signature_method")? != "HMAC-SHA1"
    {
        return None;
    }
    let signature = get("oauth_signature")?;
    let mut all: Vec<(String, String)> = oauth
        .into_iter()
        .filter(|(k, _)| k != "oauth_signature")
        .collect();
    all.extend(query.iter().cloned());
    let mut encoded: Vec<(String, String)> =
        all.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    let joined: Vec<String> = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let url = format!("{}{}", shared.base(), path);
    let base = format!(
        "{}&{}&{}",
        method.as_str(),
        encode(&url),
        encode(&joined.join("&"))
    );
    let key = format!(
        "{}&{}",
        encode(&creds.consumer_secret),
        encode(&creds.token_secret)
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(base.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    (expected == signature).then(|| "oauth1".to_string())
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn oauth_error(error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// `POST /2/oauth2/token`: `refresh_token` and `authorization_code` grants.
pub(crate) async fn token(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let delay = shared.state().token_delay;
    tokio::time::sleep(delay).await;
    let fault = shared
        .state()
        .faults
        .get_mut(&Endpoint::Token)
        .and_then(|q| q.pop_front());
    let record = |status: u16| {
        shared.state().requests.push(Request {
            endpoint: Endpoint::Token,
            query: form
                .iter()
                .filter(|(k, _)| k == "grant_type")
                .cloned()
                .collect(),
            status,
            at_ms: now_ms(),
            auth: String::new(),
        });
        shared.changed.notify_waiters();
    };
    match fault {
        Some(Fault::Hang(d)) => {
            tokio::time::sleep(d).await;
            record(503);
            return respond_status(503);
        }
        Some(Fault::Status(code, _)) => {
            record(code);
            return respond_status(code);
        }
        _ => {}
    }
    // Confidential clients authenticate with Basic; public clients name themselves.
    let (client_id, secret_ok) = {
        let s = shared.state();
        match headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        {
            Some(b) => {
                let decoded = STANDARD
                    .decode(b)
                    .ok()
                    .and_then(|d| String::from_utf8(d).ok())
                    .unwrap_or_default();
                let (id, secret) = decoded.split_once(':').unwrap_or_default();
                (id.to_string(), s.client_secret.as_deref() == Some(secret))
            }
            None => (
                get("client_id").unwrap_or_default(),
                s.client_secret.is_none(),
            ),
        }
    };
    if client_id != shared.state().client_id || !secret_ok {
        record(401);
        let body = json!({ "error": "unauthorized_client", "error_description": "Missing valid authorization header" });
        return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let mut s = shared.state();
    let pair = match get("grant_type").as_deref() {
        Some("refresh_token") => {
            let given = get("refresh_token").unwrap_or_default();
            match s.refresh.get_mut(&given) {
                Some(unused) if *unused => {
                    *unused = false;
                    Some(s.issue_pair())
                }
                _ => None,
            }
        }
        Some("authorization_code") => {
            let code = get("code").unwrap_or_default();
            let verifier = get("code_verifier").unwrap_or_default();
            let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
            match s.codes.remove(&code) {
                Some(expected) if expected == challenge => Some(s.issue_pair()),
                _ => None,
            }
        }
        _ => {
            drop(s);
            record(400);
            return oauth_error(
                "unsupported_grant_type",
                "grant_type must be refresh_token or authorization_code",
            );
        }
    };
    let ttl = s.access_ttl_secs;
    drop(s);
    match pair {
        Some((access, refresh)) => {
            record(200);
            axum::Json(json!({
                "token_type": "bearer", "expires_in": ttl, "access_token": access,
                "scope": "tweet.read tweet.write users.read dm.read dm.write offline.access",
                "refresh_token": refresh,
            }))
            .into_response()
        }
        None => {
            record(400);
            oauth_error("invalid_grant", "Value passed for the token was invalid.")
        }
    }
}

fn respond_status(code: u16) -> Response {
    respond(super::server::Answer::json(
        code,
        problem(
            code,
            "Service Unavailable",
            "Service Unavailable",
            "about:blank",
        ),
    ))
}
