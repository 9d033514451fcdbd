//! The HTTP side: every request goes fault → token (401) → contract (400, recorded as a
//! violation) → rate-limit window (429) → the endpoint's behaviour, and every answer of a
//! rate-limited endpoint carries `x-rate-limit-limit`, `-remaining` and `-reset`.

use super::state::{Dm, State};
use super::time::{now_ms, parse_iso};
use super::types::{Endpoint, Fault, Posted, Reference, Request, SentDm};
use super::weight::weighted_len;
use super::{Shared, oauth};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
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
    pub(crate) fn problem_only(status: u16, body: Value) -> Answer {
        Answer::json(status, body)
    }

    fn json(status: u16, body: Value) -> Answer {
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
        .route("/2/users/{id}/mentions", get(mentions))
        .route("/2/dm_events", get(dm_events))
        .route("/2/tweets", post(create_tweet))
        .route(
            "/2/dm_conversations/with/{participant_id}/messages",
            post(create_dm),
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

fn query_pairs(raw: &Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The common steps before an endpoint's behaviour; `Err` is the answer to give instead.
async fn gate(
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

fn invalid_request(message: &str) -> Value {
    json!({
        "errors": [{ "message": message, "parameters": {} }],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    })
}

/// Finish: set the recorded request's status and answer.
fn finish(shared: &Shared, mut a: Answer, window: (u32, u32, u64)) -> Response {
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

fn list<'a>(query: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .collect()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Page `items` (newest first): (page, next_token).
fn page<T: Clone>(
    items: &[T],
    query: &[(String, String)],
    default: usize,
    min: usize,
) -> Result<(Vec<T>, Option<String>), Value> {
    let max = match param(query, "max_results") {
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (min..=100).contains(&n) => n,
            _ => {
                return Err(invalid_request(&format!(
                    "The `max_results` query parameter value [{m}] is not between {min} and 100"
                )));
            }
        },
        None => default,
    };
    let offset = match param(query, "pagination_token") {
        Some(t) => match t
            .strip_prefix("7140dibdnow9c7btw")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => {
                return Err(invalid_request(
                    "The `pagination_token` query parameter value is not valid",
                ));
            }
        },
        None => 0,
    };
    let end = (offset + max).min(items.len());
    let next = (end < items.len()).then(|| format!("7140dibdnow9c7btw{end:08}"));
    Ok((items.get(offset..end).unwrap_or_default().to_vec(), next))
}

async fn mentions(
    AxState(shared): AxState<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query_pairs(&raw);
    let path = format!("/2/users/{id}/mentions");
    let window = match gate(
        &shared,
        Endpoint::Mentions,
        &Method::GET,
        &path,
        &query,
        &headers,
    )
    .await
    {
        Ok(w) => w,
        Err(a) => return respond(a),
    };
    let s = shared.state();
    if id != s.account.id {
        drop(s);
        let detail = format!("Could not find user with id: [{id}].");
        return finish(
            &shared,
            Answer::json(
                200,
                json!({ "errors": [not_found(&id, &detail, "user", "id")] }),
            ),
            window,
        );
    }
    let since = param(&query, "since_id")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let until = param(&query, "until_id")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let start = param(&query, "start_time")
        .and_then(parse_iso)
        .unwrap_or(i64::MIN);
    let all: Vec<u64> = s
        .tweets
        .range(since.saturating_add(1)..until)
        .rev()
        .map(|(_, t)| t)
        .filter(|t| since > 0 || t.created_ms >= start)
        .filter(|t| s.mentions_account(t))
        .map(|t| t.id)
        .collect();
    let (ids, next) = match page(&all, &query, 10, 5) {
        Ok(p) => p,
        Err(e) => {
            drop(s);
            return finish(&shared, Answer::json(400, e), window);
        }
    };
    let fields = list(&query, "tweet.fields");
    let user_fields = list(&query, "user.fields");
    let data: Vec<Value> = ids
        .iter()
        .map(|i| s.tweet_json(&s.tweets[i], &fields))
        .collect();
    let mut body = json!({ "meta": { "result_count": data.len() } });
    if let (Some(first), Some(last)) = (ids.first(), ids.last()) {
        body["meta"]["newest_id"] = first.to_string().into();
        body["meta"]["oldest_id"] = last.to_string().into();
    }
    if let Some(next) = next {
        body["meta"]["next_token"] = next.into();
    }
    if list(&query, "expansions").contains(&"author_id") {
        let mut users = Vec::new();
        let mut errors = Vec::new();
        for i in &ids {
            let author = &s.tweets[i].author_id;
            if s.missing_users.contains(author) {
                let detail = format!("Could not find user with author_id: [{author}].");
                let e = not_found(author, &detail, "user", "author_id");
                if !errors.contains(&e) {
                    errors.push(e);
                }
            } else if let Some(u) = s.users.get(author) {
                let u = s.user_json(u, &user_fields);
                if !users.contains(&u) {
                    users.push(u);
                }
            }
        }
        if !users.is_empty() {
            body["includes"] = json!({ "users": users });
        }
        if !errors.is_empty() {
            body["errors"] = errors.into();
        }
    }
    if !data.is_empty() {
        body["data"] = data.into();
    }
    drop(s);
    finish(&shared, Answer::json(200, body), window)
}

fn not_found(value: &str, detail: &str, resource_type: &str, parameter: &str) -> Value {
    json!({
        "value": value, "detail": detail, "title": "Not Found Error", "resource_type": resource_type,
        "parameter": parameter, "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    })
}

async fn dm_events(
    AxState(shared): AxState<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query_pairs(&raw);
    let window = match gate(
        &shared,
        Endpoint::DmEvents,
        &Method::GET,
        "/2/dm_events",
        &query,
        &headers,
    )
    .await
    {
        Ok(w) => w,
        Err(a) => return respond(a),
    };
    let s = shared.state();
    let all: Vec<Dm> = s.dms.values().rev().cloned().collect();
    let (events, next) = match page(&all, &query, 100, 1) {
        Ok(p) => p,
        Err(e) => {
            drop(s);
            return finish(&shared, Answer::json(400, e), window);
        }
    };
    let fields = list(&query, "dm_event.fields");
    let user_fields = list(&query, "user.fields");
    let data: Vec<Value> = events.iter().map(|e| dm_json(&s, e, &fields)).collect();
    let mut body = json!({ "meta": { "result_count": data.len() } });
    if let Some(next) = next {
        body["meta"]["next_token"] = next.into();
    }
    if list(&query, "expansions").contains(&"sender_id") {
        let mut users: Vec<Value> = Vec::new();
        for e in &events {
            if let Some(u) = s.users.get(&e.sender_id) {
                let u = s.user_json(u, &user_fields);
                if !users.contains(&u) {
                    users.push(u);
                }
            }
        }
        if !users.is_empty() {
            body["includes"] = json!({ "users": users });
        }
    }
    if !data.is_empty() {
        body["data"] = data.into();
    }
    drop(s);
    finish(&shared, Answer::json(200, body), window)
}

fn dm_json(s: &State, e: &Dm, fields: &[&str]) -> Value {
    let mut v = json!({ "id": e.id.to_string(), "event_type": "MessageCreate", "text": e.text });
    if fields.contains(&"sender_id") {
        v["sender_id"] = e.sender_id.clone().into();
    }
    if fields.contains(&"created_at") {
        v["created_at"] = super::time::iso(e.created_ms).into();
    }
    if fields.contains(&"dm_conversation_id") {
        let other = if e.sender_id == s.account.id {
            &e.recipient_id
        } else {
            &e.sender_id
        };
        v["dm_conversation_id"] = conversation_id(&s.account.id, other).into();
    }
    v
}

fn conversation_id(a: &str, b: &str) -> String {
    let (x, y) = if a.parse::<u64>().unwrap_or(0) < b.parse::<u64>().unwrap_or(0) {
        (a, b)
    } else {
        (b, a)
    };
    format!("{x}-{y}")
}

fn body_json(shared: &Shared, ep: Endpoint, body: &Bytes) -> Result<Value, Answer> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Err(Answer::json(
                400,
                invalid_request(&format!("malformed JSON: {e}")),
            ));
        }
    };
    if let Some(schema) = shared.contract.request_schema("post", ep.path()) {
        let errors = shared.contract.validate(schema, &value);
        if !errors.is_empty() {
            let message = format!("POST {}: {errors:?}", ep.path());
            shared.state().violations.push(message.clone());
            return Err(Answer::json(400, invalid_request(&message)));
        }
    }
    Ok(value)
}

async fn create_tweet(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let window = match gate(
        &shared,
        Endpoint::CreateTweet,
        &Method::POST,
        "/2/tweets",
        &[],
        &headers,
    )
    .await
    {
        Ok(w) => w,
        Err(a) => return respond(a),
    };
    let value = match body_json(&shared, Endpoint::CreateTweet, &body) {
        Ok(v) => v,
        Err(a) => return finish(&shared, a, window),
    };
    let text = value["text"].as_str().unwrap_or_default().to_string();
    let reply_to = value["reply"]["in_reply_to_tweet_id"]
        .as_str()
        .map(str::to_string);
    let mut s = shared.state();
    let answer = if text.is_empty() || weighted_len(&text) > 280 {
        Answer::json(400, invalid_request("Your post is too long or empty."))
    } else if s.posted.iter().any(|p| p.text == text) {
        Answer::json(
            403,
            problem(
                403,
                "Forbidden",
                "You are not allowed to create a Tweet with duplicate content.",
                "about:blank",
            ),
        )
    } else if let Some(parent) = reply_to
        .as_ref()
        .filter(|p| !p.parse::<u64>().is_ok_and(|p| s.tweets.contains_key(&p)))
    {
        Answer::json(
            400,
            invalid_request(&format!(
                "The post you are replying to ({parent}) does not exist."
            )),
        )
    } else {
        let account = s.account.id.clone();
        let reference = reply_to
            .clone()
            .map(Reference::RepliedTo)
            .unwrap_or(Reference::None);
        let id = s.add_tweet(&account, &text, reference).to_string();
        s.posted.push(Posted {
            id: id.clone(),
            text: text.clone(),
            in_reply_to: reply_to,
        });
        Answer::json(201, json!({ "data": { "id": id, "text": text } }))
    };
    drop(s);
    finish(&shared, answer, window)
}

async fn create_dm(
    AxState(shared): AxState<Arc<Shared>>,
    Path(participant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/2/dm_conversations/with/{participant}/messages");
    let window = match gate(
        &shared,
        Endpoint::CreateDm,
        &Method::POST,
        &path,
        &[],
        &headers,
    )
    .await
    {
        Ok(w) => w,
        Err(a) => return respond(a),
    };
    let value = match body_json(&shared, Endpoint::CreateDm, &body) {
        Ok(v) => v,
        Err(a) => return finish(&shared, a, window),
    };
    let text = value["text"].as_str().unwrap_or_default().to_string();
    let mut s = shared.state();
    let answer = match s.users.get(&participant).map(|u| u.receives_dm) {
        None => Answer::json(
            400,
            invalid_request(&format!("Could not find user with id: [{participant}].")),
        ),
        Some(false) => Answer::json(
            403,
            problem(
                403,
                "Forbidden",
                "You cannot send messages to this user.",
                "about:blank",
            ),
        ),
        Some(true) => {
            let id = s.id();
            let account = s.account.id.clone();
            s.dms.insert(
                id,
                Dm {
                    id,
                    sender_id: account.clone(),
                    recipient_id: participant.clone(),
                    text: text.clone(),
                    created_ms: now_ms(),
                },
            );
            s.sent_dms.push(SentDm {
                id: id.to_string(),
                participant_id: participant.clone(),
                text,
            });
            Answer::json(
                201,
                json!({ "data": { "dm_conversation_id": conversation_id(&account, &participant), "dm_event_id": id.to_string() } }),
            )
        }
    };
    drop(s);
    finish(&shared, answer, window)
}
