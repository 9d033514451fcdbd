//! What the double remembers: the update queue, the messages of each chat, every call, the
//! faults waiting to be injected, the rate limiter and the webhook.

use super::contract::Contract;
use super::{Call, Fault, SentMessage};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// State shared by the handle and the server.
pub(crate) struct Shared {
    pub contract: Arc<Contract>,
    pub token: String,
    pub state: Mutex<State>,
    /// Bumped on every change a waiter may care about (an update, a message, a new poller).
    pub events: watch::Sender<u64>,
}

impl Shared {
    pub fn new(contract: Arc<Contract>, token: &str) -> Shared {
        Shared {
            contract,
            token: token.to_string(),
            state: Mutex::new(State::new(token)),
            events: watch::channel(0).0,
        }
    }

    /// The state, even if a panicking test poisoned the lock.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn notify(&self) {
        self.events.send_modify(|n| *n += 1);
    }
}

pub(crate) struct Injection {
    method: String,
    chat: Option<i64>,
    fault: Fault,
    remaining: usize,
}

pub(crate) struct Limiter {
    global_per_sec: u32,
    per_chat_per_sec: u32,
    global: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
}

/// A webhook set by `setWebhook`.
pub(crate) struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub max_connections: Option<i64>,
    pub allowed_updates: Option<Value>,
}

pub(crate) struct State {
    pub bot: Value,
    pub updates: VecDeque<Value>,
    next_update_id: i64,
    pub confirmed_offset: i64,
    pub poll_generation: u64,
    /// `getUpdates` requests being answered now (a client that went away is not counted).
    pub polls_in_progress: usize,
    /// `getUpdates` requests that arrived while another was in progress.
    pub overlapping_polls: usize,
    /// `getUpdates` requests ended with 409 "terminated by other getUpdates request".
    pub conflicts: usize,
    pub allowed_updates: Option<Vec<String>>,
    pub sent: Vec<SentMessage>,
    /// Every message of every chat, the bot's and the users', by (chat id, message id).
    pub messages: HashMap<(i64, i64), Value>,
    next_message_id: HashMap<i64, i64>,
    pub first_names: HashMap<i64, String>,
    pub calls: Vec<Call>,
    pub open_callbacks: HashSet<String>,
    next_callback: u64,
    pub callback_answers: Vec<Value>,
    pub markup_edits: Vec<Value>,
    faults: Vec<Injection>,
    pub limiter: Option<Limiter>,
    pub throttled: usize,
    pub webhook: Option<Webhook>,
    pub violations: Vec<String>,
}

/// Seconds since the Unix epoch, as Telegram dates are.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The `Chat` object of a chat id: positive ids are private chats, as in Telegram.
pub(crate) fn chat_object(id: i64, first_name: Option<&String>) -> Value {
    match id {
        1.. => match first_name {
            Some(name) => json!({ "id": id, "type": "private", "first_name": name }),
            None => json!({ "id": id, "type": "private" }),
        },
        ..=-1_000_000_000_000 => {
            json!({ "id": id, "type": "supergroup", "title": "Test supergroup" })
        }
        _ => json!({ "id": id, "type": "group", "title": "Test group" }),
    }
}

