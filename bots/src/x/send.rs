//! Delivery: a public reply or a DM, by the privacy rules of the channel.
//!
//! - A message answering a DM goes by DM.
//! - A bot's answer to a mention is a public reply to it, addressed to the citizen
//!   (`@handle …`, so two citizens never get identical posts) and fitted to 280 weighted
//!   characters; if X still calls it a duplicate (the same citizen asked the same thing), it
//!   is posted once more with the conversation's reference — unless this row was tried
//!   before, when X's refusal means the earlier attempt got through.
//! - A handoff answers publicly only with `x.handoff_text`, asking to continue by DM.
//! - An operator's answer goes by DM when the citizen accepts DMs, otherwise publicly,
//!   fitted to 280 (the console warns the operator before sending).

use sportello_core::channel::{Delivered, SendError};
use sportello_core::model::Outgoing;
use sportello_core::store::{Store, XUser};

use super::api::{Created, CreatedDm};
use super::client::{ApiError, unix_now};
use super::read::DM_PREFIX;
use super::text::{LIMIT, fit};
use super::{NAME, X};

/// How a message goes out.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// A DM to the recipient.
    Dm,
    /// A public reply to this post.
    Public(String),
}

fn classify(e: ApiError) -> SendError {
    match e {
        ApiError::RateLimited { reset } => SendError::RetryAfter(std::time::Duration::from_secs(
            reset.saturating_sub(unix_now()).max(1),
        )),
        ApiError::Transient(m) => SendError::Transient(m),
        ApiError::Auth(e) => SendError::Transient(e.to_string()),
        ApiError::Refused { status, detail } => SendError::Permanent {
            reason: format!("X refused the message (HTTP {status}): {detail}"),
            unreachable: false,
        },
    }
}

fn is_duplicate(e: &ApiError) -> bool {
    matches!(e, ApiError::Refused { status: 403, detail } if detail.contains("duplicate"))
}

impl X {
    fn store(&self) -> Result<&Store, SendError> {
        self.store
            .get()
            .ok_or_else(|| SendError::Transient("the X channel is starting".into()))
    }

    pub(super) async fn deliver(&self, message: &Outgoing) -> Result<Delivered, SendError> {
        let store = self.store()?;
        let context = store
            .x_outgoing(message.id)
            .await
            .map_err(|e| SendError::Transient(format!("store: {e}")))?;
        let user = store
            .x_user(&message.recipient)
            .await
            .map_err(|e| SendError::Transient(format!("store: {e}")))?;
        let reply_to = message
            .reply_to
            .clone()
            .or_else(|| context.as_ref().and_then(|c| c.last_inbound.clone()));
        let operator = context.as_ref().is_some_and(|c| c.author == "operator");
        let handoff = context
            .as_ref()
            .is_some_and(|c| c.decision.as_deref() == Some("handoff"));
        let route = match reply_to {
            Some(post) if !post.starts_with(DM_PREFIX) => {
                if operator && user.as_ref().is_some_and(|u| u.receives_dm) {
                    Route::Dm
                } else {
                    Route::Public(post)
                }
            }
            _ => Route::Dm,
        };
        match route {
            Route::Dm => self.send_dm(store, message).await,
            Route::Public(post) => {
                let text = if handoff && !operator {
                    self.config
                        .handoff_text
                        .replace("{ref}", &message.conversation_id.to_string())
                } else {
                    message.text.clone()
                };
                self.reply(store, message, &post, &text, user.as_ref())
                    .await
            }
        }
    }

    async fn send_dm(&self, store: &Store, message: &Outgoing) -> Result<Delivered, SendError> {
        let path = format!("/2/dm_conversations/with/{}/messages", message.recipient);
        let body = serde_json::json!({ "text": message.text });
        let sent: CreatedDm = self
            .client
            .post(store, "dm_send", &path, &body)
            .await
            .map_err(classify)?;
        Ok(Delivered {
            platform_ref: Some(format!("{DM_PREFIX}{}", sent.data.dm_event_id)),
        })
    }

    async fn reply(
        &self,
        store: &Store,
        message: &Outgoing,
        post: &str,
        text: &str,
        user: Option<&XUser>,
    ) -> Result<Delivered, SendError> {
        let address = user
            .map(|u| format!("@{} ", u.username))
            .unwrap_or_default();
        let mut attempt = public_text(&address, text, None);
        for retry in [false, true] {
            let body = serde_json::json!({
                "text": attempt,
                "reply": { "in_reply_to_tweet_id": post },
            });
            match self
                .client
                .post::<Created>(store, "tweets", "/2/tweets", &body)
                .await
            {
                Ok(created) => {
                    return Ok(Delivered {
                        platform_ref: Some(created.data.id),
                    });
                }
                // A retry of this very row after an attempt whose answer was lost (timeout,
                // crash before the row was marked sent): X already holds the post.
                Err(e) if message.attempt > 1 && !retry && is_duplicate(&e) => {
                    tracing::info!(outbox = message.id, "X already holds this reply: delivered");
                    return Ok(Delivered { platform_ref: None });
                }
                Err(e) if !retry && is_duplicate(&e) => {
                    tracing::info!(
                        outbox = message.id,
                        "X called the reply a duplicate: adding the reference"
                    );
                    let reference = format!("(rif. {}/{})", message.conversation_id, message.id);
                    attempt = public_text(&address, text, Some(&reference));
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Err(SendError::Permanent {
            reason: format!("{NAME}: duplicate content"),
            unreachable: false,
        })
    }
}

/// `@handle text [reference]`, fitted to X's limit with the handle and reference kept whole.
fn public_text(address: &str, text: &str, reference: Option<&str>) -> String {
    let tail = reference.map(|r| format!(" {r}")).unwrap_or_default();
    let room = LIMIT
        .saturating_sub(super::text::weighted_len(address))
        .saturating_sub(super::text::weighted_len(&tail));
    format!("{address}{}{tail}", fit(text, room))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x::text::weighted_len;

    #[test]
    fn public_replies_are_addressed_and_fitted_with_the_reference_kept() {
        let long = format!("{} https://comune.example.it/pagina", "parola ".repeat(60));
        let text = public_text("@anna_r ", &long, Some("(rif. 7/12)"));
        assert!(text.starts_with("@anna_r parola"));
        assert!(
            text.ends_with("https://comune.example.it/pagina (rif. 7/12)"),
            "{text}"
        );
        assert!(weighted_len(&text) <= LIMIT);
    }

    #[test]
    fn a_duplicate_is_told_from_other_refusals() {
        let dup = ApiError::Refused {
            status: 403,
            detail: "You are not allowed to create a Tweet with duplicate content.".into(),
        };
        assert!(is_duplicate(&dup));
        let other = ApiError::Refused {
            status: 403,
            detail: "Reply to this conversation is not allowed".into(),
        };
        assert!(!is_duplicate(&other));
        assert!(
            matches!(classify(other), SendError::Permanent { reason, .. } if reason.contains("not allowed"))
        );
    }

    #[test]
    fn a_rate_limit_waits_until_the_reset() {
        let e = classify(ApiError::RateLimited {
            reset: unix_now() + 30,
        });
        assert!(matches!(e, SendError::RetryAfter(d) if d.as_secs() >= 29 && d.as_secs() <= 30));
    }
}
