//! One fetched email through intake: parse, keep its attachments, route a bounce to the
//! outbox row it reports, find the conversation it belongs to, decide whether it may be
//! answered, and hand it to intake with the channel's cursor.

use sportello_core::config::EmailConfig;
use sportello_core::error::Result;
use sportello_core::intake::{Intake, Receipt};
use sportello_core::model::{Action, Attachment, Inbound, Sender};
use sportello_core::store::NewEmailAttachment;

use super::NAME;
use super::parse::{Mail, Pec, parse};
use super::text::normalize_subject;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Store one raw email; `cursor` is the channel's cursor once it is committed.
pub async fn receive(
    intake: &Intake,
    config: &EmailConfig,
    raw: Vec<u8>,
    cursor: String,
) -> Result<Receipt> {
    let office = config.address.clone();
    // Parsing a large message is CPU work: keep it off the async workers.
    let mail = tokio::task::spawn_blocking(move || parse(&raw, &office))
        .await
        .map_err(|e| sportello_core::Error::Invalid(format!("parsing an email failed: {e}")))?;
    let store = intake.store();
    log(&mail);

    let mut thread = None;
    if let Some(bounce) = &mail.bounce
        && bounce.failed
        && let Some(original) = &bounce.original_id
        && let Some(row) = store.email_outbox_of(original).await?
    {
        let reason = format!("bounce: {}", bounce.diagnostic);
        tracing::warn!(outbox = row, diagnostic = %bounce.diagnostic, "email bounced: recipient unreachable");
        store.outbox_failed(row, None, &reason, true).await?;
        thread = store.email_outbox_thread(row).await?;
    }
    if thread.is_none() {
        thread = store.email_thread_of(&mail.references).await?;
    }
    let thread = thread.unwrap_or_else(|| {
        format!(
            "{}|{}",
            mail.from_address,
            normalize_subject(mail.subject.as_deref().unwrap_or(""))
        )
    });

    let attachments = save_attachments(intake, config, &mail).await?;
    let capped = mail.no_reply.is_none() && !mail.from_address.is_empty() && {
        let since = store.now_ms() - DAY_MS;
        let sent = store
            .email_auto_replies_since(&mail.from_address, since)
            .await?;
        sent >= i64::from(config.auto_replies_per_sender_per_day)
    };
    if capped {
        tracing::info!(platform_id = %mail.platform_id, "daily automatic replies to this sender reached: to operators only");
    }
    let quiet = mail.no_reply.is_some() || capped;
    let action = if quiet {
        Action::Quiet
    } else if mail.reply_text.trim().is_empty() && !attachments.is_empty() {
        Action::Attachment
    } else {
        Action::Message
    };
    // Matching reads the citizen's own words; the whole text (quoted history, signature)
    // is kept in `raw` for operators when it differs.
    let (text, raw) = if quiet || mail.reply_text.is_empty() || mail.reply_text == mail.text {
        (mail.text.clone(), None)
    } else {
        (
            mail.reply_text.clone(),
            Some(mail.text.clone().into_bytes()),
        )
    };
    let external_id = if mail.from_address.is_empty() {
        "(senza mittente)".to_string()
    } else {
        mail.from_address.clone()
    };
    let inbound = Inbound {
        channel: NAME.into(),
        platform_id: mail.platform_id.clone(),
        sender: Sender {
            external_id,
            display_name: mail.from_name.clone(),
        },
        thread,
        subject: mail.subject.clone(),
        text,
        raw,
        attachments,
        action,
        cursor: Some(cursor),
    };
    intake.receive(inbound).await
}

fn log(mail: &Mail) {
    let pec = match &mail.pec {
        None => "",
        Some(Pec::Message) => "message",
        Some(Pec::Receipt(_)) => "receipt",
    };
    tracing::debug!(
        platform_id = %mail.platform_id,
        attachments = mail.attachments.len(),
        no_reply = mail.no_reply.unwrap_or(""),
        pec,
        "email fetched"
    );
    if !mail.problems.is_empty() {
        tracing::warn!(
            platform_id = %mail.platform_id,
            problems = ?mail.problems,
            "malformed email: stored as received for operators"
        );
    }
}

/// Keep the attachments' bytes up to `email.attachment_limit` for the whole message, in
/// order; beyond it, only name, type and size, with a note.
async fn save_attachments(
    intake: &Intake,
    config: &EmailConfig,
    mail: &Mail,
) -> Result<Vec<Attachment>> {
    if mail.attachments.is_empty() {
        return Ok(Vec::new());
    }
    let mut budget = config.attachment_limit;
    let rows: Vec<NewEmailAttachment> = mail
        .attachments
        .iter()
        .map(|part| {
            let size = part.data.len() as u64;
            let fits = size <= budget;
            if fits {
                budget -= size;
            } else {
                tracing::info!(platform_id = %mail.platform_id, name = %part.name, size, "attachment over email.attachment_limit: recorded without its bytes");
            }
            NewEmailAttachment {
                name: Some(part.name.clone()),
                mime: Some(part.mime.clone()),
                size,
                data: fits.then(|| part.data.clone()),
                note: (!fits).then(|| {
                    format!(
                        "allegato oltre il limite di {} byte per messaggio: non conservato",
                        config.attachment_limit
                    )
                }),
            }
        })
        .collect();
    let ids = intake
        .store()
        .email_save_attachments(&mail.platform_id, &rows)
        .await?;
    Ok(rows
        .iter()
        .zip(ids)
        .map(|(row, id)| Attachment {
            kind: if row.data.is_some() {
                "file".into()
            } else {
                "file-not-stored".into()
            },
            reference: format!("email-attachment:{id}"),
            name: row.name.clone(),
            mime: row.mime.clone(),
            size: Some(row.size),
        })
        .collect())
}
