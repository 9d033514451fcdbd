//! `/conversations/{id}`: the whole conversation, and the operator's actions as plain forms
//! (each answers with a redirect back to the page, or the page with the error).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sportello_core::store::{
    ConversationRow, FeedbackRow, MessageRow, NoteRow, OfficeNotificationRow, OutboxRow,
    PhrasingRow, Triage,
};
use sportello_faq::{Office, Sheet};

use crate::AppState;
use crate::actions;
use crate::error::{Error, PageResult};
use crate::session::{Actor, Gate, PageActor, gate};
use crate::views;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations/{id}", get(page))
        .route("/conversations/{id}/snippet", get(snippet))
        .route("/conversations/{id}/insert", post(insert))
        .route("/conversations/{id}/{action}", post(act))
        .route("/conversations/{id}/outbox/{outbox}/retry", post(retry))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(actions::OPERATORS),
            gate,
        ))
}

/// Everything the conversation page shows.
pub struct Loaded {
    /// The conversation.
    pub conversation: ConversationRow,
    /// How the citizen can be reached, and whether their chat page is open.
    pub reach: sportello_core::store::Reach,
    /// Its messages.
    pub messages: Vec<MessageRow>,
    /// Its deliveries.
    pub outbox: Vec<OutboxRow>,
    /// Internal notes.
    pub notes: Vec<NoteRow>,
    /// Emails to offices.
    pub notifications: Vec<OfficeNotificationRow>,
    /// Phrasings proposed from it.
    pub phrasings: Vec<PhrasingRow>,
    /// The citizen's other conversations.
    pub others: Vec<ConversationRow>,
    /// Offices to transfer to.
    pub offices: Vec<Office>,
    /// Published sheets, to insert an answer or teach the bot.
    pub sheets: Vec<Sheet>,
    /// The channel's text limit.
    pub limit: usize,
    /// Whether the channel counts length its own way (X: links 23, wide characters 2).
    pub weighted: bool,
    /// Whether a reply will be public (X, to a citizen who does not accept direct messages).
    pub public: bool,
    /// Canned replies.
    pub canned: Vec<String>,
    /// The citizen's 👍/👎 and rating.
    pub feedback: Vec<FeedbackRow>,
    /// What the conversation is about (first question, handoff reason).
    pub triage: Option<Triage>,
    /// The handoff reason in Italian.
    pub reason_label: Option<&'static str>,
    /// The sheet the bot found best for the question taught by default.
    pub best_sheet: Option<String>,
    /// The last failure of office emails, by id.
    pub notification_errors: Vec<(i64, String)>,
}

/// Read everything about a conversation.
pub async fn load(state: &AppState, id: i64) -> Result<Loaded, Error> {
    let store = state.intake.store();
    let conversation = store.conversation(id).await?;
    let caps = state.intake.caps(&conversation.channel);
    let public = conversation.channel == "x" && store.x_reply_is_public(id).await?;
    let triage = store.triage(&[id]).await?.remove(&id);
    let matcher = state.intake.policy().matcher();
    let reason_label = triage.as_ref().map(|t| {
        let sheet = t.sheet.as_deref().and_then(|s| matcher.sheet(s));
        views::labels::handoff(t.reason, sheet)
    });
    let messages = store.messages(id).await?;
    let best_sheet = best_sheet(&messages, triage.as_ref());
    Ok(Loaded {
        feedback: store.conversation_feedback(id).await?,
        notification_errors: store.office_notification_errors(id).await?,
        triage,
        reason_label,
        best_sheet,
        messages,
        outbox: store.outbox_of(id).await?,
        notes: store.notes(id).await?,
        notifications: store.office_notifications(id).await?,
        phrasings: store.proposed_phrasings(id).await?,
        others: store.contact_conversations(id, 20).await?,
        offices: store.offices().await?,
        sheets: store.published_sheets().await?,
        limit: caps.text_limit,
        weighted: caps.short_answers,
        public,
        canned: state.console.canned.clone(),
        reach: store.reach(id).await?,
        conversation,
    })
}

/// The bot's best sheet for the question "Insegna al bot" proposes: the first candidate the
/// matcher considered for it, else the sheet the handoff came from.
fn best_sheet(messages: &[MessageRow], triage: Option<&Triage>) -> Option<String> {
    let t = triage?;
    let asked = messages
        .iter()
        .find(|m| Some(m.id) == t.question_message)
        .and_then(|m| m.candidates.as_ref())
        .and_then(|c| {
            c.as_array()?
                .first()?
                .get("sheet_id")?
                .as_str()
                .map(str::to_string)
        });
    asked.or_else(|| t.sheet.clone())
}

