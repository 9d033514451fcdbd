//! The writing endpoints: `POST /2/tweets` and
//! `POST /2/dm_conversations/with/{participant_id}/messages`.

use super::Shared;
use super::server::{Answer, finish, gate, invalid_request, problem, respond};
use super::state::Dm;
use super::time::now_ms;
use super::timelines::conversation_id;
use super::types::{Endpoint, Posted, Reference, SentDm};
use super::weight::weighted_len;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

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

pub(crate) async fn create_tweet(
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

pub(crate) async fn create_dm(
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
