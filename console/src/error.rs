//! The console's one error type: API routes answer `{"error": "…"}` with its status, pages a
//! small HTML page (or, when nobody is logged in, a redirect to `/login`).

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use sportello_core::model::ConversationStatus;
use sportello_core::{Refusal, RefusalKind};

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
    /// A request no route should read (a NUL character, an unreadable body): 400.
    #[error("{0}")]
    BadRequest(String),
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
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
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
            Core::Refused(r) => {
                let text = italian(&r);
                match r.kind() {
                    RefusalKind::NotFound => Self::NotFound(text),
                    RefusalKind::Conflict => Self::Conflict(text),
                    RefusalKind::Invalid => Self::Invalid(text),
                }
            }
            Core::NotFound(what) => Self::NotFound(format!("non trovato: {what}")),
            Core::Conflict(why) => Self::Conflict(why),
            Core::Invalid(why) => Self::Invalid(why),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// A refusal as operators, editors and admins read it.
pub fn italian(r: &Refusal) -> String {
    let status = |s: ConversationStatus| match s {
        ConversationStatus::Bot => "con l'assistente",
        ConversationStatus::Queued => "in coda",
        ConversationStatus::Assigned => "già presa in carico",
        ConversationStatus::Resolved => "già chiusa",
    };
    match r {
        Refusal::NoConversation(id) => format!("la conversazione {id} non esiste"),
        Refusal::NoOpenConversation(id) => {
            format!("la conversazione {id} non esiste o è già chiusa")
        }
        Refusal::NotWaiting {
            status: ConversationStatus::Assigned,
            holder: Some(who),
            ..
        } => format!("Conversazione già presa da {who}."),
        Refusal::NotWaiting {
            status: ConversationStatus::Resolved,
            ..
        } => "La conversazione è già risolta.".into(),
        Refusal::NotWaiting {
            conversation,
            status: s,
            ..
        } => format!("La conversazione {conversation} è {}.", status(*s)),
        Refusal::NotAssigned(id) => {
            format!("la conversazione {id} non è presa in carico da nessuno")
        }
        Refusal::NotAssignedTo {
            conversation,
            actor,
        } => format!("la conversazione {conversation} non è presa in carico da {actor}"),
        Refusal::AlreadyResolved(id) => format!("la conversazione {id} è già chiusa"),
        Refusal::EmptyReply => "la risposta è vuota".into(),
        Refusal::EmptyNote => "la nota è vuota".into(),
        Refusal::EmptyPhrasing => "la domanda da insegnare è vuota".into(),
        Refusal::PhrasingDecided(id) => {
            format!("la domanda proposta {id} è già stata accettata o scartata")
        }
        Refusal::UnknownSheet(id) => format!("la scheda {id:?} non esiste"),
        Refusal::UnknownOffice(id) => format!("l'ufficio {id:?} non esiste"),
        Refusal::UsernameLength => "il nome utente deve avere da 1 a 64 caratteri".into(),
        Refusal::TokenNameLength => "il nome del token deve avere da 1 a 64 caratteri".into(),
        Refusal::PasswordTooShort => "la password deve avere almeno 8 caratteri".into(),
        Refusal::UserExists(name) => format!("l'utente {name:?} esiste già"),
        Refusal::NoUser(id) => format!("l'utente {id} non esiste"),
        Refusal::NoActiveToken(id) => format!("il token {id} non esiste o è già revocato"),
        Refusal::NoUserNamed(name) => format!("l'utente {name:?} non esiste"),
        Refusal::WrongPassword => "la password attuale non è corretta".into(),
        Refusal::WrongCode => "il codice non è corretto o è già stato usato".into(),
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
