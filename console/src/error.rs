//! The console's one error type: API routes answer `{"error": "…"}` with its status, pages a
//! small HTML page (or, when nobody is logged in, a redirect to `/login`).

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

/// What can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid session or token.
    #[error("autenticazione richiesta")]
    Unauthenticated,
    /// The role does not allow this.
    #[error("operazione non consentita al ruolo {0}")]
    Forbidden(String),
    /// A state-changing request with a session cookie and no valid CSRF token.
    #[error("token CSRF mancante o non valido: ricarica la pagina e riprova")]
    Csrf,
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. already claimed).
    #[error("{0}")]
    Conflict(String),
    /// Invalid input.
    #[error("{0}")]
    Invalid(String),
    /// Invalid input, field by field.
    #[error("{message}")]
    Fields {
        /// Summary.
        message: String,
        /// Field name → problem.
        fields: BTreeMap<String, String>,
    },
    /// Too many attempts.
    #[error("{0}")]
    TooManyRequests(String),
    /// A request body over the route's limit.
    #[error("{0}")]
    TooLarge(String),
    /// A failure of ours; the cause is logged, not shown.
    #[error("errore interno: riprova più tardi")]
    Internal(String),
}

impl Error {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) | Self::Fields { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn log(&self) {
        if let Self::Internal(cause) = self {
            tracing::error!(error = %cause, "console request failed");
        }
    }
}

impl From<sportello_core::Error> for Error {
    fn from(e: sportello_core::Error) -> Self {
        use sportello_core::Error as Core;
        match e {
            Core::NotFound(what) => Self::NotFound(format!("non trovato: {what}")),
            Core::Conflict(why) => Self::Conflict(why),
            Core::Invalid(why) => Self::Invalid(why),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log();
        let body = match &self {
            Self::Fields { message, fields } => json!({ "error": message, "fields": fields }),
            other => json!({ "error": other.to_string() }),
        };
        (self.status(), Json(body)).into_response()
    }
}

/// An [`Error`] shown as an HTML page.
#[derive(Debug)]
pub struct PageError(pub Error);

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        if matches!(e, Error::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        (
            e.status(),
            crate::views::error_page(e.status(), &e.to_string()),
        )
            .into_response()
    }
}

/// Short for a page handler's result.
pub type PageResult<T> = Result<T, PageError>;
