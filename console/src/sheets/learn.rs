//! `/sheets/learn`: what editors learn from. Phrasings operators proposed, to approve (added
//! to the sheet and published) or reject; and citizens' questions that nothing matched over
//! a period, grouped by similar words and by frequency, each group one step from a new sheet
//! or a new phrasing of an existing one.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router};
use serde::Deserialize;
use sportello_core::store::UnansweredRow;

use crate::AppState;
use crate::api::sheets::{EDITORS, rebuild};
use crate::error::{Error, PageResult};
use crate::session::{Actor, Gate, PageActor, gate};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/sheets/learn", get(page))
        .route("/sheets/learn/phrasings/{id}/{verdict}", post(decide))
        .route("/sheets/learn/teach", post(teach))
        .route("/sheets/learn/verdict", post(verdict))
        .route_layer(axum::middleware::from_fn_with_state(
            Gate::page(EDITORS),
            gate,
        ))
}

/// Questions that share most of their words.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The first question seen (the most recent).
    pub text: String,
    /// How many questions the group holds.
    pub count: usize,
    /// A few of them.
    pub examples: Vec<String>,
    words: BTreeSet<String>,
}

/// A question's normalised words.
fn words_of(text: &str) -> BTreeSet<String> {
    sportello_faq::analysis::fingerprint(text)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Whether two sets of words overlap by at least half (Jaccard).
fn similar(a: &BTreeSet<String>, b: &BTreeSet<String>) -> bool {
    let shared = a.intersection(b).count();
    let all = a.union(b).count();
    all > 0 && shared * 2 >= all
}

impl Group {
    /// Whether `question` belongs in this group (an editor's verdict on it covers the group).
    pub fn covers(&self, question: &str) -> bool {
        similar(&self.words, &words_of(question))
    }
}

/// Group questions whose normalised words overlap by at least half (Jaccard), the largest
/// groups first.
pub fn group(questions: &[UnansweredRow]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for q in questions {
        let words = words_of(&q.text);
        if words.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|g| similar(&g.words, &words)) {
            Some(g) => {
                g.count += 1;
                if g.examples.len() < 3 && !g.examples.contains(&q.text) {
                    g.examples.push(q.text.clone());
                }
            }
            None => groups.push(Group {
                text: q.text.clone(),
                count: 1,
                examples: vec![q.text.clone()],
                words,
            }),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

/// The period, in days back from now.
#[derive(Debug, Default, Deserialize)]
pub struct LearnQuery {
    /// Days (default 30).
    #[serde(default)]
    pub days: Option<i64>,
}

async fn page(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Query(q): Query<LearnQuery>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let store = state.intake.store();
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let now = store.now_ms();
    let questions = store
        .unanswered(now - days * 86_400_000, now + 1, 5_000)
        .await?;
    let pending = store.pending_phrasings().await?;
    let sheets = store.sheets().await?;
    let verdicts = store.learn_verdicts().await?;
    let groups: Vec<Group> = group(&questions)
        .into_iter()
        .filter(|g| !verdicts.iter().any(|v| g.covers(&v.question)))
        .collect();
    Ok(
        super::learn_view::page(&actor, days, &pending, &groups, &sheets, &verdicts)
            .into_response(),
    )
}

/// Add `text` as a phrasing of `sheet_id`, publish the sheet, and keep a draft in step.
async fn add_phrasing(
    state: &AppState,
    actor: &Actor,
    sheet_id: &str,
    text: &str,
) -> Result<(), Error> {
    let store = state.intake.store();
    let mut sheet = store
        .sheets()
        .await?
        .into_iter()
        .find(|s| s.sheet.id == sheet_id)
        .ok_or_else(|| Error::NotFound(format!("scheda {sheet_id:?}: non trovata")))?
        .sheet;
    if sheet.add_phrasing(text) {
        store
            .save_sheets(std::slice::from_ref(&sheet), &actor.name)
            .await?;
        rebuild(state).await?;
    }
    if let Some(mut draft) = store.draft(sheet_id).await?
        && draft.sheet.add_phrasing(text)
    {
        store.save_draft(&draft.sheet, &draft.author).await?;
    }
    Ok(())
}

/// An approval may carry the phrasing in the editor's words.
#[derive(Debug, Default, Deserialize)]
pub struct DecideForm {
    /// The phrasing as edited (empty: as proposed).
    #[serde(default)]
    pub text: String,
}

async fn decide(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, verdict)): Path<(i64, String)>,
    Form(f): Form<DecideForm>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let approve = match verdict.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(Error::NotFound(verdict).into()),
    };
    let row = state
        .intake
        .store()
        .decide_phrasing_as(id, approve, Some(f.text.as_str()), &actor.name)
        .await?;
    if approve {
        add_phrasing(&state, &actor, &row.sheet_id, &row.text).await?;
    }
    Ok(Redirect::to("/sheets/learn").into_response())
}

