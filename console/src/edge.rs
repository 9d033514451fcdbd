//! The HTTP edge: what every request passes before any route (console, API, web chat) sees
//! it.
//!
//! - **Client address.** `X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the
//!   TCP peer is one of `console.trusted_proxies`. Then the client's address is the right-most
//!   address of `X-Forwarded-For` that is not itself a trusted proxy, and it replaces the
//!   peer's in the request's [`ConnectInfo`], so every per-address limit (login, web chat)
//!   counts the client. From any other peer both headers are removed, so no route can read a
//!   forged one.
//! - **Size.** A body over [`BODY_LIMIT`] ([`crate::session::FORM_LIMIT`] for the sheet
//!   import) is refused with 413 before a route reads it, whether it announces its length or
//!   not; routes with smaller limits (the web chat's) keep their own.
//! - **NUL.** PostgreSQL text cannot hold U+0000 (SQLite can), so one rule for both backends:
//!   a request whose path, query, form or JSON body carries a NUL is refused with 400 before
//!   any route runs. (Messages that citizens send through the platforms — Telegram, X,
//!   email — do not pass here, or, for Telegram's webhook, pass unchecked: intake stores
//!   their NUL as U+2400, `␀`.)
//!
//! Refusals are JSON (`{"error": "…"}`) under `/api/` and `/chat/`, an HTML page elsewhere.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sportello_core::config::{Cidr, ConsoleConfig};

use crate::error::{Error, PageError};

/// The largest request body outside the sheet import: 1 MB.
pub const BODY_LIMIT: usize = 1 << 20;

