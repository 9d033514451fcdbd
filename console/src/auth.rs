//! `/login` and `/logout`.
//!
//! Login attempts are throttled per username and per client address, counted in the
//! database (so every process on one PostgreSQL shares the count): after
//! [`MAX_FAILURES_PER_USER`] failures for one username, or [`MAX_FAILURES_PER_ADDRESS`] from
//! one address, within [`WINDOW_MS`], further attempts get 429 until the window has passed.
//! Each login gets a new session id; the one the browser had is deleted.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sportello_core::model::Role;

use crate::AppState;
use crate::error::{Error, PageResult};
use crate::session::{COOKIE, MaybeActor, session_cookie};
use crate::views;

/// Failed logins for one username that close the window.
pub const MAX_FAILURES_PER_USER: i64 = 5;
/// Failed logins from one address that close the window (an office may share one address).
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// The window failures are counted over: 15 minutes.
pub const WINDOW_MS: i64 = 15 * 60_000;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/login/code", get(code_page).post(code))
        .route("/logout", post(logout))
}

async fn home(MaybeActor(actor): MaybeActor) -> Response {
    match actor {
        None => Redirect::to("/login").into_response(),
        Some(a) if a.role == Role::Editor => views::login::editor_home(&a).into_response(),
        Some(_) => Redirect::to("/queue").into_response(),
    }
}

async fn login_page(MaybeActor(actor): MaybeActor) -> Response {
    if actor.is_some() {
        return Redirect::to("/").into_response();
    }
    views::login::login_page(None, "").into_response()
}

/// The client's address, when the server was started with connection info.
pub struct PeerAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// A login form posted from another site would log the browser into the attacker's account
/// ("login CSRF"): when the browser says where the form came from, it must be this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split("://").nth(1);
    origin != "null" && origin_host.is_some() && origin_host == host
}

fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.console.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value for a session id (empty and expired to log out).
fn cookie(value: &str, secure: bool) -> HeaderValue {
    let mut c = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if value.is_empty() {
        c.push_str("; Max-Age=0");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
}

async fn login(
    State(state): State<AppState>,
    PeerAddress(address): PeerAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult<Response> {
    if !same_origin(&headers) {
        return Err(Error::Csrf.into());
    }
    let store = state.intake.store();
    // Usernames have at most 64 characters; a longer one is cut before it is counted or logged.
    let username: String = form.username.trim().chars().take(64).collect();
    let username = username.as_str();
    let now = store.now_ms();
    let (by_user, by_address) = store
        .login_failures(username, &address, now - WINDOW_MS)
        .await?;
    if by_user >= MAX_FAILURES_PER_USER || by_address >= MAX_FAILURES_PER_ADDRESS {
        tracing::warn!(%address, "login throttled");
        let e = Error::TooManyRequests(
            "Troppi tentativi di accesso non riusciti. Riprova tra 15 minuti.".into(),
        );
        return Ok((
            e.status(),
            views::login::login_page(Some(&e.to_string()), username),
        )
            .into_response());
    }
    let Some(user) = store.verify_password(username, &form.password).await? else {
        store
            .record_login_failure(username, &address, now - WINDOW_MS)
            .await?;
        let e = Error::Unauthenticated;
        return Ok((
            e.status(),
            views::login::login_page(Some("Nome utente o password non corretti."), username),
        )
            .into_response());
    };
    store.clear_login_failures(username).await?;
    if let Some(old) = session_cookie(&headers) {
        store.delete_session(&old).await?;
    }
    if store.two_factor(user.id).await?.enabled {
        // The password alone opens a session that grants nothing until the code is given.
        let pending = store
            .create_pending_session(user.id, SECOND_FACTOR_MS)
            .await?;
        let mut resp = Redirect::to("/login/code").into_response();
        resp.headers_mut().insert(
            header::SET_COOKIE,
            cookie(&pending.id, secure(&state, &headers)),
        );
        return Ok(resp);
    }
    open_session(&state, &headers, &user, &address).await
}

/// Open the user's session, audit the login, and send them home.
async fn open_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &sportello_core::store::UserRow,
    address: &str,
) -> PageResult<Response> {
    let store = state.intake.store();
    let idle = state.console.session_idle_minutes as i64 * 60_000;
    let max = state.console.session_max_hours as i64 * 3_600_000;
    let session = store.create_session(user.id, idle, max).await?;
    store
        .audit(
            &user.username,
            "login",
            &format!("user:{}", user.username),
            &serde_json::json!({ "address": address }),
        )
        .await?;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&session.id, secure(state, headers)),
    );
    Ok(resp)
}

/// How long the second factor may take after the password: 5 minutes.
pub const SECOND_FACTOR_MS: i64 = 5 * 60_000;

/// The session waiting for its second factor, from the request's cookie.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, sportello_core::store::SessionRow)>, Error> {
    let Some(id) = session_cookie(headers) else {
        return Ok(None);
    };
    Ok(state
        .intake
        .store()
        .session(&id)
        .await?
        .filter(|s| s.second_factor_pending)
        .map(|s| (id, s)))
}

async fn code_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult<Response> {
    match pending(&state, &headers).await? {
        Some((_, s)) => Ok(views::login::code_page(None, &s.csrf).into_response()),
        None => Ok(Redirect::to("/login").into_response()),
    }
}

/// The second factor's form.
#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

async fn code(
    State(state): State<AppState>,
    PeerAddress(address): PeerAddress,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> PageResult<Response> {
    let Some((id, session)) = pending(&state, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let store = state.intake.store();
    let user = session.user;
    let now = store.now_ms();
    let (by_user, by_address) = store
        .login_failures(&user.username, &address, now - WINDOW_MS)
        .await?;
    if by_user >= MAX_FAILURES_PER_USER || by_address >= MAX_FAILURES_PER_ADDRESS {
        tracing::warn!(%address, "second factor throttled");
        store.delete_session(&id).await?;
        let e = Error::TooManyRequests(
            "Troppi tentativi di accesso non riusciti. Riprova tra 15 minuti.".into(),
        );
        return Ok((
            e.status(),
            views::login::login_page(Some(&e.to_string()), &user.username),
        )
            .into_response());
    }
    if !store.verify_second_factor(user.id, &form.code).await? {
        store
            .record_login_failure(&user.username, &address, now - WINDOW_MS)
            .await?;
        return Ok((
            axum::http::StatusCode::UNAUTHORIZED,
            views::login::code_page(
                Some("Codice non corretto o già usato. Riprova con il codice attuale dell'app."),
                &session.csrf,
            ),
        )
            .into_response());
    }
    store.clear_login_failures(&user.username).await?;
    store.delete_session(&id).await?;
    open_session(&state, &headers, &user, &address).await
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> PageResult<Response> {
    if let Some(id) = session_cookie(&headers) {
        state.intake.store().delete_session(&id).await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, cookie("", secure(&state, &headers)));
    Ok(resp)
}
