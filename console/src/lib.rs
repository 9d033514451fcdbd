//! The web console and JSON API of Sportello, on axum.
//!
//! # Layout
//!
//! - [`AppState`]: the one state every route shares (intake with its store and policy, the
//!   console's settings, live events).
//! - [`session`]: who is asking — session cookie or `Authorization: Bearer` token — and the
//!   CSRF check on every state-changing request that comes with a session cookie.
//! - [`auth`]: `/login` and `/logout`, with login attempts throttled in the database.
//! - [`queue`] and [`conversations`]: the operators' pages (queue views, triage and search;
//!   the conversation with its pinned reply box); [`users`] and [`offices`] (offices and
//!   their members): the admin's pages; [`account`]: everyone's own profile (password, name
//!   shown to citizens, two-factor login).
//! - [`actions`]: claim, release, reply, resolve, transfer, notes, "teach the bot", retry —
//!   one implementation behind both the pages and the API.
//! - [`api`]: `/api/v1`, built from one route table that also yields `openapi.json`;
//!   its modules hold the conversation and sheet routes and the OpenAPI description.
//! - [`sheets`]: `/sheets`, the editors' workshop: list and filters, the edit form with
//!   per-field checks, previews, drafts, "try a question", publishing, revisions.
//! - [`stats`]: `/stats`, the office's figures as SVG charts, tables and CSV, and channel
//!   health; the same figures at `GET /api/v1/stats`.
//! - [`events`]: live queue updates over Server-Sent Events.
//! - [`views`]: the HTML (maud, which escapes every value it is given); `views::labels` holds
//!   the Italian names of the store's codes, so no internal code reaches a page.
//! - [`health`]: `GET /healthz` and `GET /metrics`.
//! - [`edge`]: in front of everything (with the channels' routes): the client's address
//!   behind trusted proxies, body limits (413) and the refusal of NUL characters (400).
//!
//! Errors are one [`Error`] enum; pages render it as a small HTML page, the API as
//! `{"error": "…"}`.

pub mod account;
pub mod actions;
pub mod api;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod conversations;
pub mod edge;
pub mod email_feedback;
pub mod error;
pub mod events;
pub mod health;
pub mod offices;
pub mod queue;
pub mod session;
pub mod sheets;
pub mod stats;
pub mod users;
pub mod views;

use std::sync::Arc;

use axum::Router;
use sportello_core::calendar::Calendar;
use sportello_core::config::{ConsoleConfig, SiteConfig};
use sportello_core::intake::Intake;
use tokio_util::sync::CancellationToken;

pub use error::Error;

/// State shared by every route.
#[derive(Clone)]
pub struct AppState {
    /// Intake, with the store, policy and health it holds.
    pub intake: Arc<Intake>,
    /// Channels that should be running, for `/healthz`.
    pub channels: Arc<Vec<String>>,
    /// `[console]` settings.
    pub console: Arc<ConsoleConfig>,
    /// Live updates of the queue.
    pub events: events::Events,
    /// The office calendar the statistics count working hours in.
    pub calendar: Arc<Calendar>,
    /// `[site]`: the body named in every page's header, and the footer's links.
    pub site: Arc<SiteConfig>,
}

impl AppState {
    /// The console's state; `shutdown` ends live streams so the server can stop.
    pub fn new(
        intake: Arc<Intake>,
        channels: Vec<String>,
        console: ConsoleConfig,
        shutdown: CancellationToken,
    ) -> Self {
        let events = events::Events::new(
            intake.store().clone(),
            std::time::Duration::from_millis(console.live_poll_ms.max(50)),
            shutdown,
        );
        Self {
            intake,
            channels: Arc::new(channels),
            console: Arc::new(console),
            events,
            calendar: Arc::new(default_calendar()),
            site: Arc::new(SiteConfig::default()),
        }
    }

    /// The same state with the office's calendar (`[office]`).
    pub fn with_calendar(mut self, calendar: Calendar) -> Self {
        self.calendar = Arc::new(calendar);
        self
    }

    /// The same state with the pages' `[site]` settings.
    pub fn with_site(mut self, site: SiteConfig) -> Self {
        self.site = Arc::new(site);
        self
    }
}

fn default_calendar() -> Calendar {
    sportello_core::calendar::OfficeConfig::default()
        .calendar()
        .expect("the default office calendar is valid")
}

/// The whole console.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(assets::router())
        .merge(auth::router())
        .merge(queue::router())
        .merge(conversations::router())
        .merge(attachments::router())
        .merge(email_feedback::router())
        .merge(users::router())
        .merge(account::router())
        .merge(offices::router())
        .merge(stats::router())
        .merge(sheets::router())
        .nest("/api/v1", api::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            views::layout::with_context,
        ))
        .layer(axum::middleware::from_fn(session::security_headers))
        .with_state(state)
}
