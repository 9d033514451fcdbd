//! Routing and triage: the offices operators belong to, the queue's three views and their
//! counts, and what each waiting conversation is about (its first question, why the bot
//! handed it over, the question an operator would teach the bot).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;

use super::{Store, audit};
use crate::error::{Refusal, Result};

/// Why the bot handed a conversation to the operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The citizen asked for a person.
    PersonRequested,
    /// The citizen asked for a person after a 👎 on an answer.
    NotUseful,
    /// No sheet answered the question.
    NoSheet,
    /// The matched sheet is always handled by an operator.
    SheetRequiresOperator,
    /// Insults or abuse.
    Abuse,
    /// A file or photo the bot cannot read.
    Attachment,
    /// A message the channel says must not be answered automatically.
    NoAutoReply,
    /// An operator moved it to an office before the bot handed it over.
    Transferred,
}

impl HandoffReason {
    /// The reason stored with the message that handed the conversation over.
    pub fn from_stored(reason: &str, after_not_useful: bool) -> Self {
        match reason {
            "person_requested" if after_not_useful => Self::NotUseful,
            "person_requested" => Self::PersonRequested,
            "sheet_requires_operator" => Self::SheetRequiresOperator,
            "abuse" => Self::Abuse,
            "attachment" => Self::Attachment,
            "no_auto_reply" => Self::NoAutoReply,
            _ => Self::NoSheet,
        }
    }
}

/// What a waiting conversation is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    /// The citizen's first real question (not a greeting, not "I want a person").
    pub first_question: Option<String>,
    /// Why the bot handed it over.
    pub reason: HandoffReason,
    /// The sheet involved in the handoff (required an operator, or the one answered before a
    /// 👎), if any.
    pub sheet: Option<String>,
    /// The citizen's message that caused the handoff, or the question before a request for
    /// a person: what "Insegna al bot" proposes by default.
    pub question_message: Option<i64>,
}

/// Reasons of citizens' messages that are not questions about a procedure.
const NOT_QUESTIONS: &[&str] = &[
    "person_requested",
    "greeting",
    "thanks",
    "goodbye",
    "empty",
    "chosen",
    "unknown_choice",
    "start",
    "help",
    "unsupported",
    "edited",
    "feedback",
    "attachment",
    "abuse",
];

/// Whether a citizen's message with this stored reason asks something the bot could learn.
pub fn is_question(decision: Option<&str>, reason: Option<&str>) -> bool {
    decision != Some("smalltalk") && !reason.is_some_and(|r| NOT_QUESTIONS.contains(&r))
}

/// One citizen message, as triage reads it.
struct Said {
    id: i64,
    text: String,
    decision: Option<String>,
    reason: Option<String>,
    sheet: Option<String>,
}

/// How many conversations each queue view holds for one operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    /// Assigned to the operator.
    pub mine: i64,
    /// Waiting for someone to claim them (in the operator's offices, when they have any).
    pub unassigned: i64,
    /// Queued or assigned, anyone's.
    pub all: i64,
}

impl Store {
    /// The offices a user belongs to, by id.
    pub async fn user_offices(&self, user_id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "select office_id from office_members where user_id = $1 order by office_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Every membership, as (office id, username).
    pub async fn office_members(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "select m.office_id, u.username from office_members m join users u on u.id = m.user_id \
             order by m.office_id, u.username",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("office_id")?, r.try_get("username")?)))
            .collect()
    }

    /// Make a user a member of exactly these offices, with an audit entry.
    pub async fn set_user_offices(
        &self,
        user_id: i64,
        offices: &[String],
        actor: &str,
    ) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        for office in offices {
            let known: Option<String> = sqlx::query_scalar("select id from offices where id = $1")
                .bind(office)
                .fetch_optional(&mut *w.tx)
                .await?;
            if known.is_none() {
                w.rollback().await?;
                return Err(Refusal::UnknownOffice(office.clone()).into());
            }
        }
        sqlx::query("delete from office_members where user_id = $1")
            .bind(user_id)
            .execute(&mut *w.tx)
            .await?;
        for office in offices {
            sqlx::query("insert into office_members (office_id, user_id) values ($1, $2)")
                .bind(office)
                .bind(user_id)
                .execute(&mut *w.tx)
                .await?;
        }
        audit(
            &mut w.tx,
            now,
            actor,
            "user.offices",
            &format!("user:{user_id}"),
            &serde_json::json!({ "offices": offices }),
        )
        .await?;
        w.commit().await
    }

    /// The queue views' sizes for a user who belongs to `offices` (none: every office).
    pub async fn queue_counts(&self, user_id: i64, offices: &[String]) -> Result<QueueCounts> {
        let (scope, binds) = office_scope(offices, 2);
        let sql = format!(
            "select \
             cast(coalesce(sum(case when status = 'assigned' and assignee_id = $1 then 1 else 0 end), 0) as bigint) as mine, \
             cast(coalesce(sum(case when status = 'queued' {scope} then 1 else 0 end), 0) as bigint) as unassigned, \
             count(*) as total \
             from conversations where status in ('queued', 'assigned')"
        );
        let mut q = sqlx::query(&sql).bind(user_id);
        for b in binds {
            q = q.bind(b);
        }
        let r = q.fetch_one(self.pool()).await?;
        Ok(QueueCounts {
            mine: r.try_get("mine")?,
            unassigned: r.try_get("unassigned")?,
            all: r.try_get("total")?,
        })
    }

    /// What each of these conversations is about.
    pub async fn triage(&self, ids: &[i64]) -> Result<HashMap<i64, Triage>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let list = list.join(", ");
        let sql = format!(
            "select id, conversation_id, text, decision, reason, sheet_id, candidates from messages \
             where author = 'citizen' and conversation_id in ({list}) order by conversation_id, id"
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        let mut said: HashMap<i64, Vec<Said>> = HashMap::new();
        for r in q.fetch_all(self.pool()).await? {
            let candidates: Option<String> = r.try_get("candidates")?;
            let first_candidate = candidates
                .and_then(|c| serde_json::from_str::<Vec<sportello_faq::Candidate>>(&c).ok())
                .and_then(|c| c.into_iter().next().map(|c| c.sheet_id));
            let sheet: Option<String> = r.try_get("sheet_id")?;
            said.entry(r.try_get("conversation_id")?)
                .or_default()
                .push(Said {
                    id: r.try_get("id")?,
                    text: r.try_get("text")?,
                    decision: r.try_get("decision")?,
                    reason: r.try_get("reason")?,
                    sheet: sheet.or(first_candidate),
                });
        }
        let sql = format!(
            "select distinct conversation_id from feedback where kind = 'not_useful' \
             and conversation_id in ({list})"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for id in ids {
            q = q.bind(id);
        }
        let judged: Vec<i64> = q.fetch_all(self.pool()).await?;
        Ok(said
            .into_iter()
            .map(|(id, said)| (id, triage_of(&said, judged.contains(&id))))
            .collect())
    }
}

