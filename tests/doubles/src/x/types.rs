//! What tests give the double and read back from it.

use std::time::Duration;

/// One of the endpoints the double serves, each with its own rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /2/users/{id}/mentions`
    Mentions,
    /// `GET /2/dm_events`
    DmEvents,
    /// `POST /2/tweets`
    CreateTweet,
    /// `POST /2/dm_conversations/with/{participant_id}/messages`
    CreateDm,
    /// `POST /2/oauth2/token` (not rate limited)
    Token,
}

impl Endpoint {
    /// X's per-user window: requests per 15 minutes.
    pub fn default_limit(self) -> Option<(u32, u64)> {
        match self {
            Endpoint::Mentions => Some((180, 900)),
            Endpoint::DmEvents => Some((300, 900)),
            Endpoint::CreateTweet => Some((200, 900)),
            Endpoint::CreateDm => Some((200, 900)),
            Endpoint::Token => None,
        }
    }

    /// The path template in the contract.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Mentions => "/2/users/{id}/mentions",
            Endpoint::DmEvents => "/2/dm_events",
            Endpoint::CreateTweet => "/2/tweets",
            Endpoint::CreateDm => "/2/dm_conversations/with/{participant_id}/messages",
            Endpoint::Token => "/2/oauth2/token",
        }
    }
}

/// A failure injected into the next request of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a problem body (`503`, `500`, `400`, `403`…); `detail`
    /// is the problem's detail.
    Status(u16, String),
    /// Answer 429, the window exhausted until `reset` seconds from now.
    RateLimited(u64),
    /// Answer nothing for this long (a timeout on the client's side).
    Hang(Duration),
    /// Answer 401 as for an expired token, whatever the token.
    Unauthorized,
}

/// A request as the double received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// The query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The status answered.
    pub status: u16,
    /// When it arrived, unix ms.
    pub at_ms: i64,
    /// The bearer token it carried, or `oauth1` for a signed request.
    pub auth: String,
}

impl Request {
    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A post the office's account made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The post's id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// The post it replies to.
    pub in_reply_to: Option<String>,
}

/// A direct message the office's account sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentDm {
    /// The DM event's id.
    pub id: String,
    /// The recipient.
    pub participant_id: String,
    /// Its text.
    pub text: String,
}

/// How a citizen's post refers to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A plain post.
    None,
    /// A reply to this post.
    RepliedTo(String),
    /// A quote of this post.
    Quoted(String),
    /// A retweet of this post.
    Retweeted(String),
}
