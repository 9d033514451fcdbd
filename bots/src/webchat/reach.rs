//! `POST /chat/contact`: the email address (and optional phone number) a citizen leaves for
//! the reply, after reading the short privacy notice; operators see them in the conversation.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::NAME;
use super::routes::{Shared, refuse, wants_json};

#[derive(Debug, Default, Deserialize)]
struct Form {
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    csrf: Option<String>,
}

/// A plausible address: one `@`, a dotted domain, no spaces, at most 254 characters.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// A plausible phone number: digits with spaces, `+`, `-`, `.`, `/`; 6 to 15 digits.
fn valid_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    phone.len() <= 20
        && (6..=15).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-./".contains(c))
}

pub(super) async fn leave(
    State((chat, intake)): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = wants_json(&headers);
    let cfg = &chat.config;
    let form: Form = if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
    {
        serde_json::from_slice(&body).unwrap_or_default()
    } else {
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    };
    let Some(session) = super::routes::session_of(&intake, &headers) else {
        return refuse(json, StatusCode::FORBIDDEN, &cfg.expired);
    };
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .or(form.csrf.as_deref())
        .unwrap_or_default();
    if !session.csrf_matches(token) {
        return refuse(json, StatusCode::FORBIDDEN, &cfg.expired);
    }
    let email = form.email.trim();
    let phone = form.phone.trim();
    let consented = form.consent.as_deref().is_some_and(|c| !c.is_empty());
    if !consented || !valid_email(email) || !(phone.is_empty() || valid_phone(phone)) {
        return refuse(json, StatusCode::UNPROCESSABLE_ENTITY, &cfg.reach_invalid);
    }
    let thread = session.thread();
    let name = format!("Visitatore web {}", &thread[1..7]);
    let phone = (!phone.is_empty()).then_some(phone);
    if let Err(e) = intake
        .store()
        .set_reach(NAME, &thread, &name, email, phone)
        .await
    {
        tracing::error!(error = %e, "cannot store a web chat contact");
        return refuse(
            json,
            StatusCode::SERVICE_UNAVAILABLE,
            "Non è stato possibile salvare i contatti. Riprova tra poco, per favore.",
        );
    }
    if json {
        axum::Json(serde_json::json!({ "ok": true, "notice": cfg.reach_saved })).into_response()
    } else {
        Redirect::to("/chat").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_addresses_and_numbers_are_accepted_and_others_refused() {
        assert!(valid_email("anna.rossi@example.it"));
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.it",
            "anna@example",
            "a b@example.it",
            "a@b@c.it",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_phone("+39 02 1234 5678"));
        assert!(!valid_phone("12"));
        assert!(!valid_phone("chiamami"));
    }
}