/// Read one conversation's citizen messages (oldest first).
fn triage_of(said: &[Said], not_useful: bool) -> Triage {
    let question = |m: &&Said| {
        is_question(m.decision.as_deref(), m.reason.as_deref()) && !m.text.trim().is_empty()
    };
    let first = said
        .iter()
        .find(question)
        .or_else(|| said.iter().find(|m| !m.text.trim().is_empty()));
    let handoff = said.iter().position(|m| {
        m.decision.as_deref() == Some("handoff") && m.reason.as_deref() != Some("with_operator")
    });
    let Some(at) = handoff else {
        return Triage {
            first_question: first.map(|m| m.text.clone()),
            reason: HandoffReason::Transferred,
            sheet: None,
            question_message: said.iter().rev().find(question).map(|m| m.id),
        };
    };
    let m = &said[at];
    let reason = HandoffReason::from_stored(m.reason.as_deref().unwrap_or(""), not_useful);
    // The question behind a request for a person is the last one asked before it.
    let asked = if question(&m) {
        Some(m)
    } else {
        said[..at].iter().rev().find(question)
    };
    let sheet = match reason {
        HandoffReason::SheetRequiresOperator => m.sheet.clone(),
        _ => said[..at]
            .iter()
            .rev()
            .find(|m| m.decision.as_deref() == Some("answer"))
            .and_then(|m| m.sheet.clone()),
    };
    Triage {
        first_question: first.map(|m| m.text.clone()),
        reason,
        sheet,
        question_message: asked.map(|m| m.id),
    }
}

/// `and (office_id in (…) or office_id is null)` for members of `offices` (nothing when the
/// user belongs to no office and so sees every office's queue), with its values, numbered
/// from `$first`.
pub(crate) fn office_scope(offices: &[String], first: usize) -> (String, Vec<String>) {
    if offices.is_empty() {
        return (String::new(), Vec::new());
    }
    let list: Vec<String> = (0..offices.len())
        .map(|i| format!("${}", first + i))
        .collect();
    (
        format!(
            "and (office_id in ({}) or office_id is null)",
            list.join(", ")
        ),
        offices.to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(id: i64, text: &str, decision: &str, reason: &str) -> Said {
        Said {
            id,
            text: text.into(),
            decision: Some(decision.into()),
            reason: Some(reason.into()),
            sheet: None,
        }
    }

    #[test]
    fn a_request_for_a_person_after_a_question_keeps_the_question() {
        let t = triage_of(
            &[
                said(1, "buongiorno", "smalltalk", "greeting"),
                said(2, "rimborso bollo moto", "handoff", "no_match"),
                said(3, "Parla con un operatore", "handoff", "with_operator"),
            ],
            false,
        );
        assert_eq!(t.first_question.as_deref(), Some("rimborso bollo moto"));
        assert_eq!(t.reason, HandoffReason::NoSheet);
        assert_eq!(t.question_message, Some(2));
    }

    #[test]
    fn a_person_asked_for_after_a_thumbs_down_reads_as_the_thumbs_down() {
        let mut answered = said(1, "orari urp", "answer", "matched");
        answered.sheet = Some("urp-orari".into());
        let t = triage_of(
            &[
                answered,
                said(2, "Parla con un operatore", "handoff", "person_requested"),
            ],
            true,
        );
        assert_eq!(t.reason, HandoffReason::NotUseful);
        assert_eq!(t.sheet.as_deref(), Some("urp-orari"));
        assert_eq!(t.question_message, Some(1));
    }
}
