//! `/api/v1`: the JSON API, for a session cookie or an `Authorization: Bearer` token.
//!
//! [`routes`] is the one table of the API: the router is built from it, and so is
//! `openapi.json`, so the description cannot drift from what is served.

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde::Deserialize;
use serde_json::{Value, json};
use sportello_core::model::{ConversationStatus, Role};
use sportello_core::store::ConversationFilter;

use crate::error::Error;
use crate::session::{ApiActor, Gate, gate};
use crate::{AppState, actions, conversations, openapi, sheets};

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
            get(list),
        ),
        route(
            Method::GET,
            "/conversations/{id}",
            "Una conversazione con messaggi, candidati del bot, consegne e note",
            op,
            None,
            "ConversationDetail",
            get(detail),
        ),
        route(
            Method::POST,
            "/conversations/{id}/claim",
            "Prendi in carico (409 se già presa)",
            op,
            None,
            "Ok",
            post(claim),
        ),
        route(
            Method::POST,
            "/conversations/{id}/release",
            "Rimetti in coda",
            op,
            None,
            "Ok",
            post(release),
        ),
        route(
            Method::POST,
            "/conversations/{id}/reply",
            "Rispondi al cittadino sul suo canale",
            op,
            Some("Text"),
            "Created",
            post(reply),
        ),
        route(
            Method::POST,
            "/conversations/{id}/resolve",
            "Segna come risolta",
            op,
            None,
            "Ok",
            post(resolve),
        ),
        route(
            Method::POST,
            "/conversations/{id}/transfer",
            "Trasferisci a un ufficio (email all'ufficio in coda)",
            op,
            Some("Transfer"),
            "Created",
            post(transfer),
        ),
        route(
            Method::POST,
            "/conversations/{id}/notes",
            "Aggiungi una nota interna",
            op,
            Some("Text"),
            "Created",
            post(note),
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

/// `?status=&channel=&office=&limit=&offset=`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    channel: Option<String>,
    office: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, Error> {
    actor.require(actions::OPERATORS)?;
    let mut statuses = Vec::new();
    for s in q
        .status
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
    {
        statuses.push(ConversationStatus::parse(s).ok_or_else(|| {
            Error::Fields {
                message: format!("stato sconosciuto: {s:?}"),
                fields: [(
                    "status".to_string(),
                    "bot, queued, assigned o resolved".to_string(),
                )]
                .into(),
            }
        })?);
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Error::Fields {
            message: "limit deve essere tra 1 e 500".into(),
            fields: [("limit".to_string(), "tra 1 e 500".to_string())].into(),
        });
    }
    let filter = ConversationFilter {
        statuses,
        channel: q.channel.filter(|c| !c.is_empty()),
        office: q.office.filter(|o| !o.is_empty()),
        min_wait_ms: None,
        limit,
        offset: q.offset.unwrap_or(0).max(0),
    };
    let rows = state.intake.store().find_conversations(&filter).await?;
    Ok(Json(
        json!({ "conversations": rows, "limit": filter.limit, "offset": filter.offset }),
    ))
}

async fn detail(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actor.require(actions::OPERATORS)?;
    let l = conversations::load(&state, id).await?;
    let candidates: Vec<Value> = l
        .messages
        .iter()
        .rev()
        .find_map(|m| m.candidates.clone())
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            let title = c["sheet_id"]
                .as_str()
                .and_then(|id| l.sheets.iter().find(|s| s.id == id))
                .map(|s| s.title.clone());
            c["title"] = json!(title);
            c
        })
        .collect();
    Ok(Json(json!({
        "conversation": l.conversation,
        "messages": l.messages,
        "candidates": candidates,
        "outbox": l.outbox,
        "notes": l.notes,
        "office_notifications": l.notifications,
        "proposed_phrasings": l.phrasings,
        "other_conversations": l.others,
        "text_limit": l.limit,
    })))
}

/// A JSON body, with a malformed one reported as 422.
pub fn body<T: serde::de::DeserializeOwned>(
    b: Result<Json<Value>, JsonRejection>,
) -> Result<T, Error> {
    let Json(v) =
        b.map_err(|e| Error::Invalid(format!("corpo JSON non valido: {}", e.body_text())))?;
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

#[derive(Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct Transfer {
    office: String,
}

fn ok() -> Json<Value> {
    Json(json!({ "ok": true }))
}

async fn claim(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actions::claim(&s, &a, id).await.map(|()| ok())
}

async fn release(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actions::release(&s, &a, id).await.map(|()| ok())
}

async fn resolve(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actions::resolve(&s, &a, id).await.map(|()| ok())
}

async fn reply(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, Error> {
    a.require(actions::OPERATORS)?;
    let t: Text = body(b)?;
    let message = actions::reply(&s, &a, id, &t.text).await?;
    Ok((StatusCode::CREATED, Json(json!({ "message_id": message }))).into_response())
}

async fn transfer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, Error> {
    a.require(actions::OPERATORS)?;
    let t: Transfer = body(b)?;
    let n = actions::transfer(&s, &a, id, &t.office).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "office_notification_id": n })),
    )
        .into_response())
}

async fn note(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, Error> {
    a.require(actions::OPERATORS)?;
    let t: Text = body(b)?;
    let n = actions::note(&s, &a, id, &t.text).await?;
    Ok((StatusCode::CREATED, Json(json!({ "note_id": n }))).into_response())
}