/// What the page's query may ask: fill the reply box from a sheet or a canned reply, or
/// show the outcome of the last action.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// A sheet whose answer fills the reply box.
    #[serde(default)]
    pub insert: String,
    /// A canned reply (index) that fills the reply box.
    #[serde(default)]
    pub canned: String,
    /// The action just done.
    #[serde(default)]
    pub done: String,
}

async fn page(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> PageResult<Response> {
    actor.require(actions::OPERATORS)?;
    let loaded = load(&state, id).await?;
    let draft = snippet_text(&state, &loaded, &q.insert, &q.canned).unwrap_or_default();
    Ok(
        views::conversation::page(&actor, &loaded, &draft, done_notice(&q.done), None)
            .into_response(),
    )
}

/// A sheet's answer for the conversation's channel, or a canned reply, with `{nome}` (the
/// citizen's name) and `{rif}` (the reference number) filled in.
fn snippet_text(state: &AppState, loaded: &Loaded, sheet: &str, canned: &str) -> Option<String> {
    let text = if let Some(sheet) = loaded.sheets.iter().find(|s| s.id == sheet) {
        let caps = state.intake.caps(&loaded.conversation.channel);
        state.intake.policy().answer_text(sheet, caps)
    } else {
        canned
            .parse::<usize>()
            .ok()
            .and_then(|i| loaded.canned.get(i).cloned())?
    };
    Some(fill_placeholders(&text, &loaded.conversation))
}

/// `{nome}` and `{rif}` (also `{ref}`) of a reply, for this conversation; with no name
/// known, `{nome}` goes with the space before it ("Buongiorno {nome}," → "Buongiorno,").
pub fn fill_placeholders(text: &str, c: &ConversationRow) -> String {
    let name = c.contact_name.trim();
    let text = if name.is_empty() {
        text.replace(" {nome}", "").replace("{nome}", "")
    } else {
        text.replace("{nome}", name)
    };
    let reference = c.id.to_string();
    text.replace("{rif}", &reference)
        .replace("{ref}", &reference)
}

/// What to insert, as the reply box's script asks for it.
#[derive(Debug, Default, Deserialize)]
pub struct SnippetQuery {
    /// A sheet id.
    #[serde(default)]
    pub insert: String,
    /// A canned reply's index.
    #[serde(default)]
    pub canned: String,
}

/// `GET /conversations/{id}/snippet?insert=SHEET|canned=N`: the text alone, for the reply
/// box's script to insert where the cursor is, without reloading the page.
async fn snippet(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Query(q): Query<SnippetQuery>,
) -> PageResult<Response> {
    actor.require(actions::OPERATORS)?;
    let loaded = load(&state, id).await?;
    match snippet_text(&state, &loaded, &q.insert, &q.canned) {
        Some(text) => Ok(text.into_response()),
        None => Err(Error::NotFound("testo da inserire: non trovato".into()).into()),
    }
}

/// The form the reply box posts when "Inserisci" is pressed without the script: the text
/// typed so far, and what to add to it.
#[derive(Debug, Default, Deserialize)]
pub struct InsertForm {
    /// The reply box's text so far.
    #[serde(default)]
    pub text: String,
    /// `sheet` or `canned`: which of the two buttons was pressed.
    #[serde(default)]
    pub kind: String,
    /// A sheet id.
    #[serde(default)]
    pub insert: String,
    /// A canned reply's index.
    #[serde(default)]
    pub canned: String,
}

/// Without JavaScript, inserting posts the text typed so far: the page comes back with the
/// text kept and the snippet added after it.
async fn insert(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(f): Form<InsertForm>,
) -> PageResult<Response> {
    actor.require(actions::OPERATORS)?;
    let loaded = load(&state, id).await?;
    let (sheet, canned) = match f.kind.as_str() {
        "canned" => ("", f.canned.as_str()),
        _ => (f.insert.as_str(), ""),
    };
    let added = snippet_text(&state, &loaded, sheet, canned).unwrap_or_default();
    let kept = f.text.trim_end();
    let draft = match (kept.is_empty(), added.is_empty()) {
        (true, _) => added,
        (false, true) => kept.to_string(),
        (false, false) => format!("{kept}\n\n{added}"),
    };
    Ok(views::conversation::page(&actor, &loaded, &draft, None, None).into_response())
}

fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "claim" => "Conversazione presa in carico.",
        "release" => "Conversazione rimessa in coda.",
        "reply" => "Risposta inviata: è in consegna sul canale del cittadino.",
        "resolve" => "Conversazione risolta.",
        "transfer" => {
            "Conversazione trasferita: è nella coda dell'ufficio e il cittadino è stato avvisato. \
             L'email all'ufficio è in invio."
        }
        "transfer-nomail" => {
            "Conversazione trasferita: è nella coda dell'ufficio e il cittadino è stato avvisato. \
             Nessuna email all'ufficio: il canale email non è attivo."
        }
        "note" => "Nota interna aggiunta.",
        "teach" => "Proposta inviata ai redattori.",
        "retry" => "Invio rimesso in coda.",
        _ => return None,
    })
}

