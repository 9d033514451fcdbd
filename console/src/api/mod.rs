//! `/api/v1`: the JSON API, for a session cookie or an `Authorization: Bearer` token.
//!
//! [`routes`] is the one table of the API: the router is built from it, and so is
//! `openapi.json`, so the description cannot drift from what is served.

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde_json::{Value, json};
use sportello_core::model::Role;

use crate::error::Error;

pub mod conversations;
pub mod openapi;
pub mod sheets;
use crate::session::{Gate, gate};
use crate::{AppState, actions};

/// One API route: what the router serves and what `openapi.json` says about it.
pub struct ApiRoute {
    /// HTTP method.
    pub method: Method,
    /// Path under `/api/v1`, with `{param}` segments.
    pub path: &'static str,
    /// One line for the description.
    pub summary: &'static str,
    /// Roles allowed (admins always are); none for a public route.
    pub roles: &'static [Role],
    /// Name of the request body's schema, if it takes one.
    pub body: Option<&'static str>,
    /// Name of the success response's schema.
    pub response: &'static str,
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

fn route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    roles: &'static [Role],
    body: Option<&'static str>,
    response: &'static str,
    handler: MethodRouter<AppState>,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        summary,
        roles,
        body,
        response,
        handler,
    }
}

/// The API, route by route.
pub fn routes() -> Vec<ApiRoute> {
    use axum::routing::{delete, get, post, put};
    let op = actions::OPERATORS;
    let ed = sheets::EDITORS;
    vec![
        route(
            Method::GET,
            "/conversations",
            "Conversazioni per stato, canale, ufficio",
            op,
            None,
            "ConversationList",
            get(conversations::list),
        ),
        route(
            Method::GET,
            "/conversations/{id}",
            "Una conversazione con messaggi, candidati del bot, consegne e note",
            op,
            None,
            "ConversationDetail",
            get(conversations::detail),
        ),
        route(
            Method::POST,
            "/conversations/{id}/claim",
            "Prendi in carico (409 se già presa)",
            op,
            None,
            "Ok",
            post(conversations::claim),
        ),
        route(
            Method::POST,
            "/conversations/{id}/release",
            "Rimetti in coda",
            op,
            None,
            "Ok",
            post(conversations::release),
        ),
        route(
            Method::POST,
            "/conversations/{id}/reply",
            "Rispondi al cittadino sul suo canale",
            op,
            Some("Text"),
            "Created",
            post(conversations::reply),
        ),
        route(
            Method::POST,
            "/conversations/{id}/resolve",
            "Segna come risolta",
            op,
            None,
            "Ok",
            post(conversations::resolve),
        ),
        route(
            Method::POST,
            "/conversations/{id}/transfer",
            "Trasferisci alla coda di un ufficio (avvisa il cittadino; email all'ufficio se il canale email è attivo)",
            op,
            Some("Transfer"),
            "Created",
            post(conversations::transfer),
        ),
        route(
            Method::POST,
            "/conversations/{id}/notes",
            "Aggiungi una nota interna",
            op,
            Some("Text"),
            "Created",
            post(conversations::note),
        ),
        route(
            Method::GET,
            "/sheets",
            "Tutte le schede, bozze comprese",
            ed,
            None,
            "SheetList",
            get(sheets::list),
        ),
        route(
            Method::POST,
            "/sheets",
            "Crea una scheda",
            ed,
            Some("Sheet"),
            "StoredSheet",
            post(sheets::create),
        ),
        route(
            Method::GET,
            "/sheets/{id}",
            "Una scheda",
            ed,
            None,
            "StoredSheet",
            get(sheets::get_one),
        ),
        route(
            Method::PUT,
            "/sheets/{id}",
            "Aggiorna una scheda",
            ed,
            Some("Sheet"),
            "StoredSheet",
            put(sheets::update),
        ),
        route(
            Method::DELETE,
            "/sheets/{id}",
            "Elimina una scheda",
            ed,
            None,
            "Ok",
            delete(sheets::remove),
        ),
        route(
            Method::GET,
            "/stats",
            "Statistiche dell'ufficio per periodo (from, to, by=day|week, channel) e stato dei canali",
            crate::stats::READERS,
            None,
            "Stats",
            get(crate::stats::api),
        ),
        route(
            Method::GET,
            "/openapi.json",
            "Questa descrizione",
            &[],
            None,
            "OpenApi",
            get(openapi::serve),
        ),
    ]
}

/// The API's router, built from [`routes`]; unknown paths answer 404 in JSON.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for r in routes() {
        let handler = if r.roles.is_empty() {
            r.handler
        } else {
            r.handler.route_layer(axum::middleware::from_fn_with_state(
                Gate::api(r.roles),
                gate,
            ))
        };
        router = router.route(r.path, handler);
    }
    router.fallback(no_route)
}

async fn no_route() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "percorso inesistente" })),
    )
        .into_response()
}

/// A JSON body, with a malformed one reported as 422 and one over the limit as 413.
pub fn body<T: serde::de::DeserializeOwned>(
    b: Result<Json<Value>, JsonRejection>,
) -> Result<T, Error> {
    let Json(v) = b.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge(format!(
                "il corpo JSON supera il limite di {} MB",
                crate::edge::BODY_LIMIT >> 20
            ))
        } else {
            Error::Invalid(format!("corpo JSON non valido: {}", e.body_text()))
        }
    })?;
    serde_json::from_value(v).map_err(|e| {
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.starts_with("missing field") || text.starts_with("unknown field"))
            .map(str::to_string);
        match field {
            Some(f) => Error::Fields {
                message: text.clone(),
                fields: [(f, text)].into(),
            },
            None => Error::Invalid(text),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once_and_described_in_openapi() {
        let routes = routes();
        let mut seen = std::collections::HashSet::new();
        let doc = openapi::document();
        for r in &routes {
            assert!(
                seen.insert((r.method.clone(), r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing from openapi.json",
                r.method,
                r.path
            );
        }
        let described: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum();
        assert_eq!(described, routes.len());
    }
}