/// A group of unanswered questions made a phrasing of a sheet.
#[derive(Debug, Deserialize)]
pub struct Teach {
    /// The sheet.
    pub sheet: String,
    /// The question.
    pub text: String,
}

async fn teach(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(t): Form<Teach>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    if t.text.trim().is_empty() {
        return Err(Error::Invalid("la domanda è vuota".into()).into());
    }
    add_phrasing(&state, &actor, &t.sheet, &t.text).await?;
    Ok(Redirect::to(&format!("/sheets/{}", t.sheet)).into_response())
}

/// An editor's verdict on a group of unanswered questions.
#[derive(Debug, Deserialize)]
pub struct VerdictForm {
    /// The group's question.
    pub question: String,
    /// `dismissed` or `not_ours`.
    pub verdict: String,
    /// For `not_ours`: where the citizen should turn instead.
    #[serde(default)]
    pub referral: String,
}

/// Dismiss a question, or mark it "not ours": then citizens who ask it read the referral,
/// through a published sheet that holds the question and answers with the referral.
async fn verdict(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Form(f): Form<VerdictForm>,
) -> PageResult<Response> {
    actor.require(EDITORS)?;
    let question = f.question.trim();
    let referral = f.referral.trim();
    match f.verdict.as_str() {
        "dismissed" => {}
        "not_ours" if referral.is_empty() => {
            return Err(Error::Fields {
                message: "Scrivi a chi deve rivolgersi il cittadino.".into(),
                fields: [("referral".to_string(), "obbligatorio".to_string())].into(),
            }
            .into());
        }
        "not_ours" if referral.chars().count() > sportello_faq::SUMMARY_MAX => {
            return Err(Error::Fields {
                message: format!(
                    "L'indicazione per il cittadino ha {} caratteri: al massimo {}.",
                    referral.chars().count(),
                    sportello_faq::SUMMARY_MAX
                ),
                fields: [(
                    "referral".to_string(),
                    format!("al massimo {} caratteri", sportello_faq::SUMMARY_MAX),
                )]
                .into(),
            }
            .into());
        }
        "not_ours" => refer(&state, &actor, question, referral).await?,
        other => return Err(Error::NotFound(format!("decisione {other:?}")).into()),
    }
    let referral = (f.verdict == "not_ours").then_some(referral);
    state
        .intake
        .store()
        .set_learn_verdict(question, &f.verdict, referral, &actor.name)
        .await?;
    Ok(Redirect::to("/sheets/learn#h-unanswered").into_response())
}

/// Publish the sheet that answers `question` with `referral` (one per question, tagged
/// `fuori-competenza`; a second referral for the same question replaces the first).
async fn refer(
    state: &AppState,
    actor: &Actor,
    question: &str,
    referral: &str,
) -> Result<(), Error> {
    let slug: String = sportello_faq::analysis::fingerprint(question)
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join("-");
    let sheet = sportello_faq::Sheet {
        id: format!("fuori-competenza-{slug}"),
        title: format!("Non di nostra competenza: {}", question.trim()),
        summary: referral.to_string(),
        questions: vec![question.trim().to_string()],
        tags: vec!["fuori-competenza".into()],
        ..sportello_faq::Sheet::default()
    };
    let store = state.intake.store();
    store
        .save_sheets(std::slice::from_ref(&sheet), &actor.name)
        .await?;
    rebuild(state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> UnansweredRow {
        UnansweredRow {
            text: text.into(),
            channel: "telegram".into(),
            created_at: 0,
        }
    }

    #[test]
    fn similar_questions_fall_in_one_group_and_the_largest_comes_first() {
        let groups = group(&[
            q("orari della biblioteca"),
            q("dove si paga il bollo auto"),
            q("Orari biblioteca?"),
            q("quali sono gli orari della biblioteca"),
        ]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].count, 3);
        assert_eq!(groups[0].text, "orari della biblioteca");
        assert_eq!(groups[1].count, 1);
    }
}
