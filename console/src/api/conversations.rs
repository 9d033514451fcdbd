//! `/api/v1/conversations`: list, read, and the operator's actions (through
//! [`crate::actions`], the same code as the pages').

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sportello_core::model::ConversationStatus;
use sportello_core::store::ConversationFilter;

use super::body;
use crate::error::Error;
use crate::session::ApiActor;
use crate::{AppState, actions};

/// `?status=&channel=&office=&limit=&offset=`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    channel: Option<String>,
    office: Option<String>,
    q: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /conversations`: filtered by status (comma-separated), channel, office, and a search
/// (`q`: reference number, citizen, or words of the conversation).
pub async fn list(
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
        search: q.q.filter(|s| !s.trim().is_empty()),
        ..ConversationFilter::default()
    };
    let rows = state.intake.store().find_conversations(&filter).await?;
    Ok(Json(
        json!({ "conversations": rows, "limit": filter.limit, "offset": filter.offset }),
    ))
}

/// `GET /conversations/{id}`: with messages, the bot's candidates, deliveries, notes.
pub async fn detail(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actor.require(actions::OPERATORS)?;
    let l = crate::conversations::load(&state, id).await?;
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

/// `POST …/claim`.
pub async fn claim(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actions::claim(&s, &a, id).await.map(|()| ok())
}

/// `POST …/release`.
pub async fn release(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actions::release(&s, &a, id).await.map(|()| ok())
}

/// `POST …/resolve`.
pub async fn resolve(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Error> {
    actions::resolve(&s, &a, id).await.map(|()| ok())
}

/// `POST …/reply {"text"}`.
pub async fn reply(
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

/// `POST …/transfer {"office"}`.
pub async fn transfer(
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
        Json(json!({
            "office_notification_id": n.office_email,
            "citizen_told": n.citizen_told,
        })),
    )
        .into_response())
}

/// `POST …/notes {"text"}`.
pub async fn note(
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
