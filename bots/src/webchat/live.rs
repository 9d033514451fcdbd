//! `GET /chat/events`: the session's new messages as Server-Sent Events, from the broadcast
//! that [`WebChat::send`](super::WebChat) feeds, until the tab closes or the server stops.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;

use super::routes::Shared;
use super::session::Session;

/// One `message` event per delivery; the page then reads the transcript again.
pub(super) async fn events(State((chat, _)): State<Shared>, headers: HeaderMap) -> Response {
    let Some(session) = Session::from_headers(&headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let rx = chat.subscribe(&session.thread());
    let stop = chat.stop.clone();
    let stream = futures::stream::unfold((rx, stop), |(mut rx, stop)| async move {
        tokio::select! {
            r = rx.recv() => {
                let event = match r {
                    Ok(live) => Event::default()
                        .event("message")
                        .json_data(&live)
                        .unwrap_or_else(|_| Event::default().event("message").data("{}")),
                    // Missed some: the page reads the transcript again on any event.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        Event::default().event("message").data("{}")
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                Some((Ok::<_, Infallible>(event), (rx, stop)))
            }
            _ = stop.cancelled() => None,
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
