//! `GET /healthz` and `GET /metrics`.

use std::fmt::Write;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use sportello_core::health::Metric;
use sportello_core::store::Backend;

use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// How long `/healthz` waits for the database, in all.
pub const PROBE: std::time::Duration = std::time::Duration::from_millis(800);

/// Database, channels, the matcher's semantic index and outbox: 200 when the database answers
/// (`status` is `degraded` when a channel is failing or deliveries failed), 503 when it does
/// not (or not within [`PROBE`]). Each channel shows its receiving and sending sides apart
/// (`receive`, `send`); the channel is degraded when either is failing. While the semantic index is being built the lexical matcher answers, so `indexing`
/// is not degraded.
async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.intake.store();
    let backend = match store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    // Both database reads share one deadline, well inside a second, whatever the pool's
    // own acquire timeout (`database.timeout_secs`): a load balancer asking while the
    // database is down hears 503 at once rather than after the pool gives up.
    let deadline = tokio::time::Instant::now() + PROBE;
    let late = || format!("no answer within {} ms", PROBE.as_millis());
    let database: Result<(), String> = match tokio::time::timeout_at(deadline, store.ping()).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(late()),
    };
    let outbox = match &database {
        Ok(()) => match tokio::time::timeout_at(deadline, store.outbox_stats()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(late()),
        },
        Err(_) => Err("database unavailable".to_string()),
    };
    let mut channels = serde_json::Map::new();
    let known = state.intake.health().channels();
    let mut degraded = false;
    for name in state.channels.iter() {
        let s = known.get(name).cloned().unwrap_or_default();
        degraded |= s.degraded() || !s.running;
        channels.insert(name.clone(), json!(s));
    }
    let (code, status) = match (&database, &outbox) {
        (Ok(()), Ok(o)) if degraded || o.failed > 0 => (StatusCode::OK, "degraded"),
        (Ok(()), Ok(_)) => (StatusCode::OK, "ok"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "down"),
    };
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "database": {
            "backend": backend,
            "ok": database.is_ok(),
            "error": database.as_ref().err(),
        },
        "channels": channels,
        "matcher": state.intake.policy().knowledge().semantic_status(),
        "outbox": match outbox {
            Ok(o) => json!(o),
            Err(e) => json!({ "error": e }),
        },
    });
    (code, axum::Json(body)).into_response()
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, rows: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in rows {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn label(key: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{{{key}=\"{escaped}\"}}")
}

/// Prometheus text: messages in and out per channel, decisions, queue length, outbox.
async fn metrics(State(state): State<AppState>) -> Response {
    let counters = state.intake.health().counters();
    let mut out = String::new();
    for m in Metric::ALL {
        let (name, help, key) = m.describe();
        let rows: Vec<(String, f64)> = counters
            .iter()
            .filter(|((metric, _), _)| *metric == m)
            .map(|((_, l), v)| (label(key, l), *v as f64))
            .collect();
        metric(&mut out, name, "counter", help, &rows);
    }
    let store = state.intake.store();
    let counts = store.conversation_counts().await.unwrap_or_default();
    let queue: Vec<(String, f64)> = ["queued", "assigned"]
        .iter()
        .map(|s| {
            let n = counts
                .iter()
                .find(|(k, _)| k == s)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            (label("status", s), n as f64)
        })
        .collect();
    metric(
        &mut out,
        "sportello_queue_length",
        "gauge",
        "Conversations waiting for or held by operators.",
        &queue,
    );
    if let Ok(o) = store.outbox_stats().await {
        metric(
            &mut out,
            "sportello_outbox_backlog",
            "gauge",
            "Outbox rows not yet delivered.",
            &[(String::new(), o.backlog as f64)],
        );
        metric(
            &mut out,
            "sportello_outbox_failed",
            "gauge",
            "Outbox rows that failed for good.",
            &[(String::new(), o.failed as f64)],
        );
    }
    // Receiving state per channel: last successful contact, errors in a row, and (email)
    // whether the server pushes (IDLE) or is polled.
    let channels = state.intake.health().channels();
    let gauge = |f: &dyn Fn(&sportello_core::health::ChannelState) -> Option<f64>| {
        channels
            .iter()
            .filter_map(|(name, s)| Some((label("channel", name), f(s)?)))
            .collect::<Vec<_>>()
    };
    for (name, help, rows) in [
        (
            "sportello_channel_last_ok_seconds",
            "Unix time of the last successful contact with the platform (email: last fetch).",
            gauge(&|s| s.last_ok_ms.map(|ms| ms as f64 / 1000.0)),
        ),
        (
            "sportello_channel_consecutive_errors",
            "Errors since the last success, receiving and sending added, by channel.",
            gauge(&|s| Some(s.consecutive_errors as f64)),
        ),
        (
            "sportello_channel_receive_consecutive_errors",
            "Receiving errors (polls, webhook, mailbox) since the last success, by channel.",
            gauge(&|s| Some(s.receive.consecutive_errors as f64)),
        ),
        (
            "sportello_channel_send_consecutive_errors",
            "Delivery errors since the last delivered message, by channel.",
            gauge(&|s| Some(s.send.consecutive_errors as f64)),
        ),
        (
            "sportello_channel_push",
            "1 when the platform pushes (email IDLE), 0 when it is polled.",
            gauge(&|s| {
                s.details
                    .get("mode")
                    .and_then(|m| m.as_str())
                    .map(|m| f64::from(u8::from(m == "idle")))
            }),
        ),
    ] {
        metric(&mut out, name, "gauge", help, &rows);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
