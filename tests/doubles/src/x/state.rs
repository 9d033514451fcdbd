//! What the double remembers: users, posts, DM events, tokens, rate-limit windows, injected
//! faults and every request, behind one lock.

use super::time::{iso, now_ms};
use super::types::{Endpoint, Fault, Posted, Reference, Request, SentDm};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// An X user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub username: String,
    pub name: String,
    pub receives_dm: bool,
}

/// A post.
#[derive(Debug, Clone)]
pub(crate) struct Tweet {
    pub id: u64,
    pub author_id: String,
    pub text: String,
    pub conversation_id: u64,
    pub created_ms: i64,
    pub reference: Reference,
    pub in_reply_to_user_id: Option<String>,
}

/// A direct message event.
#[derive(Debug, Clone)]
pub(crate) struct Dm {
    pub id: u64,
    pub sender_id: String,
    pub recipient_id: String,
    pub text: String,
    pub created_ms: i64,
}

/// One endpoint's rate-limit window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub limit: u32,
    pub secs: u64,
    pub used: u32,
    /// Epoch seconds at which the window resets (0: no window open).
    pub reset: u64,
}

/// A window as the headers tell it: limit, remaining, reset (unix seconds).
pub(crate) type WindowState = (u32, u32, u64);

/// OAuth 1.0a credentials the double accepts.
#[derive(Debug, Clone)]
pub(crate) struct Oauth1 {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
}

#[derive(Debug)]
pub(crate) struct State {
    pub account: User,
    pub users: BTreeMap<String, User>,
    pub tweets: BTreeMap<u64, Tweet>,
    pub dms: BTreeMap<u64, Dm>,
    pub next_id: u64,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Access token → expiry (unix ms).
    pub access: HashMap<String, i64>,
    /// Refresh token → still unused.
    pub refresh: HashMap<String, bool>,
    pub access_ttl_secs: i64,
    /// Authorization code → PKCE code challenge.
    pub codes: HashMap<String, String>,
    pub oauth1: Option<Oauth1>,
    pub windows: HashMap<Endpoint, Window>,
    pub faults: HashMap<Endpoint, VecDeque<Fault>>,
    /// Users that mention lookups cannot find: their posts come with a partial error.
    pub missing_users: HashSet<String>,
    pub requests: Vec<Request>,
    pub posted: Vec<Posted>,
    pub sent_dms: Vec<SentDm>,
    pub violations: Vec<String>,
    pub tokens_issued: u64,
    /// How long the token endpoint takes to answer.
    pub token_delay: std::time::Duration,
}

