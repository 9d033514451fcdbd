//! Who is asking: a session cookie (`sportello_session`) or an `Authorization: Bearer` API
//! token, resolved once per request by [`authenticate`], which also enforces CSRF.
//!
//! Every POST, PUT, PATCH or DELETE that comes with a live session cookie must carry the
//! session's CSRF token, in the `X-CSRF-Token` header (htmx, fetch) or in a `csrf` form field
//! (plain forms); otherwise it is refused with 403 before any handler runs. Bearer-token
//! requests need none: a browser never adds that header by itself. `POST /login` has no
//! session yet: it refuses instead a form whose `Origin` is another site.
//!
//! A user whose password an admin reset reaches only the page to choose a new one (and
//! `/logout`) until they have; a session waiting for the second factor of a two-factor login
//! is nobody's yet.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sportello_core::model::Role;
use sportello_core::secret::constant_time_eq;

use crate::AppState;
use crate::error::{Error, PageError};

/// The session cookie's name.
pub const COOKIE: &str = "sportello_session";

/// Sessions are stamped as seen at most once a minute, to keep reads free of writes.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The user or token behind a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// Username, or the token's name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The user's id (`None` for tokens).
    pub user_id: Option<i64>,
    /// The session's CSRF token (`None` for tokens).
    pub csrf: Option<String>,
}

impl Actor {
    /// Allow the request when the actor has one of `roles`; admins may do everything.
    pub fn require(&self, roles: &[Role]) -> Result<(), Error> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::Forbidden(self.role.as_str().to_string()))
        }
    }
}

/// The actor found by [`authenticate`], stored in the request's extensions.
#[derive(Debug, Clone)]
struct Authenticated(Option<Actor>);

/// An API caller: 401 JSON when there is none.
pub struct ApiActor(pub Actor);

/// A console user: a redirect to `/login` when there is none.
pub struct PageActor(pub Actor);

/// Whoever is logged in, if anyone.
pub struct MaybeActor(pub Option<Actor>);

fn found(parts: &Parts) -> Option<Actor> {
    parts
        .extensions
        .get::<Authenticated>()
        .and_then(|a| a.0.clone())
}

impl<S: Send + Sync> FromRequestParts<S> for ApiActor {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        found(parts).map(Self).ok_or(Error::Unauthenticated)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageActor {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, PageError> {
        found(parts)
            .map(Self)
            .ok_or(PageError(Error::Unauthenticated))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeActor {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(found(parts)))
    }
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn idle_and_max(state: &AppState) -> (i64, i64) {
    (
        state.console.session_idle_minutes as i64 * 60_000,
        state.console.session_max_hours as i64 * 3_600_000,
    )
}

/// Resolve the actor, check CSRF on state-changing session requests, then run the route.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let store = state.intake.store();
    let path = req.uri().path().to_string();
    let api = path.starts_with("/api/");
    let fail = |e: Error| {
        if api {
            e.into_response()
        } else {
            PageError(e).into_response()
        }
    };
    let mut actor = None;
    let mut session_csrf = None;
    let mut must_change_password = false;
    if let Some(token) = bearer(req.headers()) {
        match store.verify_token(token).await {
            Ok(p) => {
                actor = p.map(|p| Actor {
                    name: p.name,
                    role: p.role,
                    user_id: p.user_id,
                    csrf: None,
                })
            }
            Err(e) => return fail(e.into()),
        }
    } else if let Some(id) = session_cookie(req.headers()) {
        match store.session(&id).await {
            // A session waiting for its second factor grants nothing but `/login/code`,
            // whose form still carries its CSRF token.
            Ok(Some(s)) if s.second_factor_pending => session_csrf = Some(s.csrf),
            Ok(Some(s)) => {
                let (idle, max) = idle_and_max(&state);
                if store.now_ms() - s.last_seen_at > TOUCH_EVERY_MS
                    && let Err(e) = store.touch_session(&id, idle, max).await
                {
                    tracing::warn!(error = %e, "cannot stamp the session as seen");
                }
                session_csrf = Some(s.csrf.clone());
                must_change_password = s.must_change_password;
                actor = Some(Actor {
                    name: s.user.username,
                    role: s.user.role,
                    user_id: Some(s.user.id),
                    csrf: Some(s.csrf),
                });
            }
            Ok(None) => {}
            Err(e) => return fail(e.into()),
        }
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut req = req;
    if unsafe_method
        && path != "/login"
        && let Some(expected) = session_csrf
    {
        match carries_csrf(req, &expected).await {
            Ok((true, rebuilt)) => req = rebuilt,
            Ok((false, _)) => return fail(Error::Csrf),
            Err(e) => return fail(e),
        }
    }
    if must_change_password && !allowed_before_password_change(&path) {
        return if api {
            (
                axum::http::StatusCode::FORBIDDEN,
                axum::Json(serde_json::json!({
                    "error": "la password è stata reimpostata: cambiala nella console prima di continuare"
                })),
            )
                .into_response()
        } else {
            axum::response::Redirect::to(crate::account::PASSWORD_PAGE).into_response()
        };
    }
    req.extensions_mut().insert(Authenticated(actor));
    next.run(req).await
}

/// What a user whose password was reset may reach before choosing a new one.
fn allowed_before_password_change(path: &str) -> bool {
    path == crate::account::PASSWORD_PAGE || path == "/logout" || path.starts_with("/assets/")
}

/// The largest form the console takes: the sheet import's, a file of up to
/// [`UPLOAD_LIMIT`], which the preview page sends back in base64 (a third larger).
pub const FORM_LIMIT: usize = 24 << 20;

/// The largest file the sheet import takes.
pub const UPLOAD_LIMIT: usize = 16 << 20;

/// Whether the request carries the CSRF token, in the header or in a form field (urlencoded
/// or multipart); the request is rebuilt from its buffered body. A body over [`FORM_LIMIT`]
/// is refused as too large.
async fn carries_csrf(req: Request, expected: &str) -> Result<(bool, Request), Error> {
    if let Some(h) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return Ok((constant_time_eq(h, expected), req));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let multipart = content_type.starts_with("multipart/form-data");
    if !multipart && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok((false, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        Error::TooLarge(format!(
            "il modulo supera {} MB: dividi il file e riprova",
            UPLOAD_LIMIT >> 20
        ))
    })?;
    let ok = if multipart {
        multipart_csrf(&content_type, bytes.clone())
            .await
            .is_some_and(|v| constant_time_eq(&v, expected))
    } else {
        bytes
            .split(|b| *b == b'&')
            .filter_map(|pair| pair.strip_prefix(b"csrf="))
            .any(|v| constant_time_eq(String::from_utf8_lossy(v).as_bytes(), expected))
    };
    Ok((ok, Request::from_parts(parts, Body::from(bytes))))
}

/// The `csrf` field of a buffered multipart body, looked for in its first 64 KB: the
/// console's forms put it first, before any file, and the rest is not parsed twice.
async fn multipart_csrf(content_type: &str, bytes: axum::body::Bytes) -> Option<String> {
    use axum::extract::{FromRequest, Multipart};
    const HEAD: usize = 64 << 10;
    let req = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes.slice(..bytes.len().min(HEAD))))
        .ok()?;
    let mut form = Multipart::from_request(req, &()).await.ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// Headers that keep pages out of frames, scripts to our own, and responses out of caches.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    set(h, "cache-control", "no-store");
    resp
}