/// Any of the page's forms.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// Reply or note text.
    #[serde(default)]
    pub text: String,
    /// Office to transfer to.
    #[serde(default)]
    pub office: String,
    /// Sheet that answers the question.
    #[serde(default)]
    pub sheet: String,
    /// The citizen's message to teach from.
    #[serde(default)]
    pub message: String,
    /// The phrasing to propose, as the operator edited it (empty: the message's text).
    #[serde(default)]
    pub phrasing: String,
}

/// Where the page scrolls to after an action: back to the part the operator used.
fn anchor(action: &str) -> &'static str {
    match action {
        "claim" | "reply" => "#latest",
        "note" => "#notes-title",
        "teach" => "#teach-title",
        "transfer" => "#transfer-title",
        _ => "",
    }
}

/// Run an action; the `done` code of its notice.
async fn run(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
    f: &ActionForm,
) -> Result<&'static str, Error> {
    match action {
        "claim" => actions::claim(state, actor, id).await.map(|()| "claim"),
        "release" => actions::release(state, actor, id).await.map(|()| "release"),
        "reply" => actions::reply(state, actor, id, &f.text)
            .await
            .map(|_| "reply"),
        "resolve" => actions::resolve(state, actor, id).await.map(|()| "resolve"),
        "transfer" => actions::transfer(state, actor, id, &f.office)
            .await
            .map(|t| match t.office_email {
                Some(_) => "transfer",
                None => "transfer-nomail",
            }),
        "note" => actions::note(state, actor, id, &f.text)
            .await
            .map(|_| "note"),
        "teach" => actions::teach(
            state,
            actor,
            id,
            &f.sheet,
            f.message.parse().ok(),
            Some(f.phrasing.as_str()).filter(|p| !p.trim().is_empty()),
        )
        .await
        .map(|_| "teach"),
        _ => Err(Error::NotFound(format!("azione {action:?}: non trovata"))),
    }
}

async fn act(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> PageResult<Response> {
    actor.require(actions::OPERATORS)?;
    match run(&state, &actor, id, &action, &form).await {
        Ok(done) => Ok(Redirect::to(&format!(
            "/conversations/{id}?done={done}{}",
            anchor(&action)
        ))
        .into_response()),
        Err(e @ (Error::Conflict(_) | Error::Invalid(_) | Error::Fields { .. })) => {
            let loaded = load(&state, id).await?;
            // Keep what the operator typed in the reply box.
            let draft = if action == "reply" {
                form.text.clone()
            } else {
                String::new()
            };
            let page =
                views::conversation::page(&actor, &loaded, &draft, None, Some(&e.to_string()));
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn retry(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, outbox)): Path<(i64, i64)>,
) -> PageResult<Response> {
    actions::retry(&state, &actor, id, outbox).await?;
    Ok(Redirect::to(&format!("/conversations/{id}?done=retry#deliveries")).into_response())
}

#[cfg(test)]
mod tests {
    use sportello_core::model::ConversationStatus;

    use super::*;

    fn conversation(name: &str) -> ConversationRow {
        ConversationRow {
            id: 42,
            channel: "telegram".into(),
            thread: "t".into(),
            contact: "c".into(),
            contact_name: name.into(),
            unreachable: false,
            subject: None,
            status: ConversationStatus::Assigned,
            assignee: None,
            office: None,
            opened_at: 0,
            escalated_at: None,
            first_response_at: None,
            resolved_at: None,
            last_message_at: 0,
        }
    }

    #[test]
    fn placeholders_become_the_name_and_the_reference() {
        let text = "Buongiorno {nome}, la sua pratica (rif. {rif}) è in corso.";
        assert_eq!(
            fill_placeholders(text, &conversation("Anna Rossi")),
            "Buongiorno Anna Rossi, la sua pratica (rif. 42) è in corso."
        );
    }

    #[test]
    fn an_unknown_name_leaves_no_gap() {
        assert_eq!(
            fill_placeholders("Buongiorno {nome}, grazie.", &conversation(" ")),
            "Buongiorno, grazie."
        );
    }
}
