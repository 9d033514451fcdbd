//! Updates: how the double makes them (a user's text, a button pressed) and how `getUpdates`
//! hands them out — offsets that confirm, long polling, and the 409 conflicts.

use super::methods::int;
use super::server::Reply;
use super::state::{Shared, State, chat_object, unix_now};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TERMINATED: &str = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
const WEBHOOK_ACTIVE: &str = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";

/// Update kinds Telegram leaves out unless `allowed_updates` names them.
const OPT_IN_UPDATES: [&str; 3] = ["chat_member", "message_reaction", "message_reaction_count"];

impl State {
    /// Queues a text from a user in a chat; see `TelegramDouble::push_text`.
    pub fn push_text(&mut self, chat_id: i64, first_name: &str, text: &str) -> i64 {
        self.first_names.insert(chat_id, first_name.to_string());
        let message_id = self.next_message_id(chat_id);
        let mut message = json!({
            "message_id": message_id,
            "from": { "id": chat_id.abs(), "is_bot": false, "first_name": first_name },
            "chat": chat_object(chat_id, Some(&first_name.to_string())),
            "date": unix_now(),
            "text": text,
        });
        if text.starts_with('/') {
            let command = text.split_whitespace().next().unwrap_or(text);
            let length = command.encode_utf16().count();
            message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
        }
        self.messages.insert((chat_id, message_id), message.clone());
        self.push_update(json!({ "message": message }))
    }

    /// Queues a button press; see `TelegramDouble::push_callback`.
    pub fn push_callback(&mut self, chat_id: i64, message_id: i64, data: &str) -> (i64, String) {
        let callback_id = self.next_callback_id();
        let first_name = self
            .first_names
            .get(&chat_id)
            .cloned()
            .unwrap_or_else(|| "User".into());
        let message = self.messages.get(&(chat_id, message_id)).cloned().unwrap_or_else(|| {
            let chat = chat_object(chat_id, self.first_names.get(&chat_id));
            json!({ "message_id": message_id, "from": self.bot_user(), "chat": chat, "date": unix_now() })
        });
        let query = json!({
            "id": callback_id,
            "from": { "id": chat_id.abs(), "is_bot": false, "first_name": first_name },
            "message": message,
            "chat_instance": format!("{}", chat_id.wrapping_mul(7_919).wrapping_abs()),
            "data": data,
        });
        let id = self.push_update(json!({ "callback_query": query }));
        (id, callback_id)
    }
}

/// Counts a `getUpdates` as in progress while it lives: until it answers, or until its
/// client goes away and the server drops it unanswered.
struct InProgress(Arc<Shared>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.polls_in_progress = st.polls_in_progress.saturating_sub(1);
    }
}

pub(crate) async fn get_updates(shared: &Arc<Shared>, p: &Map<String, Value>) -> Reply {
    let _in_progress = {
        let mut st = shared.lock();
        if st.polls_in_progress > 0 {
            st.overlapping_polls += 1;
        }
        st.polls_in_progress += 1;
        InProgress(Arc::clone(shared))
    };
    let offset = int(p, "offset").unwrap_or(0);
    // Out-of-range values are clamped, as Telegram's server does.
    let limit = int(p, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int(p, "timeout").unwrap_or(0).clamp(0, 50) as u64;
    let mut events = shared.events.subscribe();
    let generation = {
        let mut st = shared.lock();
        if st.webhook.is_some() {
            return Reply::error(409, WEBHOOK_ACTIVE);
        }
        if let Some(kinds) = p.get("allowed_updates").and_then(Value::as_array) {
            st.allowed_updates = Some(
                kinds
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
            );
        }
        if offset > 0 {
            st.updates
                .retain(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset));
            st.confirmed_offset = st.confirmed_offset.max(offset);
        } else if offset < 0 {
            let keep = offset.unsigned_abs() as usize;
            while st.updates.len() > keep {
                st.updates.pop_front();
            }
        }
        st.poll_generation += 1;
        st.poll_generation
    };
    shared.notify(); // an earlier long poll still waiting now answers 409
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        events.borrow_and_update();
        {
            let mut st = shared.lock();
            if st.poll_generation != generation {
                st.conflicts += 1;
                return Reply::error(409, TERMINATED);
            }
            if st.webhook.is_some() {
                return Reply::error(409, WEBHOOK_ACTIVE);
            }
            let batch = batch(&mut st, limit);
            if !batch.is_empty() || Instant::now() >= deadline {
                return Reply::ok(Value::Array(batch));
            }
        }
        tokio::select! {
            _ = events.changed() => {}
            () = tokio::time::sleep_until(deadline.into()) => {}
        }
    }
}

/// The next updates to hand out; updates of kinds not allowed are dropped on the way.
fn batch(st: &mut State, limit: usize) -> Vec<Value> {
    let allowed = st.allowed_updates.clone().filter(|kinds| !kinds.is_empty());
    let confirmed = st.confirmed_offset;
    st.updates.retain(|u| {
        let kind = u
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "update_id"))
            .map_or("", |k| k);
        let wanted = match &allowed {
            Some(kinds) => kinds.iter().any(|k| k == kind),
            None => !OPT_IN_UPDATES.contains(&kind),
        };
        wanted && u["update_id"].as_i64().is_some_and(|id| id >= confirmed)
    });
    st.updates.iter().take(limit).cloned().collect()
}
