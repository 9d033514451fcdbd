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

/// Group questions whose normalised words overlap by at least half (Jaccard), the largest
/// groups first.
pub fn group(questions: &[UnansweredRow]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for q in questions {
        let words: BTreeSet<String> = sportello_faq::analysis::fingerprint(&q.text)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if words.is_empty() {
            continue;
        }
        let similar = groups.iter_mut().find(|g| {
            let shared = g.words.intersection(&words).count();
            let all = g.words.union(&words).count();
            shared * 2 >= all
        });
        match similar {
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
    Ok(
        super::learn_view::page(&actor, days, &pending, &group(&questions), &sheets)
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

async fn decide(
    State(state): State<AppState>,
    PageActor(actor): PageActor,
    Path((id, verdict)): Path<(i64, String)>,
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
        .decide_phrasing(id, approve, &actor.name)
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
