//! The HTTP side: every request goes fault → token (401) → contract (400, recorded as a
//! violation) → rate-limit window (429) → the endpoint's behaviour, and every answer of a
//! rate-limited endpoint carries `x-rate-limit-limit`, `-remaining` and `-reset`.

use super::time::now_ms;
use super::types::{Endpoint, Fault, Request};
use super::{Shared, oauth, posting, timelines};
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// An answer before headers: status, body, rate-limit window.
pub(crate) struct Answer {
    status: u16,
    body: Value,
    window: Option<(u32, u32, u64)>,
}

impl Answer {
    pub(crate) fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body,
            window: None,
        }
    }
}

/// An RFC 7807 problem as X writes it.
pub(crate) fn problem(status: u16, title: &str, detail: &str, kind: &str) -> Value {
    json!({ "title": title, "type": kind, "status": status, "detail": detail })
}

fn unauthorized() -> Answer {
    Answer::json(
        401,
        problem(401, "Unauthorized", "Unauthorized", "about:blank"),
    )
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2/users/{id}/mentions", get(timelines::mentions))
        .route("/2/dm_events", get(timelines::dm_events))
        .route("/2/tweets", post(posting::create_tweet))
        .route(
            "/2/dm_conversations/with/{participant_id}/messages",
            post(posting::create_dm),
        )
        .route("/2/oauth2/token", post(super::oauth::token))
        .fallback(|| async {
            respond(Answer::json(
                404,
                problem(404, "Not Found Error", "No such endpoint.", "about:blank"),
            ))
        })
        .with_state(shared)
}

pub(crate) fn respond(a: Answer) -> Response {
    let mut response = (
        StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        a.body.to_string(),
    )
        .into_response();
    let h = response.headers_mut();
    let problem = a.status >= 400 && a.body.get("title").is_some();
    let kind = if problem {
        "application/problem+json"
    } else {
        "application/json; charset=utf-8"
    };
    h.insert("content-type", HeaderValue::from_static(kind));
    if let Some((limit, remaining, reset)) = a.window {
        h.insert("x-rate-limit-limit", limit.into());
        h.insert("x-rate-limit-remaining", remaining.into());
        h.insert("x-rate-limit-reset", reset.into());
    }
    response
}

pub(crate) fn query_pairs(raw: &Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The common steps before an endpoint's behaviour; `Err` is the answer to give instead.
pub(crate) async fn gate(
    shared: &Shared,
    ep: Endpoint,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<(u32, u32, u64), Answer> {
    let fault = shared
        .state()
        .faults
        .get_mut(&ep)
        .and_then(|q| q.pop_front());
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let who = oauth::check(shared, &auth, method, path, query);
    let record = |status: u16| Request {
        endpoint: ep,
        query: query.to_vec(),
        status,
        at_ms: now_ms(),
        auth: who.clone().unwrap_or_default(),
    };
    let fail = |status: u16, answer: Answer| {
        shared.state().requests.push(record(status));
        shared.changed.notify_waiters();
        Err(answer)
    };
    match fault {
        Some(Fault::Hang(d)) => {
            tokio::time::sleep(d).await;
            return fail(
                503,
                Answer::json(
                    503,
                    problem(
                        503,
                        "Service Unavailable",
                        "Service Unavailable",
                        "about:blank",
                    ),
                ),
            );
        }
        Some(Fault::Status(code, detail)) => {
            let title = match code {
                400 => "Invalid Request",
                403 => "Forbidden",
                500 => "Internal Server Error",
                502 => "Bad Gateway",
                _ => "Service Unavailable",
            };
            return fail(
                code,
                Answer::json(code, problem(code, title, &detail, "about:blank")),
            );
        }
        Some(Fault::Unauthorized) => return fail(401, unauthorized()),
        Some(Fault::RateLimited(secs)) => {
            let mut s = shared.state();
            let reset = (now_ms() / 1000) as u64 + secs;
            let w = s.windows.get_mut(&ep).map(|w| {
                w.used = w.limit;
                w.reset = reset;
                (w.limit, 0, reset)
            });
            drop(s);
            let mut a = Answer::json(
                429,
                problem(429, "Too Many Requests", "Too Many Requests", "about:blank"),
            );
            a.window = w.or(Some((1, 0, reset)));
            return fail(429, a);
        }
        None => {}
    }
    if who.is_none() {
        return fail(401, unauthorized());
    }
    let allowed = shared
        .contract
        .query_params(&method.as_str().to_lowercase(), ep.path());
    let unknown: Vec<&str> = query
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !allowed.iter().any(|a| a == k))
        .collect();
    if !unknown.is_empty() {
        let message = format!(
            "{} {}: unknown query parameters {unknown:?}",
            method,
            ep.path()
        );
        shared.state().violations.push(message.clone());
        return fail(400, Answer::json(400, invalid_request(&message)));
    }
    let window = shared.state().admit(ep);
    match window {
        Some(Err(w)) => {
            let mut a = Answer::json(
                429,
                problem(429, "Too Many Requests", "Too Many Requests", "about:blank"),
            );
            a.window = Some(w);
            fail(429, a)
        }
        Some(Ok(w)) => {
            shared.state().requests.push(record(0));
            Ok(w)
        }
        None => Ok((0, 0, 0)),
    }
}

pub(crate) fn invalid_request(message: &str) -> Value {
    json!({
        "errors": [{ "message": message, "parameters": {} }],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    })
}

/// Finish: set the recorded request's status and answer.
pub(crate) fn finish(shared: &Shared, mut a: Answer, window: (u32, u32, u64)) -> Response {
    if window.0 > 0 {
        a.window = Some(window);
    }
    {
        let mut s = shared.state();
        if let Some(r) = s.requests.iter_mut().rev().find(|r| r.status == 0) {
            r.status = a.status;
        }
    }
    shared.changed.notify_waiters();
    respond(a)
}
