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
        .route("/queue/next", get(next))
        .route("/queue/{id}/claim", post(claim))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(actions::OPERATORS),
            gate,
        ))
}

/// The queue's filters, as query parameters.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct QueueQuery {
    /// `mine` (held by me), `unassigned` (waiting, in my offices), or empty for all.
    #[serde(default)]
    pub view: String,
    /// A reference number, a citizen's name or address, or words of the conversation.
    #[serde(default)]
    pub q: String,
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

/// Who is looking at the queue: their id and offices pick what "mine" and "unassigned" hold.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The user's id (none for an API token without a user).
    pub user_id: Option<i64>,
    /// The offices they belong to (none: every office).
    pub offices: Vec<String>,
}

impl Viewer {
    /// The viewer an actor is.
    pub async fn of(state: &AppState, actor: &crate::session::Actor) -> Result<Self, Error> {
        let store = state.intake.store();
        let user_id = match actor.user_id {
            Some(id) => Some(id),
            None => store.active_user_id(&actor.name).await?,
        };
        let offices = match user_id {
            Some(id) => store.user_offices(id).await?,
            None => Vec::new(),
        };
        Ok(Self { user_id, offices })
    }
}

impl QueueQuery {
    /// The store filter, for `viewer`.
    pub fn filter(&self, viewer: &Viewer) -> ConversationFilter {
        let mut statuses = match self.status.as_str() {
            "queued" => vec![ConversationStatus::Queued],
            "assigned" => vec![ConversationStatus::Assigned],
            _ => vec![ConversationStatus::Queued, ConversationStatus::Assigned],
        };
        let (mut assignee_id, mut office_scope) = (None, Vec::new());
        match self.view.as_str() {
            "mine" => {
                statuses = vec![ConversationStatus::Assigned];
                // No user, no conversations of theirs: an id no row has.
                assignee_id = Some(viewer.user_id.unwrap_or(-1));
            }
            "unassigned" => {
                statuses = vec![ConversationStatus::Queued];
                office_scope = viewer.offices.clone();
            }
            _ => {}
        }
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
            assignee_id,
            office_scope,
            search: some(self.q.trim()),
            limit: PAGE,
            offset: self.page_number() * PAGE,
        }
    }

    /// The query string that reproduces these filters.
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        let fields = [
            ("view", &self.view),
            ("q", &self.q),
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

async fn rows(
    state: &AppState,
    actor: &crate::session::Actor,
    q: &QueueQuery,
) -> Result<views::queue::Rows, Error> {
    let store = state.intake.store();
    let viewer = Viewer::of(state, actor).await?;
    let conversations = store.find_conversations(&q.filter(&viewer)).await?;
    let ids: Vec<i64> = conversations.iter().map(|c| c.id).collect();
    let policy = state.intake.policy();
    let matcher = policy.matcher();
    let triage = store.triage(&ids).await?;
    let sheet_offices = triage
        .iter()
        .filter_map(|(id, t)| Some((*id, policy.sheet_office(t.sheet.as_deref()?)?)))
        .collect();
    let labels = triage
        .iter()
        .map(|(id, t)| {
            let sheet = t.sheet.as_deref().and_then(|s| matcher.sheet(s));
            (*id, views::labels::handoff(t.reason, sheet))
        })
        .collect();
    Ok(views::queue::Rows {
        conversations,
        triage,
        labels,
        sheet_offices,
        counts: store
            .queue_counts(viewer.user_id.unwrap_or(-1), &viewer.offices)
            .await?,
        now: store.now_ms(),
        target_ms: state.console.queue_target_minutes as i64 * 60_000,
        offices: store.offices().await?,
        calendar: state.calendar.clone(),
    })
}

async fn page(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<QueueQuery>,
) -> PageResult<Markup> {
    actor.require(actions::OPERATORS)?;
    let rows = rows(&state, &actor, &q).await?;
    Ok(views::queue::page(&actor, &q, &rows))
}

async fn table(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<QueueQuery>,
) -> PageResult<Markup> {
    actor.require(actions::OPERATORS)?;
    Ok(views::queue::table(
        &actor,
        &rows(&state, &actor, &q).await?,
        &q,
    ))
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
            let rows = rows(&state, &actor, &q).await?;
            let page = views::queue::page_with_notice(&actor, &q, &rows, Some(&why));
            Ok((axum::http::StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// "Next in queue": open the conversation waiting longest in the operator's offices (the
/// queue itself, saying so, when none waits).
async fn next(State(state): State<AppState>, PageActor(actor): PageActor) -> PageResult<Response> {
    actor.require(actions::OPERATORS)?;
    let q = QueueQuery {
        view: "unassigned".into(),
        ..QueueQuery::default()
    };
    let viewer = Viewer::of(&state, &actor).await?;
    let mut filter = q.filter(&viewer);
    filter.limit = 1;
    let first = state.intake.store().find_conversations(&filter).await?;
    Ok(match first.first() {
        Some(c) => Redirect::to(&format!("/conversations/{}", c.id)).into_response(),
        None => {
            let rows = rows(&state, &actor, &q).await?;
            views::queue::page_with_notice(
                &actor,
                &q,
                &rows,
                Some("Nessuna conversazione in attesa."),
            )
            .into_response()
        }
    })
}
