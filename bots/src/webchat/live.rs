//! `GET /chat/events`: the session's new messages as Server-Sent Events, from the broadcast
//! that [`WebChat::send`](super::WebChat) feeds, until the tab closes or the server stops.
//! While the stream is open the citizen is marked online in the store, for operators.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use sportello_core::intake::Intake;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::NAME;
use super::routes::Shared;

/// How long an open page counts as online without being renewed, and how often it is renewed.
pub(super) const ONLINE_FOR: Duration = Duration::from_secs(45);
const RENEW_EVERY: Duration = Duration::from_secs(15);

/// Keep the citizen marked online in the store (seen by every process) while `open` is not
/// cancelled, then mark them offline.
fn keep_online(intake: Arc<Intake>, thread: String, open: CancellationToken) {
    tokio::spawn(async move {
        let store = intake.store();
        loop {
            let until = store.now_ms() + ONLINE_FOR.as_millis() as i64;
            if let Err(e) = store.set_online_until(NAME, &thread, until).await {
                tracing::warn!(error = %e, "cannot mark a web chat citizen online");
            }
            tokio::select! {
                _ = tokio::time::sleep(RENEW_EVERY) => {}
                _ = open.cancelled() => break,
            }
        }
        let _ = store.set_online_until(NAME, &thread, store.now_ms()).await;
    });
}

/// One `message` event per delivery; the page then reads the transcript again.
pub(super) async fn events(State((chat, intake)): State<Shared>, headers: HeaderMap) -> Response {
    let Some(session) = super::routes::session_of(&intake, &headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let rx = chat.subscribe(&session.thread());
    let stop = chat.stop.clone();
    // Cancelled when the stream is dropped (the tab closed) or the server stops.
    let open = stop.child_token();
    keep_online(intake, session.thread(), open.clone());
    let guard = open.drop_guard();
    let stream = futures::stream::unfold((rx, stop, guard), |(mut rx, stop, guard)| async move {
        tokio::select! {
            r = rx.recv() => {
                let event = match r {
                    Ok(Some(live)) => Event::default()
                        .event("message")
                        .json_data(&live)
                        .unwrap_or_else(|_| Event::default().event("message").data("{}")),
                    // Missed some, or told to resync: the page reads the transcript again on
                    // any event.
                    Ok(None) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        Event::default().event("message").data("{}")
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                Some((Ok::<_, Infallible>(event), (rx, stop, guard)))
            }
            _ = stop.cancelled() => None,
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
