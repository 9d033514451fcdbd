//! Moving a conversation to another office: its queue, one sentence to the citizen, and the
//! office's email, all in one transaction.

use super::{Intake, conversation_in, insert_outgoing};
use crate::error::{Refusal, Result};
use crate::model::Author;
use crate::store::{OfficeMail, notify_in, transfer_in};

/// The email telling an office about a conversation moved to it.
#[derive(Debug, Clone)]
pub struct OfficeEmail {
    /// Subject line.
    pub subject: String,
    /// Body: the transcript.
    pub body: String,
}

/// What a transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transferred {
    /// The citizen's notice, unless they cannot be reached.
    pub citizen_message: Option<i64>,
    /// The office's email, when one was queued.
    pub office_email: Option<i64>,
}

impl Intake {
    /// Move conversation `id` to `office`'s queue (named `office_name` to the citizen): the
    /// operator holding it lets it go, the citizen is told in one sentence (`[texts]
    /// transferred`), and `email`, when given, is queued for the email channel to send.
    pub async fn transfer(
        &self,
        id: i64,
        office: &str,
        office_name: &str,
        actor: &str,
        email: Option<&OfficeEmail>,
    ) -> Result<Transferred> {
        let now = self.store.now_ms();
        let mut w = self.store.begin_write().await?;
        let done = async {
            let held = conversation_in(&mut w.tx, id)
                .await?
                .ok_or(Refusal::NoConversation(id))?;
            transfer_in(&mut w.tx, id, office, actor, now).await?;
            let citizen_message = if held.unreachable {
                None
            } else {
                let text = self
                    .policy
                    .texts()
                    .transferred
                    .replace("{ref}", &id.to_string())
                    .replace("{office}", office_name);
                let message = insert_outgoing(
                    &mut w.tx,
                    self.store.backend(),
                    &held.target(),
                    None,
                    id,
                    Author::Bot,
                    None,
                    &text,
                    &[],
                    now,
                )
                .await?;
                Some(message)
            };
            let office_email = match email {
                Some(e) => {
                    let mail = OfficeMail {
                        conversation_id: id,
                        office,
                        subject: &e.subject,
                        body: &e.body,
                        actor,
                    };
                    Some(notify_in(&mut w.tx, &mail, now).await?)
                }
                None => None,
            };
            Ok::<_, crate::Error>(Transferred {
                citizen_message,
                office_email,
            })
        }
        .await;
        match done {
            Ok(t) => {
                w.commit().await?;
                if t.citizen_message.is_some() {
                    self.outbox_ready.notify_one();
                }
                Ok(t)
            }
            Err(e) => {
                w.rollback().await?;
                Err(e)
            }
        }
    }
}