/// Put the edge in front of `router` (the console merged with the channels' routes).
pub fn layer(router: Router, console: &ConsoleConfig) -> Router {
    // The configuration was validated at load; an entry that did not parse trusts nobody.
    let proxies = Arc::new(console.proxies().unwrap_or_default());
    router
        .layer(axum::middleware::from_fn(guard))
        .layer(axum::middleware::from_fn_with_state(proxies, forwarded))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Routes whose bodies a platform sends (Telegram's webhook): a 400 would make the platform
/// retry the same update for ever, so a NUL in them is not refused here; intake stores it
/// as `␀` like any message received by polling.
const PLATFORM_PATHS: &[&str] = &["/telegram/webhook"];

/// Whether the edge refuses a NUL in this path's form or JSON body.
pub fn body_checked(path: &str) -> bool {
    !PLATFORM_PATHS.contains(&path)
}

/// The body limit of a path.
pub fn limit(path: &str) -> usize {
    if path == "/sheets/import" {
        crate::session::FORM_LIMIT
    } else {
        BODY_LIMIT
    }
}

fn refuse(path: &str, e: Error) -> Response {
    if path.starts_with("/api/") || path.starts_with("/chat/") {
        e.into_response()
    } else {
        PageError(e).into_response()
    }
}

fn too_large(limit: usize) -> Error {
    let size = if limit >= 1 << 20 {
        format!("{} MB", limit >> 20)
    } else {
        format!("{} KB", limit >> 10)
    };
    Error::TooLarge(format!("la richiesta supera il limite di {size}"))
}

fn nul() -> Error {
    Error::BadRequest(
        "la richiesta contiene un carattere non ammesso (NUL, U+0000): toglilo e riprova".into(),
    )
}

/// Whether the path or query carries an encoded NUL (`%00`); a raw one cannot reach here.
fn uri_has_nul(uri: &Uri) -> bool {
    uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00"))
}

/// Whether a form body carries a NUL, raw or encoded.
fn form_has_nul(body: &[u8]) -> bool {
    body.contains(&0) || body.windows(3).any(|w| w == b"%00")
}

/// Whether a JSON body carries a NUL: `\u0000` in a string (an escaped backslash before
/// `u0000` is not one), or a raw NUL byte.
fn json_has_nul(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            0 => return true,
            b'\\' => {
                if body.get(i + 1) == Some(&b'u') && body.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

enum Kind {
    Form,
    Json,
    Other,
}

fn kind(headers: &HeaderMap) -> Kind {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence == "application/x-www-form-urlencoded" {
        Kind::Form
    } else if essence == "application/json" || essence.ends_with("+json") {
        Kind::Json
    } else {
        Kind::Other
    }
}

/// Refuse NUL anywhere in the request, and bodies over the path's limit.
async fn guard(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if uri_has_nul(req.uri()) {
        return refuse(&path, nul());
    }
    let limit = limit(&path);
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        let mut resp = refuse(&path, too_large(limit));
        // The body is not read: the connection cannot serve another request.
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return resp;
    }
    let check: fn(&[u8]) -> bool = match kind(req.headers()) {
        _ if !body_checked(&path) => return next.run(req).await,
        Kind::Form => form_has_nul,
        Kind::Json => json_has_nul,
        Kind::Other => return next.run(req).await,
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let over = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string())
                .contains("length limit");
            return refuse(
                &path,
                if over {
                    too_large(limit)
                } else {
                    Error::BadRequest("corpo della richiesta illeggibile".into())
                },
            );
        }
    };
    if check(&bytes) {
        return refuse(&path, nul());
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The client's address from `X-Forwarded-For` (every such header, in order), sent by a
/// trusted peer: the right-most address that is not a trusted proxy. When every address is
/// trusted, the left-most; when one does not parse, the trusted hop after it.
pub fn forwarded_client(headers: &HeaderMap, trusted: &dyn Fn(IpAddr) -> bool) -> Option<IpAddr> {
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut best = None;
    for hop in hops.iter().rev() {
        let ip = hop
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()));
        match ip {
            Some(ip) if trusted(ip) => best = Some(ip),
            Some(ip) => return Some(ip),
            None => break,
        }
    }
    best
}

/// Believe `X-Forwarded-*` from trusted proxies only (see the module's documentation).
async fn forwarded(
    State(proxies): State<Arc<Vec<Cidr>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let trusted = |ip: IpAddr| proxies.iter().any(|c| c.contains(ip));
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    match peer {
        Some(peer) if trusted(peer.ip()) => {
            if let Some(client) = forwarded_client(req.headers(), &trusted) {
                req.extensions_mut()
                    .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
            }
        }
        _ => {
            let h = req.headers_mut();
            h.remove("x-forwarded-for");
            h.remove("x-forwarded-proto");
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn a_nul_is_found_in_forms_and_json_strings_only_when_there() {
        assert!(form_has_nul(b"username=a%00b&password=x"));
        assert!(form_has_nul(b"a=\0"));
        assert!(!form_has_nul(b"a=%2500&b=100"));
        assert!(json_has_nul(br#"{"text":"a\u0000b"}"#));
        assert!(
            !json_has_nul(br#"{"text":"a\\u0000b"}"#),
            "an escaped backslash"
        );
        assert!(json_has_nul(br#"{"text":"a\\\u0000b"}"#));
        assert!(!json_has_nul(br#"{"text":"\u00e0 0000"}"#));
        assert!(uri_has_nul(&"/sheets/%00".parse().unwrap()));
        assert!(uri_has_nul(&"/queue?office=%00".parse().unwrap()));
        assert!(!uri_has_nul(&"/queue?office=%2500".parse().unwrap()));
        assert!(body_checked("/chat/messages") && body_checked("/api/v1/sheets"));
        assert!(
            !body_checked("/telegram/webhook"),
            "Telegram would retry a refused update for ever"
        );
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let proxies: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let trusted = |ip: IpAddr| proxies.iter().any(|c| c.contains(ip));
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_client(&h, &trusted), None);
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.2"),
        );
        assert_eq!(
            forwarded_client(&h, &trusted),
            Some("203.0.113.9".parse().unwrap()),
            "a forged left-most address is not believed"
        );
        h.append("x-forwarded-for", HeaderValue::from_static("10.1.1.1"));
        assert_eq!(
            forwarded_client(&h, &trusted),
            Some("203.0.113.9".parse().unwrap())
        );
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("garbage, 10.0.0.3"),
        );
        assert_eq!(
            forwarded_client(&h, &trusted),
            Some("10.0.0.3".parse().unwrap())
        );
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("[2001:db8::1]:443"),
        );
        assert_eq!(
            forwarded_client(&h, &trusted),
            Some("2001:db8::1".parse().unwrap())
        );
    }
}
