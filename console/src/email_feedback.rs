//! `/feedback/email/{token}/{si|no}`: the 👍/👎 links of an email answer. No login: the
//! unguessable token names the answered message; its first use is recorded through intake
//! (as a button press on the email channel), later uses change nothing. Either way a small
//! Italian thank-you page answers.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use sportello_core::intake::Receipt;
use sportello_core::model::{Action, Inbound};

use crate::AppState;
use crate::views;

/// The routes of this module (public).
pub fn router() -> Router<AppState> {
    Router::new().route("/feedback/email/{token}/{verdict}", get(record))
}

async fn record(
    State(state): State<AppState>,
    Path((token, verdict)): Path<(String, String)>,
) -> Response {
    let useful = match verdict.as_str() {
        "si" => true,
        "no" => false,
        _ => return thanks(StatusCode::NOT_FOUND, "Collegamento non valido."),
    };
    if token.len() > 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return thanks(StatusCode::NOT_FOUND, "Collegamento non valido.");
    }
    let target = match state.intake.store().email_feedback_target(&token).await {
        Ok(Some(t)) => t,
        Ok(None) => return thanks(StatusCode::NOT_FOUND, "Collegamento non valido o scaduto."),
        Err(e) => {
            tracing::error!(error = %e, "email feedback");
            return thanks(
                StatusCode::SERVICE_UNAVAILABLE,
                "Riprova tra qualche minuto.",
            );
        }
    };
    let (message, who, thread) = target;
    let mut press = Inbound::text(
        "email",
        format!("email-feedback:{token}"),
        &who,
        &thread,
        "",
    );
    press.action = Action::Feedback { message, useful };
    match state.intake.receive(press).await {
        Ok(Receipt::Feedback { recorded, .. }) => {
            tracing::info!(message, useful, recorded, "email feedback link");
            let text = if recorded {
                "Grazie! Il tuo giudizio è stato registrato e ci aiuta a migliorare le risposte."
            } else {
                "Grazie! Il tuo giudizio su questa risposta era già stato registrato."
            };
            thanks(StatusCode::OK, text)
        }
        Ok(_) => thanks(StatusCode::OK, "Grazie!"),
        Err(e) => {
            tracing::error!(error = %e, "email feedback");
            thanks(
                StatusCode::SERVICE_UNAVAILABLE,
                "Riprova tra qualche minuto.",
            )
        }
    }
}

fn thanks(status: StatusCode, text: &str) -> Response {
    let body = html! {
        main id="main" class="container" {
            h1 { "Ufficio Relazioni con il Pubblico" }
            p { (text) }
        }
    };
    (status, views::page("Grazie", None, body)).into_response()
}
