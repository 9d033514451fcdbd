//! Mentions and direct messages as intake's inbound messages, and the posts the channel
//! leaves alone: the account's own, retweets, quotes that only mention the account in
//! passing, and a bare mention of the account with nothing else.
//!
//! Threads are kept per participant: a citizen's mentions and DMs share the thread named
//! by their user id, so a DM joins the citizen's open conversation. Mentions keep the post
//! id as platform id (public replies answer it); DMs are `dm:<event id>`.

use sportello_core::model::{Action, Inbound, Sender};
use sportello_core::store::XUser;

use super::api::{DmEvent, Tweet, User};

/// Platform ids of DMs start with this.
pub const DM_PREFIX: &str = "dm:";

/// The text without the `@handles` it starts with (how X writes replies and mentions).
pub fn strip_leading_mentions(text: &str) -> &str {
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix('@') {
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if end == 0 {
            break;
        }
        rest = after[end..].trim_start();
    }
    rest
}

/// Whether the text's leading `@handles` include `handle`.
fn addressed_to(text: &str, handle: &str) -> bool {
    let lead = &text.trim_start()[..text.trim_start().len() - strip_leading_mentions(text).len()];
    lead.split_whitespace()
        .any(|m| m.trim_start_matches('@').eq_ignore_ascii_case(handle))
}

/// Why a mention is left alone, if it is.
pub fn skip_reason(tweet: &Tweet, account: &str) -> Option<&'static str> {
    // The account's handle, as X resolved it in the post's entities.
    let handle = tweet
        .entities
        .iter()
        .flat_map(|e| &e.mentions)
        .find(|m| m.id.as_deref() == Some(account))
        .map(|m| m.username.as_str());
    if tweet.author_id.as_deref() == Some(account) {
        return Some("own post");
    }
    if tweet
        .referenced_tweets
        .iter()
        .any(|r| r.kind == "retweeted")
    {
        return Some("retweet");
    }
    let quoted = tweet.referenced_tweets.iter().any(|r| r.kind == "quoted");
    if quoted && !handle.is_some_and(|h| addressed_to(&tweet.text, h)) {
        return Some("quote mentioning the account in passing");
    }
    if strip_leading_mentions(&tweet.text).trim().is_empty() {
        return Some("bare mention");
    }
    None
}

/// The sender of a post or DM, with handle and name when X gave them.
fn sender(user_id: &str, users: &[User]) -> Sender {
    match users.iter().find(|u| u.id == user_id) {
        Some(u) => Sender {
            external_id: user_id.to_string(),
            display_name: format!("{} (@{})", u.name, u.username),
        },
        // A partial error left the author out of `includes`: the id is all there is.
        None => Sender {
            external_id: user_id.to_string(),
            display_name: user_id.to_string(),
        },
    }
}

/// What the citizen said, read as feedback when it is a bare 👍/👎 or 1–5.
pub enum Verdict {
    /// 👍 (`true`) or 👎.
    Useful(bool),
    /// A rating.
    Score(u8),
}

/// A bare 👍/👎 or a digit from 1 to 5.
pub fn verdict(text: &str) -> Option<Verdict> {
    let t = strip_leading_mentions(text)
        .trim()
        .trim_end_matches('\u{FE0F}');
    let t = t.trim_end_matches(|c: char| ('\u{1F3FB}'..='\u{1F3FF}').contains(&c));
    match t {
        "👍" => Some(Verdict::Useful(true)),
        "👎" => Some(Verdict::Useful(false)),
        "1" | "2" | "3" | "4" | "5" => t.parse().ok().map(Verdict::Score),
        _ => None,
    }
}

/// A mention as an inbound message (not yet checked for feedback).
pub fn mention(tweet: &Tweet, users: &[User]) -> Option<Inbound> {
    let author = tweet.author_id.as_deref()?;
    let text = strip_leading_mentions(&tweet.text).trim().to_string();
    Some(Inbound {
        channel: super::NAME.into(),
        platform_id: tweet.id.clone(),
        sender: sender(author, users),
        thread: author.to_string(),
        subject: None,
        text,
        raw: None,
        attachments: Vec::new(),
        action: Action::Message,
        cursor: None,
    })
}

/// A DM as an inbound message; `None` for the account's own and for non-message events.
pub fn dm(event: &DmEvent, account: &str, users: &[User]) -> Option<Inbound> {
    if event.event_type != "MessageCreate" {
        return None;
    }
    let from = event.sender_id.as_deref()?;
    if from == account {
        return None;
    }
    Some(Inbound {
        channel: super::NAME.into(),
        platform_id: format!("{DM_PREFIX}{}", event.id),
        sender: sender(from, users),
        thread: from.to_string(),
        subject: None,
        text: event.text.clone().unwrap_or_default(),
        raw: None,
        attachments: Vec::new(),
        action: Action::Message,
        cursor: None,
    })
}

/// What to remember of the users of a page; `dm` marks senders of DMs as reachable by DM.
pub fn users(users: &[User], dm: bool) -> Vec<XUser> {
    users
        .iter()
        .map(|u| XUser {
            user_id: u.id.clone(),
            username: u.username.clone(),
            name: u.name.clone(),
            receives_dm: dm || u.receives_your_dm.unwrap_or(false),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x::api::Referenced;

    fn tweet(author: &str, text: &str, refs: &[(&str, &str)]) -> Tweet {
        Tweet {
            id: "100".into(),
            text: text.into(),
            author_id: Some(author.into()),
            conversation_id: None,
            created_at: None,
            in_reply_to_user_id: None,
            entities: Some(crate::x::api::Entities {
                mentions: vec![crate::x::api::Mention {
                    username: "URPMilano".into(),
                    id: Some("1".into()),
                }],
            }),
            referenced_tweets: refs
                .iter()
                .map(|(k, id)| Referenced {
                    kind: (*k).into(),
                    id: (*id).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn own_posts_retweets_passing_quotes_and_bare_mentions_are_skipped() {
        assert_eq!(
            skip_reason(&tweet("1", "@a ciao", &[]), "1"),
            Some("own post")
        );
        let rt = tweet("2", "RT @URPMilano: orari", &[("retweeted", "9")]);
        assert_eq!(skip_reason(&rt, "1"), Some("retweet"));
        let passing = tweet("2", "guardate cosa dice @URPMilano", &[("quoted", "9")]);
        assert!(skip_reason(&passing, "1").is_some());
        let asked = tweet("2", "@URPMilano è ancora valido?", &[("quoted", "9")]);
        assert_eq!(skip_reason(&asked, "1"), None);
        assert_eq!(
            skip_reason(&tweet("2", "@URPMilano  ", &[]), "1"),
            Some("bare mention")
        );
        assert_eq!(
            skip_reason(&tweet("2", "@URPMilano orari?", &[]), "1"),
            None
        );
    }

    #[test]
    fn leading_handles_are_removed_from_the_question() {
        assert_eq!(strip_leading_mentions("@URPMilano @altro orari?"), "orari?");
        assert_eq!(
            strip_leading_mentions("orari @URPMilano?"),
            "orari @URPMilano?"
        );
    }

    #[test]
    fn thumbs_and_digits_are_verdicts() {
        assert!(matches!(
            verdict("@URPMilano 👍"),
            Some(Verdict::Useful(true))
        ));
        assert!(matches!(verdict("👎🏻"), Some(Verdict::Useful(false))));
        assert!(matches!(verdict("4"), Some(Verdict::Score(4))));
        assert!(verdict("6").is_none());
        assert!(verdict("👍 grazie, ma...").is_none());
    }
}