impl State {
    fn new(token: &str) -> State {
        let bot_id: i64 = token
            .split(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(1);
        State {
            bot: json!({
                "id": bot_id, "is_bot": true, "first_name": "Sportello", "username": "sportello_test_bot",
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false,
                "has_main_web_app": false,
            }),
            updates: VecDeque::new(),
            next_update_id: 1,
            confirmed_offset: 0,
            poll_generation: 0,
            polls_in_progress: 0,
            overlapping_polls: 0,
            conflicts: 0,
            allowed_updates: None,
            sent: Vec::new(),
            messages: HashMap::new(),
            next_message_id: HashMap::new(),
            first_names: HashMap::new(),
            calls: Vec::new(),
            open_callbacks: HashSet::new(),
            next_callback: 0,
            callback_answers: Vec::new(),
            markup_edits: Vec::new(),
            faults: Vec::new(),
            limiter: None,
            throttled: 0,
            webhook: None,
            violations: Vec::new(),
        }
    }

    /// The `User` the bot is, as messages carry it in `from` (no getMe-only fields).
    pub fn bot_user(&self) -> Value {
        let b = &self.bot;
        json!({ "id": b["id"], "is_bot": true, "first_name": b["first_name"], "username": b["username"] })
    }

    /// Gives the update an id when it has none, and queues it.
    pub fn push_update(&mut self, mut update: Value) -> i64 {
        let id = self.stamp_update(&mut update);
        if let Some(cq) = update
            .get("callback_query")
            .and_then(|c| c.get("id"))
            .and_then(Value::as_str)
        {
            self.open_callbacks.insert(cq.to_string());
        }
        // Kept in update_id order, whatever order explicit ids were pushed in.
        let at = self
            .updates
            .partition_point(|u| u["update_id"].as_i64().is_some_and(|i| i <= id));
        self.updates.insert(at, update);
        id
    }

    /// Gives the update an id when it has none; later ids stay above any id seen.
    pub fn stamp_update(&mut self, update: &mut Value) -> i64 {
        let id = match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => id,
            None => {
                update["update_id"] = json!(self.next_update_id);
                self.next_update_id
            }
        };
        self.next_update_id = self.next_update_id.max(id + 1);
        id
    }

    /// Message ids grow per chat, shared by the bot's and the user's messages as in Telegram.
    pub fn next_message_id(&mut self, chat: i64) -> i64 {
        let next = self.next_message_id.entry(chat).or_insert(1);
        *next += 1;
        *next - 1
    }

    pub fn next_callback_id(&mut self) -> String {
        self.next_callback += 1;
        (4_382_000_000_000_000_000 + self.next_callback).to_string()
    }

    pub fn add_fault(&mut self, method: &str, chat: Option<i64>, fault: Fault, times: usize) {
        if times > 0 {
            let method = method.to_lowercase();
            self.faults.push(Injection {
                method,
                chat,
                fault,
                remaining: times,
            });
        }
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The fault to inject into this call, if any: ones for its chat first, then the method's.
    pub fn take_fault(&mut self, method: &str, chat: Option<i64>) -> Option<Fault> {
        let method = method.to_lowercase();
        let matching = |i: &Injection, for_chat: bool| {
            i.method == method
                && if for_chat {
                    i.chat.is_some() && i.chat == chat
                } else {
                    i.chat.is_none()
                }
        };
        let index = (self.faults.iter().position(|i| matching(i, true)))
            .or_else(|| self.faults.iter().position(|i| matching(i, false)))?;
        let injection = &mut self.faults[index];
        injection.remaining -= 1;
        let fault = injection.fault.clone();
        if injection.remaining == 0 {
            self.faults.remove(index);
        }
        Some(fault)
    }

    pub fn set_limits(&mut self, global_per_sec: u32, per_chat_per_sec: u32) {
        let (global, chats) = (VecDeque::new(), HashMap::new());
        self.limiter = Some(Limiter {
            global_per_sec,
            per_chat_per_sec,
            global,
            chats,
        });
    }

    /// With the limiter on, whether one more message to `chat` fits in the last second: `Err`
    /// gives the seconds to wait. A message that fits is counted.
    pub fn admit(&mut self, chat: i64, now: Instant) -> Result<(), u32> {
        let Some(limiter) = self.limiter.as_mut() else {
            return Ok(());
        };
        let window = Duration::from_secs(1);
        let prune = |q: &mut VecDeque<Instant>| {
            while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                q.pop_front();
            }
        };
        prune(&mut limiter.global);
        let per_chat = limiter.chats.entry(chat).or_default();
        prune(per_chat);
        let full = |q: &VecDeque<Instant>, limit: u32| limit > 0 && q.len() >= limit as usize;
        let mut wait = Duration::ZERO;
        if full(per_chat, limiter.per_chat_per_sec) {
            wait = wait.max(window - now.duration_since(per_chat[0]));
        }
        if full(&limiter.global, limiter.global_per_sec) {
            wait = wait.max(window - now.duration_since(limiter.global[0]));
        }
        if wait > Duration::ZERO {
            self.throttled += 1;
            return Err(wait.as_secs_f64().ceil().max(1.0) as u32);
        }
        per_chat.push_back(now);
        limiter.global.push_back(now);
        Ok(())
    }
}
