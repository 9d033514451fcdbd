//! `/sheets`: the editors' workshop. Find sheets (search, tag, office, status), edit every
//! field with per-field checks and a preview per channel, keep changes as a draft that the
//! bot does not use, try a question against the published sheets and against the draft,
//! publish, and read or restore any revision.

pub mod diff;
pub mod form;
pub mod learn;
pub mod learn_view;
pub mod panels;
pub mod transfer;
pub mod view;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use sportello_faq::{Sheet, SheetStatus};

use crate::AppState;
use crate::api::sheets::{EDITORS, rebuild};
use crate::error::{Error, PageResult};
use crate::session::{Actor, Gate, PageActor, gate};
use form::{SheetForm, check};
use view::{Edit, Outcome, Preview, Trial};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sheets", get(list))
        .route("/sheets/new", get(new_page).post(create))
        .route("/sheets/{id}", get(edit_page).post(save))
        .route("/sheets/{id}/restore/{revision}", post(restore))
        .merge(learn::router())
        .merge(transfer::router())
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(EDITORS),
            gate,
        ))
}

/// The list's filters.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListQuery {
    /// Words in the id, title, answer or phrasings.
    #[serde(default)]
    pub q: String,
    /// A tag.
    #[serde(default)]
    pub tag: String,
    /// An office id.
    #[serde(default)]
    pub office: String,
    /// `published`, `draft` (not yet published) or `pending` (with unpublished changes).
    #[serde(default)]
    pub status: String,
}

async fn list(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let store = state.intake.store();
    let sheets = store.sheets().await?;
    let drafts = store.drafts().await?;
    let offices = store.offices().await?;
    Ok(view::list(&actor, &q, &sheets, &drafts, &offices).into_response())
}

/// The answer to this sheet exactly as the policy would send it on each channel, with that
/// channel's own capabilities.
fn previews(state: &AppState, sheet: &Sheet) -> Vec<Preview> {
    let policy = state.intake.policy();
    state
        .intake
        .registered()
        .into_iter()
        .map(|(channel, caps)| Preview {
            text: policy.answer_text(sheet, caps),
            channel,
            caps,
        })
        .collect()
}

/// What `matcher` decides for `text`.
fn outcome(matcher: &sportello_faq::Matcher, text: &str) -> Outcome {
    let d = matcher.decide(text);
    let candidates = d
        .candidates
        .iter()
        .take(5)
        .map(|c| {
            let title = matcher
                .sheet(&c.sheet_id)
                .map(|s| s.title.clone())
                .unwrap_or_default();
            (c.sheet_id.clone(), title, c.confidence)
        })
        .collect();
    Outcome {
        decision: d.kind.as_str().to_string(),
        confidence: d.confidence,
        candidates,
    }
}

/// Try the form's question against the published sheets and with this version in place.
async fn trial(state: &AppState, form: &SheetForm) -> Result<Option<Trial>, Error> {
    let text = form.try_text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut sheet = form.sheet(SheetStatus::Published);
    sheet.id = if sheet.id.is_empty() {
        "nuova-scheda".into()
    } else {
        sheet.id
    };
    let mut with_draft: Vec<Sheet> = state
        .intake
        .store()
        .published_sheets()
        .await?
        .into_iter()
        .filter(|s| s.id != sheet.id)
        .collect();
    with_draft.push(sheet);
    let knowledge = state.intake.policy().knowledge().clone();
    let published = knowledge.matcher();
    let question = text.to_string();
    // The draft's matcher embeds the draft's texts with the encoder: off the async threads.
    let (published, draft) = tokio::task::spawn_blocking(move || {
        let draft = knowledge.build(&with_draft);
        (outcome(&published, &question), outcome(&draft, &question))
    })
    .await
    .map_err(|e| Error::Internal(format!("trying the question failed: {e}")))?;
    Ok(Some(Trial {
        text: text.to_string(),
        published,
        draft,
    }))
}

