//! Emails to offices about conversations transferred to them: the console queues them in the
//! store (`office_notifications`), and the running email channel sends them over its SMTP
//! connection, one leased row at a time.

use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use lettre::message::Mailbox;
use sportello_core::channel::SendError;
use sportello_core::intake::Intake;
use sportello_core::store::{OfficeMailOutcome, OfficeNotificationRow};
use tokio_util::sync::CancellationToken;

use super::Email;
use super::text::header_safe;

/// Wait before retrying a transient failure.
const RETRY: Duration = Duration::from_secs(60);

/// How often to look for office emails (a read of one indexed row when there are none).
const POLL: Duration = Duration::from_secs(2);

impl Email {
    /// Send waiting office emails until `shutdown`, looking for them every [`POLL`].
    pub(super) async fn send_office_mail(&self, intake: Arc<Intake>, shutdown: CancellationToken) {
        loop {
            loop {
                match intake.store().lease_office_notification().await {
                    Ok(Some(row)) => self.send_one(&intake, &row).await,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "email: reading office emails");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn send_one(&self, intake: &Intake, row: &OfficeNotificationRow) {
        let outcome = match self.office_message(row) {
            Err(reason) => Err(SendError::Permanent {
                reason,
                unreachable: false,
            }),
            Ok(message) => self.smtp.send(&message).await,
        };
        let text;
        let outcome = match &outcome {
            Ok(()) => OfficeMailOutcome::Sent,
            Err(SendError::Permanent { reason, .. }) => OfficeMailOutcome::Failed(reason),
            Err(e) => {
                text = e.to_string();
                OfficeMailOutcome::Retry {
                    reason: &text,
                    retry_ms: RETRY.as_millis() as i64,
                }
            }
        };
        if let Err(e) = intake
            .store()
            .finish_office_notification(row.id, outcome)
            .await
        {
            tracing::warn!(error = %e, id = row.id, "email: recording an office email");
        }
    }

    /// The email to the office: from the channel's address, plain text.
    fn office_message(&self, row: &OfficeNotificationRow) -> Result<Message, String> {
        let from: Mailbox = Mailbox::new(
            Some(header_safe(&self.config.from_name)),
            self.config
                .address
                .parse()
                .map_err(|e| format!("email.address: {e}"))?,
        );
        let to: Mailbox = header_safe(&row.recipient)
            .parse()
            .map_err(|e| format!("office address {:?}: {e}", row.recipient))?;
        Message::builder()
            .from(from)
            .to(to)
            .subject(header_safe(&row.subject))
            .body(row.body.clone())
            .map_err(|e| e.to_string())
    }
}
