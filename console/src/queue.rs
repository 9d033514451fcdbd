//! `/queue`: conversations waiting for a person, oldest first, with filters, claim buttons
//! and live updates (`/queue/events`, Server-Sent Events; `/queue/table`, the table alone,
//! which the page reloads through htmx when an event arrives).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::Markup;
use serde::Deserialize;
use sportello_core::model::ConversationStatus;
use sportello_core::store::ConversationFilter;

use crate::AppState;
use crate::actions;
use crate::error::{Error, PageResult};
use crate::session::{Gate, PageActor, gate};
use crate::views;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/queue", get(page))
        .route("/queue/table", get(table))
        .route("/queue/events", get(events))
        .route("/queue/{id}/claim", post(claim))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(actions::OPERATORS),
            gate,
        ))
}

/// The queue's filters, as query parameters.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct QueueQuery {
    /// `queued`, `assigned`, or empty for both.
    #[serde(default)]
    pub status: String,
    /// A channel name, or empty for all.
    #[serde(default)]
    pub channel: String,
    /// An office id, or empty for all.
    #[serde(default)]
    pub office: String,
    /// Only those waiting at least this many minutes (empty for any).
    #[serde(default)]
    pub age: String,
    /// Which page of [`PAGE`] rows (0 for the first).
    #[serde(default)]
    pub page: String,
}

/// Rows on one page of the queue.
pub const PAGE: i64 = 100;

impl QueueQuery {
    /// The page number asked for.
    pub fn page_number(&self) -> i64 {
        self.page.parse::<i64>().unwrap_or(0).max(0)
    }

    /// The same filters on another page.
    pub fn on_page(&self, page: i64) -> Self {
        Self {
            page: page.to_string(),
            ..self.clone()
        }
    }
}

impl QueueQuery {
    /// The store filter.
    pub fn filter(&self) -> ConversationFilter {
        let statuses = match self.status.as_str() {
            "queued" => vec![ConversationStatus::Queued],
            "assigned" => vec![ConversationStatus::Assigned],
            _ => vec![ConversationStatus::Queued, ConversationStatus::Assigned],
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        ConversationFilter {
            statuses,
            channel: some(&self.channel),
            office: some(&self.office),
            min_wait_ms: self
                .age
                .parse::<i64>()
                .ok()
                .filter(|a| *a > 0)
                .map(|a| a * 60_000),
            limit: PAGE,
            offset: self.page_number() * PAGE,
        }
    }

    /// The query string that reproduces these filters.
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        let fields = [
            ("status", &self.status),
            ("channel", &self.channel),
            ("office", &self.office),
            ("age", &self.age),
            ("page", &self.page),
        ];
        for (k, v) in fields {
            if !v.is_empty() {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        parts.join("&")
    }
}

/// Percent-encode a query value.
pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn rows(state: &AppState, q: &QueueQuery) -> Result<views::queue::Rows, Error> {
    let store = state.intake.store();
    let conversations = store.find_conversations(&q.filter()).await?;
    let ids: Vec<i64> = conversations.iter().map(|c| c.id).collect();
    let texts = store.last_citizen_texts(&ids).await?;
    Ok(views::queue::Rows {
        conversations,
        texts,
        now: store.now_ms(),
        target_ms: state.console.queue_target_minutes as i64 * 60_000,
        offices: store.offices().await?,
    })
}

async fn page(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<QueueQuery>,
) -> PageResult<Markup> {
    actor.require(actions::OPERATORS)?;
    let rows = rows(&state, &q).await?;
    Ok(views::queue::page(&actor, &q, &rows))
}

async fn table(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<QueueQuery>,
) -> PageResult<Markup> {
    actor.require(actions::OPERATORS)?;
    Ok(views::queue::table(&actor, &rows(&state, &q).await?, &q))
}

async fn events(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
) -> PageResult<Response> {
    actor.require(actions::OPERATORS)?;
    Ok(state.events.stream().into_response())
}

/// Claim from the queue: on success open the conversation; when someone was faster, show
/// the queue again (with the filters the form carried) saying who has it.
async fn claim(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(q): Form<QueueQuery>,
) -> PageResult<Response> {
    match actions::claim(&state, &actor, id).await {
        Ok(()) => Ok(Redirect::to(&format!("/conversations/{id}")).into_response()),
        Err(Error::Conflict(why)) => {
            let rows = rows(&state, &q).await?;
            let page = views::queue::page_with_notice(&actor, &q, &rows, Some(&why));
            Ok((axum::http::StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