impl State {
    pub fn new(
        account_id: &str,
        username: &str,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> State {
        let account = User {
            id: account_id.into(),
            username: username.into(),
            name: "URP".into(),
            receives_dm: true,
        };
        let mut windows = HashMap::new();
        for ep in [
            Endpoint::Mentions,
            Endpoint::DmEvents,
            Endpoint::CreateTweet,
            Endpoint::CreateDm,
        ] {
            if let Some((limit, secs)) = ep.default_limit() {
                windows.insert(
                    ep,
                    Window {
                        limit,
                        secs,
                        used: 0,
                        reset: 0,
                    },
                );
            }
        }
        State {
            users: BTreeMap::from([(account.id.clone(), account.clone())]),
            account,
            tweets: BTreeMap::new(),
            dms: BTreeMap::new(),
            next_id: 1_860_000_000_000_000_000,
            client_id: client_id.into(),
            client_secret: client_secret.map(str::to_string),
            access: HashMap::new(),
            refresh: HashMap::new(),
            access_ttl_secs: 7200,
            codes: HashMap::new(),
            oauth1: None,
            windows,
            faults: HashMap::new(),
            missing_users: HashSet::new(),
            requests: Vec::new(),
            posted: Vec::new(),
            sent_dms: Vec::new(),
            violations: Vec::new(),
            tokens_issued: 0,
            token_delay: std::time::Duration::ZERO,
        }
    }

    pub fn id(&mut self) -> u64 {
        self.next_id += 1 + (self.next_id % 7);
        self.next_id
    }

    pub fn add_tweet(&mut self, author_id: &str, text: &str, reference: Reference) -> u64 {
        let id = self.id();
        let (conversation_id, in_reply_to_user_id) = match &reference {
            Reference::RepliedTo(parent) => {
                let parent = parent.parse::<u64>().ok().and_then(|p| self.tweets.get(&p));
                (
                    parent.map(|p| p.conversation_id).unwrap_or(id),
                    parent.map(|p| p.author_id.clone()),
                )
            }
            _ => (id, None),
        };
        self.tweets.insert(
            id,
            Tweet {
                id,
                author_id: author_id.into(),
                text: text.into(),
                conversation_id,
                created_ms: now_ms(),
                reference,
                in_reply_to_user_id,
            },
        );
        id
    }

    /// Whether a post mentions the account (an `@handle` in its text, any case).
    pub fn mentions_account(&self, t: &Tweet) -> bool {
        mentions(&t.text)
            .iter()
            .any(|(_, _, name)| name.eq_ignore_ascii_case(&self.account.username))
    }

    /// Open or continue the endpoint's window: `Ok` with (limit, remaining, reset) when the
    /// request is admitted, `Err` with the same when the window is used up.
    pub fn admit(&mut self, ep: Endpoint) -> Option<Result<WindowState, WindowState>> {
        let now = (now_ms() / 1000) as u64;
        let w = self.windows.get_mut(&ep)?;
        if w.reset == 0 || now >= w.reset {
            w.used = 0;
            w.reset = now + w.secs;
        }
        if w.used >= w.limit {
            return Some(Err((w.limit, 0, w.reset)));
        }
        w.used += 1;
        Some(Ok((w.limit, w.limit - w.used, w.reset)))
    }

    pub fn issue_pair(&mut self) -> (String, String) {
        self.tokens_issued += 1;
        let n = self.tokens_issued;
        let access = format!("acc-{n}-{:x}", now_ms());
        let refresh = format!("ref-{n}-{:x}", now_ms() ^ 0x5a5a);
        self.access
            .insert(access.clone(), now_ms() + self.access_ttl_secs * 1000);
        self.refresh.insert(refresh.clone(), true);
        (access, refresh)
    }

    pub fn user_json(&self, u: &User, fields: &[&str]) -> serde_json::Value {
        let mut v = serde_json::json!({ "id": u.id, "username": u.username, "name": u.name });
        if fields.contains(&"receives_your_dm") {
            v["receives_your_dm"] = u.receives_dm.into();
        }
        v
    }

    pub fn tweet_json(&self, t: &Tweet, fields: &[&str]) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": t.id.to_string(),
            "text": t.text,
            "edit_history_tweet_ids": [t.id.to_string()],
        });
        if fields.contains(&"author_id") {
            v["author_id"] = t.author_id.clone().into();
        }
        if fields.contains(&"conversation_id") {
            v["conversation_id"] = t.conversation_id.to_string().into();
        }
        if fields.contains(&"created_at") {
            v["created_at"] = iso(t.created_ms).into();
        }
        if fields.contains(&"in_reply_to_user_id")
            && let Some(u) = &t.in_reply_to_user_id
        {
            v["in_reply_to_user_id"] = u.clone().into();
        }
        if fields.contains(&"referenced_tweets") {
            let r = match &t.reference {
                Reference::None => None,
                Reference::RepliedTo(id) => Some(("replied_to", id)),
                Reference::Quoted(id) => Some(("quoted", id)),
                Reference::Retweeted(id) => Some(("retweeted", id)),
            };
            if let Some((kind, id)) = r {
                v["referenced_tweets"] = serde_json::json!([{ "type": kind, "id": id }]);
            }
        }
        if fields.contains(&"entities") {
            let mut entities = serde_json::Map::new();
            let found: Vec<serde_json::Value> = mentions(&t.text)
                .into_iter()
                .map(|(start, end, name)| {
                    let mut m = serde_json::json!({ "start": start, "end": end, "username": name });
                    if let Some(u) = self
                        .users
                        .values()
                        .find(|u| u.username.eq_ignore_ascii_case(&name))
                    {
                        m["id"] = u.id.clone().into();
                    }
                    m
                })
                .collect();
            if !found.is_empty() {
                entities.insert("mentions".into(), found.into());
            }
            let urls: Vec<serde_json::Value> = urls(&t.text)
                .into_iter()
                .map(|(start, end, url)| {
                    serde_json::json!({ "start": start, "end": end, "url": url, "expanded_url": url, "display_url": url })
                })
                .collect();
            if !urls.is_empty() {
                entities.insert("urls".into(), urls.into());
            }
            if !entities.is_empty() {
                v["entities"] = entities.into();
            }
        }
        v
    }
}

/// `@handle` mentions in `text`: (start, end) in code points, and the handle.
pub(crate) fn mentions(text: &str) -> Vec<(usize, usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if chars[i] == '@' && boundary {
            let mut j = i + 1;
            while j < chars.len()
                && j - i <= 15
                && (chars[j].is_ascii_alphanumeric() || chars[j] == '_')
            {
                j += 1;
            }
            if j > i + 1 {
                out.push((i, j, chars[i + 1..j].iter().collect()));
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// URLs in `text`: (start, end) in code points, and the URL.
fn urls(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if word.starts_with("https://") || word.starts_with("http://") {
            out.push((pos, pos + len, word.to_string()));
        }
        pos += len + 1;
    }
    out
}
