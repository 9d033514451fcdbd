//! The parts of X API v2 answers the channel reads, with the field names of the contract.

use serde::Deserialize;

/// An RFC 7807 problem, as a whole error answer or as one entry of a 200's `errors[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Problem {
    /// Short summary.
    #[serde(default)]
    pub title: String,
    /// Problem type URI.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Explanation, shown to operators.
    #[serde(default)]
    pub detail: Option<String>,
    /// The resource concerned (partial errors).
    #[serde(default)]
    pub resource_id: Option<String>,
}

/// A page of a timeline (`data`, `includes`, partial `errors`, `meta`).
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Expanded objects.
    #[serde(default)]
    pub includes: Includes,
    /// Partial errors of a successful answer.
    #[serde(default)]
    pub errors: Vec<Problem>,
    /// Paging.
    #[serde(default)]
    pub meta: Meta,
}

/// `includes`.
#[derive(Debug, Default, Deserialize)]
pub struct Includes {
    /// Users named by `expansions=author_id` or `sender_id`.
    #[serde(default)]
    pub users: Vec<User>,
}

/// `meta` of a page.
#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    /// Newest id of the page.
    pub newest_id: Option<String>,
    /// Token of the next (older) page.
    pub next_token: Option<String>,
}

/// A user.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// Handle.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Whether the office's account can send them a DM.
    #[serde(default)]
    pub receives_your_dm: Option<bool>,
}

/// A post.
#[derive(Debug, Clone, Deserialize)]
pub struct Tweet {
    /// Id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Author.
    #[serde(default)]
    pub author_id: Option<String>,
    /// The conversation (the first post of the thread).
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The user the post replies to.
    #[serde(default)]
    pub in_reply_to_user_id: Option<String>,
    /// Retweeted, quoted or replied-to posts.
    #[serde(default)]
    pub referenced_tweets: Vec<Referenced>,
    /// Mentions and URLs in the text.
    #[serde(default)]
    pub entities: Option<Entities>,
}

/// `entities` of a post.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Entities {
    /// `@handle` mentions.
    #[serde(default)]
    pub mentions: Vec<Mention>,
}

/// One mention in a post's text.
#[derive(Debug, Clone, Deserialize)]
pub struct Mention {
    /// Handle, without `@`.
    pub username: String,
    /// The user's id, when X resolved it.
    #[serde(default)]
    pub id: Option<String>,
}

/// One of `referenced_tweets`.
#[derive(Debug, Clone, Deserialize)]
pub struct Referenced {
    /// `retweeted`, `quoted` or `replied_to`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The post's id.
    pub id: String,
}

/// A DM event.
#[derive(Debug, Clone, Deserialize)]
pub struct DmEvent {
    /// Id.
    pub id: String,
    /// `MessageCreate`, `ParticipantsJoin`, `ParticipantsLeave`.
    pub event_type: String,
    /// Text of a message.
    #[serde(default)]
    pub text: Option<String>,
    /// Sender.
    #[serde(default)]
    pub sender_id: Option<String>,
}

/// The answer to `POST /2/tweets`.
#[derive(Debug, Deserialize)]
pub struct Created {
    /// The new post.
    pub data: CreatedPost,
}

/// `data` of a created post.
#[derive(Debug, Deserialize)]
pub struct CreatedPost {
    /// Its id.
    pub id: String,
}

/// The answer to a DM send.
#[derive(Debug, Deserialize)]
pub struct CreatedDm {
    /// The new event.
    pub data: CreatedDmEvent,
}

/// `data` of a sent DM.
#[derive(Debug, Deserialize)]
pub struct CreatedDmEvent {
    /// Its event id.
    pub dm_event_id: String,
}

/// Compare two X ids (decimal strings up to 19 digits) numerically.
pub fn id_newer(a: &str, than: &str) -> bool {
    (a.len(), a) > (than.len(), than)
}
