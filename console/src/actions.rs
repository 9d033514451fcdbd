//! What operators do to a conversation, behind both the pages and the API: each checks the
//! actor's role and hold on the conversation, acts through the store or intake (which write
//! the audit log), and tells live views.

use sportello_core::Refusal;
use sportello_core::model::{ConversationStatus, Role};
use sportello_core::store::ConversationRow;

use crate::AppState;
use crate::error::Error;
use crate::session::Actor;

/// Roles that work conversations.
pub const OPERATORS: &[Role] = &[Role::Operator];

/// The user an actor acts as: a session's user, or for an API token the active user of the
/// same name (claiming and replying need a person to hold the conversation).
async fn user_id(state: &AppState, actor: &Actor) -> Result<i64, Error> {
    if let Some(id) = actor.user_id {
        return Ok(id);
    }
    state.intake.store().active_user_id(&actor.name).await?.ok_or_else(|| {
        Error::Forbidden(format!(
            "{} (il token {:?} non corrisponde a un utente: per prendere in carico o rispondere \
             crea il token con il nome di un operatore)",
            actor.role.as_str(),
            actor.name
        ))
    })
}

/// "Already taken by X" for a conversation someone else holds.
pub fn taken_message(c: &ConversationRow) -> String {
    crate::error::italian(&Refusal::NotWaiting {
        conversation: c.id,
        status: c.status,
        holder: c.assignee.clone(),
    })
}

/// Only the holder (or an admin) may act on an assigned conversation.
fn check_holder(c: &ConversationRow, actor: &Actor) -> Result<(), Error> {
    if c.status == ConversationStatus::Assigned
        && c.assignee.as_deref() != Some(actor.name.as_str())
        && actor.role != Role::Admin
    {
        return Err(Error::Conflict(taken_message(c)));
    }
    Ok(())
}

/// Take a conversation from the queue. 409 when someone else has it.
pub async fn claim(state: &AppState, actor: &Actor, id: i64) -> Result<(), Error> {
    actor.require(OPERATORS)?;
    let store = state.intake.store();
    let uid = user_id(state, actor).await?;
    store.claim(id, uid, &actor.name).await?;
    state.events.notify();
    Ok(())
}

/// Put a conversation one holds back in the queue.
pub async fn release(state: &AppState, actor: &Actor, id: i64) -> Result<(), Error> {
    actor.require(OPERATORS)?;
    let store = state.intake.store();
    let c = store.conversation(id).await?;
    if c.status != ConversationStatus::Assigned {
        return Err(Error::Conflict(
            "La conversazione non è presa in carico.".into(),
        ));
    }
    check_holder(&c, actor)?;
    store.release(id, &actor.name).await?;
    state.events.notify();
    Ok(())
}

/// Reply to the citizen on their channel; the operator must hold the conversation.
pub async fn reply(state: &AppState, actor: &Actor, id: i64, text: &str) -> Result<i64, Error> {
    actor.require(OPERATORS)?;
    let store = state.intake.store();
    let c = store.conversation(id).await?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Invalid("La risposta è vuota.".into()));
    }
    let caps = state.intake.caps(&c.channel);
    let (limit, len) = (caps.text_limit, (caps.length)(text));
    if len > limit {
        return Err(Error::Invalid(format!(
            "La risposta ha {len} caratteri: il canale ne accetta al massimo {limit}."
        )));
    }
    let uid = user_id(state, actor).await?;
    if c.status != ConversationStatus::Assigned
        || c.assignee.as_deref() != Some(actor.name.as_str())
    {
        return Err(Error::Conflict(match c.status {
            ConversationStatus::Assigned => taken_message(&c),
            _ => "Prendi in carico la conversazione prima di rispondere.".into(),
        }));
    }
    let message = state
        .intake
        .operator_reply(id, uid, &actor.name, text)
        .await?;
    state.events.notify();
    Ok(message)
}

/// Close a conversation; intake also asks the citizen, once, for a rating.
pub async fn resolve(state: &AppState, actor: &Actor, id: i64) -> Result<(), Error> {
    actor.require(OPERATORS)?;
    let store = state.intake.store();
    check_holder(&store.conversation(id).await?, actor)?;
    state.intake.resolve(id, &actor.name).await?;
    state.events.notify();
    Ok(())
}

/// What a transfer did, for the operator's notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// The office's email, when the email channel runs and will send it.
    pub office_email: Option<i64>,
    /// Whether the citizen was told.
    pub citizen_told: bool,
}

