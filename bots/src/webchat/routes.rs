//! The chat's HTTP routes, merged into the console server.
//!
//! `GET /chat` (the page; gives a new browser its session), `POST /chat/messages` (a text or a
//! button press, as a form or JSON, with the session's CSRF token), `GET /chat/events` (live
//! messages, Server-Sent Events), `GET /chat/transcript` (JSON or HTML), `GET
//! /chat/resume/{token}` (a personal link back to a conversation), and the static
//! `chat.css`, `chat.js` and `widget.js`. Bodies over 16 KB are refused with 413.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sportello_core::intake::{Intake, Receipt};
use sportello_core::model::Action;

use super::inbound::{Post, Refused, read};
use super::live;
use super::page::{self, PageText};
use super::session::Session;
use super::{NAME, WebChat};

/// Largest request body the chat accepts.
const BODY_LIMIT: usize = 16 * 1024;

/// Messages shown when the page loads.
const TRANSCRIPT_LIMIT: i64 = 200;

pub(super) type Shared = (Arc<WebChat>, Arc<Intake>);

/// The chat's routes, ready to merge into the console's router.
pub fn router(chat: Arc<WebChat>, intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/chat", get(show))
        .route("/chat/messages", axum::routing::post(receive))
        .route("/chat/contact", axum::routing::post(super::reach::leave))
        .route("/chat/events", get(live::events))
        .route("/chat/transcript", get(transcript))
        .route("/chat/resume/{token}", get(super::resume::open))
        .route("/chat/chat.css", get(|| asset("text/css", CHAT_CSS)))
        .route("/chat/chat.js", get(|| asset("text/javascript", CHAT_JS)))
        .route(
            "/chat/widget.js",
            get(|| asset("text/javascript", WIDGET_JS)),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(announced_size))
        .with_state((chat, intake))
}

/// Refuse a body announced as too large before reading any of it, so that the client hears
/// 413 rather than a connection reset in the middle of its upload. Bodies without a length
/// are cut at the same size by `DefaultBodyLimit`.
async fn announced_size(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONNECTION, "close")],
            "richiesta troppo grande",
        )
            .into_response();
    }
    next.run(request).await
}

const CHAT_CSS: &str = include_str!("../../assets/chat.css");
const CHAT_JS: &str = include_str!("../../assets/chat.js");
const WIDGET_JS: &str = include_str!("../../assets/widget.js");

async fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, format!("{kind}; charset=utf-8")),
            (header::CACHE_CONTROL, "public, max-age=300".into()),
        ],
        body,
    )
        .into_response()
}

/// The client's address, when the server was started with connection info.
struct Peer(String);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;
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

pub(super) fn secure(chat: &WebChat, headers: &HeaderMap) -> bool {
    chat.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session of the request's cookie (a resumed one checked with the server's key).
pub(super) fn session_of(intake: &Intake, headers: &HeaderMap) -> Option<Session> {
    Session::from_headers(headers, intake.resume_links().map(|l| l.key()))
}

/// The citizen's personal link back to `session`'s conversation, as the page shows it: under
/// `console.public_url`, or else under the address the browser asked for.
fn resume_link(
    chat: &WebChat,
    intake: &Intake,
    session: &Session,
    headers: &HeaderMap,
) -> Option<String> {
    let links = intake.resume_links()?;
    let now = intake.store().now_ms();
    let thread = session.thread();
    links.public_link(&thread, now).or_else(|| {
        let host = headers.get(header::HOST)?.to_str().ok()?;
        let scheme = if secure(chat, headers) {
            "https"
        } else {
            "http"
        };
        Some(format!("{scheme}://{host}{}", links.path(&thread, now)))
    })
}

pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    let is = |name, what| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .is_some_and(|v| v.contains(what))
    };
    is(header::CONTENT_TYPE, "application/json") || is(header::ACCEPT, "application/json")
}

async fn entries(
    intake: &Intake,
    session: &Session,
) -> Result<Vec<sportello_core::store::TranscriptEntry>, Response> {
    let mut entries = intake
        .store()
        .transcript(NAME, &session.thread(), TRANSCRIPT_LIMIT)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read a web chat transcript");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })?;
    page::current_buttons_only(&mut entries);
    Ok(entries)
}

