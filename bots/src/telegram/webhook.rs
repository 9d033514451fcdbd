//! Webhook mode: Telegram posts updates to the console's `/telegram/webhook` route.
//!
//! The route answers 200 only after intake has committed the update, so that Telegram
//! retries on any failure, and refuses requests without the right
//! `X-Telegram-Bot-Api-Secret-Token`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use sportello_core::intake::Intake;
use sportello_core::secret::constant_time_eq;
use teloxide::types::Update;

use super::Telegram;

/// The route's path on the console server.
pub const PATH: &str = "/telegram/webhook";

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

type Shared = (Arc<Telegram>, Arc<Intake>);

/// The webhook route, ready to merge into the console's router.
pub fn router(telegram: Arc<Telegram>, intake: Arc<Intake>) -> Router {
    Router::new()
        .route(PATH, post(receive))
        .with_state((telegram, intake))
}

async fn receive(
    State((telegram, intake)): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let expected = telegram
        .config
        .webhook_secret
        .as_ref()
        .map(|s| s.expose().as_bytes().to_vec())
        .unwrap_or_default();
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(given, &expected) {
        tracing::warn!("telegram webhook call with a wrong or missing secret refused");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "telegram webhook body is not an update");
            return StatusCode::BAD_REQUEST;
        }
    };
    match telegram.handle(&intake, &update).await {
        Ok(()) => {
            intake.health().ok(super::NAME);
            StatusCode::OK
        }
        Err(e) => {
            tracing::error!(update = update.id.0, error = %e, "cannot store a telegram update; Telegram will retry");
            intake
                .health()
                .error(super::NAME, &format!("storing update {}: {e}", update.id.0));
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_whole() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"ab", b"abc"));
        assert!(!super::constant_time_eq(b"", b"abc"));
    }
}