/// Move a conversation to an office's queue: whoever held it lets it go, the citizen is told
/// in one sentence, and the office gets the transcript by email when the email channel runs.
pub async fn transfer(
    state: &AppState,
    actor: &Actor,
    id: i64,
    office: &str,
) -> Result<Transfer, Error> {
    actor.require(OPERATORS)?;
    let store = state.intake.store();
    let c = store.conversation(id).await?;
    check_holder(&c, actor)?;
    let offices = store.offices().await?;
    let Some(o) = offices.iter().find(|o| o.id == office) else {
        let message = if office.is_empty() {
            "Scegli l'ufficio a cui trasferire la conversazione.".to_string()
        } else {
            format!("Ufficio sconosciuto: {office:?}.")
        };
        return Err(Error::Fields {
            message,
            fields: [("office".to_string(), "scegli un ufficio".to_string())].into(),
        });
    };
    // An email only when it can leave: the email channel runs and the office has an address.
    let email_runs = state.channels.iter().any(|c| c == "email");
    let email = if email_runs && !o.email.is_empty() {
        Some(sportello_core::intake::OfficeEmail {
            subject: format!("[Sportello] Conversazione n. {id} trasferita a {}", o.name),
            body: transcript(state, &c).await?,
        })
    } else {
        None
    };
    let done = state
        .intake
        .transfer(id, &o.id, &o.name, &actor.name, email.as_ref())
        .await?;
    state.events.notify();
    Ok(Transfer {
        office_email: done.office_email,
        citizen_told: done.citizen_message.is_some(),
    })
}

/// The transcript an office receives, as plain text.
async fn transcript(state: &AppState, c: &ConversationRow) -> Result<String, Error> {
    let mut out = format!(
        "Conversazione n. {} ({}), cittadino: {}\n",
        c.id,
        crate::views::channel_label(&c.channel),
        c.contact_name
    );
    if let Some(s) = &c.subject {
        out.push_str(&format!("Oggetto: {s}\n"));
    }
    for m in state.intake.store().messages(c.id).await? {
        let (date, clock) = crate::views::utc(m.created_at);
        let who = match (m.author.as_str(), &m.operator) {
            ("citizen", _) => "Cittadino".to_string(),
            ("bot", _) => "Assistente automatico".to_string(),
            (_, Some(op)) => format!("Operatore {op}"),
            _ => "Operatore".to_string(),
        };
        out.push_str(&format!("\n[{date} {clock} UTC] {who}:\n{}\n", m.text));
    }
    Ok(out)
}

/// Longest internal note, in characters.
pub const NOTE_LIMIT: usize = 5_000;

/// Longest phrasing an operator may propose to teach the bot, in characters.
pub const PHRASING_LIMIT: usize = sportello_faq::LINE_MAX;

/// Refuse a text longer than `limit` characters, saying what it is.
fn within(what: &str, text: &str, limit: usize) -> Result<(), Error> {
    let len = text.chars().count();
    if len > limit {
        return Err(Error::Invalid(format!(
            "{what} ha {len} caratteri: al massimo {limit}."
        )));
    }
    Ok(())
}

/// Add an internal note.
pub async fn note(state: &AppState, actor: &Actor, id: i64, text: &str) -> Result<i64, Error> {
    actor.require(OPERATORS)?;
    if text.trim().is_empty() {
        return Err(Error::Invalid("La nota è vuota.".into()));
    }
    within("La nota", text, NOTE_LIMIT)?;
    Ok(state.intake.store().add_note(id, &actor.name, text).await?)
}

/// "Teach the bot": propose a citizen's question (a message of this conversation, by
/// default the one that caused the handoff) as a phrasing of a sheet, in the operator's
/// words when they edited it. A request for a person or a greeting is never proposed.
pub async fn teach(
    state: &AppState,
    actor: &Actor,
    id: i64,
    sheet: &str,
    message: Option<i64>,
    phrasing: Option<&str>,
) -> Result<i64, Error> {
    actor.require(OPERATORS)?;
    let store = state.intake.store();
    let messages = store.messages(id).await?;
    let default = store
        .triage(&[id])
        .await?
        .remove(&id)
        .and_then(|t| t.question_message);
    let wanted = message.or(default);
    let question = messages
        .iter()
        .filter(|m| m.author == "citizen")
        .filter(|m| sportello_core::store::is_question(m.decision.as_deref(), m.reason.as_deref()))
        .find(|m| Some(m.id) == wanted)
        .ok_or_else(|| Error::Invalid("Nessuna domanda del cittadino da proporre.".into()))?;
    if let Some(p) = phrasing {
        within("La domanda proposta", p, PHRASING_LIMIT)?;
    }
    let text = phrasing.unwrap_or(&question.text);
    Ok(store
        .propose_phrasing(sheet, text, id, Some(question.id), &actor.name)
        .await?)
}

/// Try a failed delivery of this conversation again.
pub async fn retry(state: &AppState, actor: &Actor, id: i64, outbox: i64) -> Result<(), Error> {
    actor.require(OPERATORS)?;
    let store = state.intake.store();
    if !store.outbox_of(id).await?.iter().any(|o| o.id == outbox) {
        return Err(Error::NotFound(format!(
            "invio {outbox} della conversazione {id}: non trovato"
        )));
    }
    if !store.outbox_requeue(outbox).await? {
        return Err(Error::Conflict("L'invio non è in errore.".into()));
    }
    store
        .audit(
            &actor.name,
            "retry",
            &format!("conversation:{id}"),
            &serde_json::json!({ "outbox": outbox }),
        )
        .await?;
    state.intake.outbox_ready().notify_one();
    Ok(())
}