async fn edit_data(state: &AppState, id: Option<&str>, form: SheetForm) -> Result<Edit, Error> {
    let store = state.intake.store();
    let (current, draft, revisions) = match id {
        Some(id) => (
            store.sheets().await?.into_iter().find(|s| s.sheet.id == id),
            store.draft(id).await?,
            store.sheet_revisions(id).await?,
        ),
        None => (None, None, Vec::new()),
    };
    let previews = previews(state, &form.sheet(SheetStatus::Published));
    Ok(Edit {
        id: id.map(str::to_string),
        form,
        errors: Default::default(),
        current,
        draft,
        revisions,
        offices: store.offices().await?,
        trial: None,
        previews,
    })
}

/// A new sheet's form can start from a citizen's question.
#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    /// The question, used as title and first phrasing.
    #[serde(default)]
    pub question: String,
}

async fn new_page(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<NewQuery>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let form = SheetForm {
        title: q.question.trim().to_string(),
        questions: q.question.trim().to_string(),
        ..SheetForm::default()
    };
    let data = edit_data(&state, None, form).await?;
    Ok(view::edit(&actor, &data).into_response())
}

async fn edit_page(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let store = state.intake.store();
    let form = match (
        store.draft(&id).await?,
        store.sheets().await?.into_iter().find(|s| s.sheet.id == id),
    ) {
        (Some(d), _) => SheetForm::of(&d.sheet),
        (None, Some(s)) => SheetForm::of(&s.sheet),
        (None, None) => return Err(Error::NotFound(format!("scheda {id:?}: non trovata")).into()),
    };
    let data = edit_data(&state, Some(&id), form).await?;
    Ok(view::edit(&actor, &data).into_response())
}

async fn create(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(form): Form<SheetForm>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let id = form.id.trim().to_string();
    let taken = !id.is_empty()
        && (state
            .intake
            .store()
            .sheets()
            .await?
            .iter()
            .any(|s| s.sheet.id == id)
            || state.intake.store().draft(&id).await?.is_some());
    apply(&state, &actor, None, form, taken).await
}

async fn save(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path(id): Path<String>,
    Form(mut form): Form<SheetForm>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    form.id = id.clone();
    apply(&state, &actor, Some(&id), form, false).await
}

/// Carry out the form's action: try, save a draft, publish or discard the draft.
async fn apply(
    state: &AppState,
    actor: &Actor,
    id: Option<&str>,
    form: SheetForm,
    taken: bool,
) -> PageResult<Response> {
    let store = state.intake.store();
    let offices = store.offices().await?;
    let sheet = form.sheet(SheetStatus::Published);
    let mut errors = if form.action == "try" {
        Default::default()
    } else {
        check(&sheet, &offices)
    };
    if taken {
        errors.insert("id".into(), "esiste già una scheda con questo id".into());
    }
    if errors.is_empty() {
        let target = format!("/sheets/{}", sheet.id);
        match form.action.as_str() {
            "draft" => {
                store.save_draft(&sheet, &actor.name).await?;
                return Ok(Redirect::to(&format!("{target}?saved=draft")).into_response());
            }
            "publish" => {
                store.publish_sheet(&sheet, &actor.name).await?;
                rebuild(state).await?;
                return Ok(Redirect::to(&target).into_response());
            }
            "discard" if id.is_some() => {
                store.discard_draft(&sheet.id).await?;
                return Ok(Redirect::to(&target).into_response());
            }
            _ => {}
        }
    }
    let trial = trial(state, &form).await?;
    let mut data = edit_data(state, id, form).await?;
    data.errors = errors;
    data.trial = trial;
    let status = if data.errors.is_empty() { 200 } else { 422 };
    let code = axum::http::StatusCode::from_u16(status).unwrap_or_default();
    Ok((code, view::edit(actor, &data)).into_response())
}

async fn restore(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, revision)): Path<(String, i64)>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let store = state.intake.store();
    let old = store
        .sheet_revisions(&id)
        .await?
        .into_iter()
        .find(|r| r.revision == revision)
        .ok_or_else(|| Error::NotFound(format!("revisione {revision} di {id:?}")))?;
    // A draft revision comes back as the draft; a published one is published again.
    if old.draft {
        store.save_draft(&old.sheet, &actor.name).await?;
    } else {
        store
            .save_sheets(std::slice::from_ref(&old.sheet), &actor.name)
            .await?;
        rebuild(&state).await?;
    }
    Ok(Redirect::to(&format!("/sheets/{id}?restored={revision}")).into_response())
}