async fn show(State((chat, intake)): State<Shared>, headers: HeaderMap) -> Response {
    let (session, new) = match session_of(&intake, &headers) {
        Some(s) => (s, false),
        None => (Session::new(), true),
    };
    let entries = if new {
        Vec::new()
    } else {
        match entries(&intake, &session).await {
            Ok(e) => e,
            Err(r) => return r,
        }
    };
    let welcome = intake
        .policy()
        .decide("", &Action::Start, intake.caps(NAME))
        .reply
        .map(|r| r.text)
        .unwrap_or_default();
    let text = PageText {
        title: &chat.config.title,
        intro: &chat.config.intro,
        welcome: &welcome,
        text_limit: chat.config.text_limit,
        site: &chat.site,
        reach_title: &chat.config.reach_title,
        reach_notice: &chat.config.reach_notice,
        privacy_url: &chat.site.privacy_url,
        rating_star: &chat.texts.rating_star,
        rating_stars: &chat.texts.rating_stars,
        resume_title: &chat.config.resume_title,
        resume_notice: &chat
            .config
            .resume_notice
            .replace("{days}", &chat.config.resume_days.to_string()),
        resume_link: resume_link(&chat, &intake, &session, &headers),
    };
    let mut response = page::page(&text, &session.csrf(), &entries).into_response();
    let h = response.headers_mut();
    let csp = format!(
        "default-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors {}",
        chat.config.frame_ancestors
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if new {
        h.insert(header::SET_COOKIE, session.cookie(secure(&chat, &headers)));
    }
    response
}

/// A refusal, as JSON for the page's script or as a plain page for a form post.
pub(super) fn refuse(json: bool, status: StatusCode, message: &str) -> Response {
    if json {
        (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
    } else {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message.to_string(),
        )
            .into_response()
    }
}

async fn receive(
    State((chat, intake)): State<Shared>,
    Peer(ip): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = wants_json(&headers);
    let cfg = &chat.config;
    let post: Post = if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
    {
        match serde_json::from_slice(&body) {
            Ok(p) => p,
            Err(_) => return refuse(true, StatusCode::BAD_REQUEST, "richiesta non valida"),
        }
    } else {
        // Unknown fields are ignored; a malformed form reads as an empty one (refused below).
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    };
    let Some(session) = session_of(&intake, &headers) else {
        return refuse(json, StatusCode::FORBIDDEN, &cfg.expired);
    };
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .or(post.csrf.as_deref())
        .unwrap_or_default();
    if !session.csrf_matches(token) {
        return refuse(json, StatusCode::FORBIDDEN, &cfg.expired);
    }
    let thread = session.thread();
    if !chat.limiter.allow(&thread, &ip) {
        return refuse(json, StatusCode::TOO_MANY_REQUESTS, &cfg.rate_limited);
    }
    let inbound = match read(&chat, &thread, post) {
        Ok(i) => i,
        Err(Refused::Stale) => return done(json, Some(&chat.texts.stale_button)),
        Err(Refused::Invalid(message)) => {
            return refuse(json, StatusCode::UNPROCESSABLE_ENTITY, &message);
        }
    };
    let action = inbound.action.clone();
    match intake.receive(inbound).await {
        Ok(receipt) => {
            // A first message creates the contact after its page's stream opened: mark it
            // online now rather than at the stream's next renewal.
            if chat.is_listening(&thread) {
                let store = intake.store();
                let until = store.now_ms() + live::ONLINE_FOR.as_millis() as i64;
                if let Err(e) = store.set_online_until(NAME, &thread, until).await {
                    tracing::warn!(error = %e, "cannot mark a web chat citizen online");
                }
            }
            let t = &chat.texts;
            let notice = match (&action, &receipt) {
                (_, Receipt::Feedback { stale: true, .. }) => Some(&t.stale_button),
                (Action::Feedback { .. }, _) => Some(&t.feedback_thanks),
                (Action::Rate { .. }, _) => Some(&t.rating_thanks),
                _ => None,
            };
            done(json, notice)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a web chat message");
            refuse(
                json,
                StatusCode::SERVICE_UNAVAILABLE,
                "Il messaggio non è stato ricevuto. Riprova tra poco, per favore.",
            )
        }
    }
}

/// Stored (or recognised as already stored): the page reads the transcript again.
fn done(json: bool, notice: Option<&String>) -> Response {
    if json {
        axum::Json(serde_json::json!({ "ok": true, "notice": notice })).into_response()
    } else {
        Redirect::to("/chat").into_response()
    }
}

async fn transcript(State((chat, intake)): State<Shared>, headers: HeaderMap) -> Response {
    let Some(session) = session_of(&intake, &headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let entries = match entries(&intake, &session).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let mut response = if wants_json(&headers) {
        axum::Json(serde_json::json!({ "messages": entries })).into_response()
    } else {
        page::entries_html(
            &session.csrf(),
            &entries,
            &chat.texts.rating_star,
            &chat.texts.rating_stars,
        )
        .into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