/// Which roles a group of routes admits, and how to refuse (JSON for the API, a page or a
/// redirect to `/login` for the console).
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    roles: &'static [Role],
    api: bool,
}

impl Gate {
    /// For console pages.
    pub const fn page(roles: &'static [Role]) -> Self {
        Self { roles, api: false }
    }

    /// For API routes.
    pub const fn api(roles: &'static [Role]) -> Self {
        Self { roles, api: true }
    }
}

/// Refuse a route to anyone without one of the gate's roles, before its handler reads the
/// request (so a forbidden request gets 403 whatever its body).
pub async fn gate(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let actor = req
        .extensions()
        .get::<Authenticated>()
        .and_then(|a| a.0.as_ref());
    let refusal = match actor {
        None => Some(Error::Unauthenticated),
        Some(a) => a.require(gate.roles).err(),
    };
    match (refusal, gate.api) {
        (None, _) => next.run(req).await,
        (Some(e), true) => e.into_response(),
        (Some(e), false) => PageError(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            name: "x".into(),
            role,
            user_id: Some(1),
            csrf: None,
        }
    }

    #[test]
    fn admins_pass_every_gate_and_others_only_their_own() {
        assert!(actor(Role::Admin).require(&[Role::Editor]).is_ok());
        assert!(actor(Role::Operator).require(&[Role::Operator]).is_ok());
        assert!(actor(Role::Operator).require(&[Role::Editor]).is_err());
        assert!(actor(Role::Editor).require(&[Role::Operator]).is_err());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; sportello_session=abc; b=2"),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("sportello_session="),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }

    fn multipart(csrf_first: bool, file_len: usize) -> (String, axum::body::Bytes) {
        let b = "XyZbOuNdArY";
        let csrf =
            format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt0k3n\r\n");
        let file = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\r\n{}\r\n",
            "a".repeat(file_len)
        );
        let body = if csrf_first {
            format!("{csrf}{file}--{b}--\r\n")
        } else {
            format!("{file}{csrf}--{b}--\r\n")
        };
        (format!("multipart/form-data; boundary={b}"), body.into())
    }

    #[tokio::test]
    async fn the_csrf_field_is_found_first_in_a_large_multipart_form() {
        let (ct, body) = multipart(true, 17 << 20);
        assert_eq!(multipart_csrf(&ct, body).await.as_deref(), Some("t0k3n"));
        let (ct, body) = multipart(false, 1000);
        assert_eq!(multipart_csrf(&ct, body).await.as_deref(), Some("t0k3n"));
        let (ct, body) = multipart(false, 100 << 10);
        assert_eq!(
            multipart_csrf(&ct, body).await,
            None,
            "not looked for after a large file"
        );
        let (ct, body) = multipart(false, 0);
        let body = axum::body::Bytes::from(String::from_utf8_lossy(&body).replace("csrf", "other"));
        assert_eq!(multipart_csrf(&ct, body).await, None);
    }
}
