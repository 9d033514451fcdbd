//! `/stats`: how the office serves, for a chosen period, by day or week and by channel —
//! SVG charts drawn on the server (readable without JavaScript), the same numbers as tables
//! and as CSV (`/stats.csv`), and each channel's health. `GET /api/v1/stats` answers the
//! same figures as JSON.

pub mod csv;
pub mod svg;
pub mod view;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::Markup;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sportello_core::calendar::{date_label, parse_date};
use sportello_core::model::Role;
use sportello_core::stats::{Bucket, Report, StatsQuery, compute};

use crate::AppState;
use crate::error::{Error, PageResult};
use crate::session::{ApiActor, Gate, PageActor, gate};

/// Roles that see the statistics (admins always do): the office's editors and managers.
pub const READERS: &[Role] = &[Role::Editor];

/// The longest period asked at once, in days.
pub const MAX_DAYS: i64 = 400;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stats", get(page))
        .route("/stats.csv", get(csv_file))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(READERS),
            gate,
        ))
}

/// The period and cut, as query parameters; all optional.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct StatsParams {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (default: today).
    #[serde(default)]
    pub to: String,
    /// `day` (default) or `week`.
    #[serde(default)]
    pub by: String,
    /// A channel, or empty for all.
    #[serde(default)]
    pub channel: String,
}

impl StatsParams {
    /// The query these parameters ask for, today being `today` (a local day number).
    pub fn query(&self, today: i64) -> Result<StatsQuery, Error> {
        let day = |key: &str, v: &str, default: i64| -> Result<i64, Error> {
            if v.is_empty() {
                return Ok(default);
            }
            parse_date(v).ok_or_else(|| Error::Fields {
                message: "data non valida".into(),
                fields: [(key.to_string(), "usa il formato AAAA-MM-GG".to_string())].into(),
            })
        };
        let to = day("to", &self.to, today)?;
        let from = day("from", &self.from, to - 29)?;
        if from > to || to - from >= MAX_DAYS {
            return Err(Error::Fields {
                message: "periodo non valido".into(),
                fields: [(
                    "from".to_string(),
                    format!("l'inizio precede la fine, al massimo {MAX_DAYS} giorni"),
                )]
                .into(),
            });
        }
        let bucket = match self.by.as_str() {
            "" | "day" => Bucket::Day,
            "week" => Bucket::Week,
            _ => {
                return Err(Error::Fields {
                    message: "raggruppamento non valido".into(),
                    fields: [("by".to_string(), "day oppure week".to_string())].into(),
                });
            }
        };
        Ok(StatsQuery {
            from_day: from,
            to_day: to,
            bucket,
            channel: (!self.channel.is_empty()).then(|| self.channel.clone()),
        })
    }

    /// The query string that reproduces these parameters, for the CSV and JSON links.
    pub fn query_string(&self, q: &StatsQuery) -> String {
        let by = match q.bucket {
            Bucket::Day => "day",
            Bucket::Week => "week",
        };
        let mut s = format!(
            "from={}&to={}&by={by}",
            date_label(q.from_day),
            date_label(q.to_day)
        );
        if let Some(c) = &q.channel {
            s.push_str("&channel=");
            s.push_str(&crate::queue::encode(c));
        }
        s
    }
}

async fn report(state: &AppState, p: &StatsParams) -> Result<(StatsQuery, Report), Error> {
    let store = state.intake.store();
    let q = p.query(state.calendar.local_day(store.now_ms()))?;
    let report = compute(store, &state.calendar, &q).await?;
    Ok((q, report))
}

/// The health of each channel that should be running, with its backlog.
pub async fn health(state: &AppState) -> Result<Vec<view::ChannelHealth>, Error> {
    let known = state.intake.health().channels();
    let backlog = state.intake.store().stats_backlog().await?;
    Ok(state
        .channels
        .iter()
        .map(|name| view::ChannelHealth {
            channel: name.clone(),
            state: known.get(name).cloned().unwrap_or_default(),
            backlog: backlog
                .iter()
                .find(|(c, _)| c == name)
                .map_or(0, |(_, n)| *n),
        })
        .collect())
}

async fn page(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(p): Query<StatsParams>,
) -> PageResult<Markup> {
    actor.require(READERS)?;
    let (q, report) = report(&state, &p).await?;
    let health = health(&state).await?;
    let link = p.query_string(&q);
    // Sheets are named by their title (a sheet deleted since keeps its id).
    let matcher = state.intake.policy().matcher();
    let title = |id: &str| {
        matcher
            .sheet(id)
            .map(|s| s.title.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let titles = view::SheetTitles::new(
        report
            .top_sheets
            .iter()
            .chain(&report.rejected_sheets)
            .map(|s| (s.sheet_id.clone(), title(&s.sheet_id)))
            .collect(),
    );
    Ok(view::page(
        &actor,
        &report,
        &health,
        &state.channels,
        &link,
        &titles,
    ))
}

async fn csv_file(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(p): Query<StatsParams>,
) -> PageResult<Response> {
    actor.require(READERS)?;
    let (_, report) = report(&state, &p).await?;
    let name = format!("statistiche-{}-{}.csv", report.from, report.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv::write(&report),
    )
        .into_response())
}

/// `GET /api/v1/stats`: the report and the channels' health.
pub async fn api(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Query(p): Query<StatsParams>,
) -> Result<Json<Value>, Error> {
    actor.require(READERS)?;
    let (_, report) = report(&state, &p).await?;
    let health = health(&state).await?;
    let mut body = json!(report);
    body["health"] = json!(health);
    Ok(Json(body))
}
