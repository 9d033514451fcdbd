//! The reading endpoints: `GET /2/users/{id}/mentions` and `GET /2/dm_events`, newest first,
//! paged, with the fields and expansions asked for.

use super::Shared;
use super::server::{Answer, finish, gate, invalid_request, query_pairs, respond};
use super::state::{Dm, State};
use super::time::{iso, parse_iso};
use super::types::Endpoint;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

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

pub(crate) async fn mentions(
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

pub(crate) async fn dm_events(
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
        v["created_at"] = iso(e.created_ms).into();
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

pub(crate) fn conversation_id(a: &str, b: &str) -> String {
    let (x, y) = if a.parse::<u64>().unwrap_or(0) < b.parse::<u64>().unwrap_or(0) {
        (a, b)
    } else {
        (b, a)
    };
    format!("{x}-{y}")
}
