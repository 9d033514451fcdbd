//! `/conversations/{id}`: the whole conversation, and the operator's actions as plain forms
//! (each answers with a redirect back to the page, or the page with the error).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sportello_core::store::{
    ConversationRow, MessageRow, NoteRow, OfficeNotificationRow, OutboxRow, PhrasingRow,
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
}

/// Read everything about a conversation.
pub async fn load(state: &AppState, id: i64) -> Result<Loaded, Error> {
    let store = state.intake.store();
    let conversation = store.conversation(id).await?;
    let caps = state.intake.caps(&conversation.channel);
    let public = conversation.channel == "x" && store.x_reply_is_public(id).await?;
    Ok(Loaded {
        messages: store.messages(id).await?,
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
    let draft = draft(&state, &loaded, &q);
    Ok(
        views::conversation::page(&actor, &loaded, &draft, done_notice(&q.done), None)
            .into_response(),
    )
}

/// The reply box's starting text.
fn draft(state: &AppState, loaded: &Loaded, q: &PageQuery) -> String {
    if let Some(sheet) = loaded.sheets.iter().find(|s| s.id == q.insert) {
        let caps = state.intake.caps(&loaded.conversation.channel);
        return state.intake.policy().answer_text(sheet, caps);
    }
    q.canned
        .parse::<usize>()
        .ok()
        .and_then(|i| loaded.canned.get(i).cloned())
        .unwrap_or_default()
}

fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "claim" => "Conversazione presa in carico.",
        "release" => "Conversazione rimessa in coda.",
        "reply" => "Risposta inviata: è in consegna sul canale del cittadino.",
        "resolve" => "Conversazione risolta.",
        "transfer" => "Conversazione trasferita: l'email all'ufficio è in attesa di invio.",
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
}

async fn run(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: &str,
    f: &ActionForm,
) -> Result<(), Error> {
    match action {
        "claim" => actions::claim(state, actor, id).await,
        "release" => actions::release(state, actor, id).await,
        "reply" => actions::reply(state, actor, id, &f.text).await.map(drop),
        "resolve" => actions::resolve(state, actor, id).await,
        "transfer" => actions::transfer(state, actor, id, &f.office)
            .await
            .map(drop),
        "note" => actions::note(state, actor, id, &f.text).await.map(drop),
        "teach" => actions::teach(state, actor, id, &f.sheet, f.message.parse().ok())
            .await
            .map(drop),
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
        Ok(()) => Ok(Redirect::to(&format!("/conversations/{id}?done={action}")).into_response()),
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
    Ok(Redirect::to(&format!("/conversations/{id}?done=retry")).into_response())
}
