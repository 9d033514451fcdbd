//! The web console and JSON API of Sportello, on axum.
//!
//! # Layout
//!
//! - [`AppState`]: the one state every route shares (store, intake, health).
//! - [`health`]: `GET /healthz` (database, channels, outbox) and `GET /metrics` (Prometheus).
//! - [`router`]: merges each module's `router()`.
//!
//! The operators' queue, the sheets workshop and the statistics pages are added here as
//! modules with their own `router()`.

pub mod health;

use std::sync::Arc;

use axum::Router;
use sportello_core::intake::Intake;

/// State shared by every route.
#[derive(Clone)]
pub struct AppState {
    /// Intake, with the store, policy and health it holds.
    pub intake: Arc<Intake>,
    /// Channels that should be running, for `/healthz`.
    pub channels: Arc<Vec<String>>,
}

/// The whole console.
pub fn router(state: AppState) -> Router {
    Router::new().merge(health::router()).with_state(state)
}
