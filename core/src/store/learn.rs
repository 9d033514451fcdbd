//! What editors learn from: phrasings operators proposed ("teach the bot"), decided here,
//! and citizens' questions that nothing matched.

use sqlx::Row;

use super::desk::{PHRASING_COLUMNS, phrasing_row};
use super::{PhrasingRow, Store, audit};
use crate::error::{Refusal, Result};

/// A question that ended in a handoff because no sheet matched.
#[derive(Debug, Clone, PartialEq)]
pub struct UnansweredRow {
    /// The citizen's text.
    pub text: String,
    /// Channel.
    pub channel: String,
    /// When, unix ms.
    pub created_at: i64,
}

impl Store {
    /// Phrasings waiting for an editor, oldest first.
    pub async fn pending_phrasings(&self) -> Result<Vec<PhrasingRow>> {
        let rows = sqlx::query(&format!(
            "select {PHRASING_COLUMNS} from proposed_phrasings where state = 'pending' order by id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(phrasing_row).collect()
    }

    /// Mark a pending phrasing approved or rejected; returns it, or `Conflict` when another
    /// editor decided first.
    pub async fn decide_phrasing(
        &self,
        id: i64,
        approve: bool,
        editor: &str,
    ) -> Result<PhrasingRow> {
        self.decide_phrasing_as(id, approve, None, editor).await
    }

    /// Approve or reject a pending phrasing, approving it in the editor's words when `text`
    /// is given.
    pub async fn decide_phrasing_as(
        &self,
        id: i64,
        approve: bool,
        text: Option<&str>,
        editor: &str,
    ) -> Result<PhrasingRow> {
        let now = self.now_ms();
        let state = if approve { "approved" } else { "rejected" };
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        let mut w = self.begin_write().await?;
        let row = sqlx::query(
            "update proposed_phrasings set state = $2, decided_by = $3, decided_at = $4, \
             text = coalesce($5, text) where id = $1 and state = 'pending' \
             returning id, sheet_id, text, conversation_id, state, proposed_by, created_at",
        )
        .bind(id)
        .bind(state)
        .bind(editor)
        .bind(now)
        .bind(text)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(Refusal::PhrasingDecided(id))?;
        let out = phrasing_row(&row)?;
        let detail = serde_json::json!({ "phrasing": id, "state": state });
        audit(
            &mut w.tx,
            now,
            editor,
            "phrasing.decide",
            &format!("sheet:{}", out.sheet_id),
            &detail,
        )
        .await?;
        w.commit().await?;
        Ok(out)
    }

    /// Citizens' questions in `[from_ms, to_ms)` that went to operators because nothing
    /// matched, newest first (at most `limit`).
    pub async fn unanswered(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<UnansweredRow>> {
        let rows = sqlx::query(
            "select text, channel, created_at from messages \
             where created_at >= $1 and created_at < $2 and direction = 'in' \
             and decision = 'handoff' and reason = 'no_match' \
             order by created_at desc limit $3",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnansweredRow {
                    text: r.try_get("text")?,
                    channel: r.try_get("channel")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Record what an editor decided about an unanswered question: `dismissed`, or
    /// `not_ours` with the referral text citizens read instead.
    pub async fn set_learn_verdict(
        &self,
        question: &str,
        verdict: &str,
        referral: Option<&str>,
        editor: &str,
    ) -> Result<()> {
        let question = question.trim();
        if question.is_empty() {
            return Err(Refusal::EmptyPhrasing.into());
        }
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "insert into learn_verdicts (question, verdict, referral, decided_by, decided_at) \
             values ($1, $2, $3, $4, $5) on conflict (question) do update set verdict = excluded.verdict, \
             referral = excluded.referral, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        )
        .bind(question)
        .bind(verdict)
        .bind(referral)
        .bind(editor)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        let detail =
            serde_json::json!({ "question": question, "verdict": verdict, "referral": referral });
        audit(&mut w.tx, now, editor, "learn.verdict", "learn", &detail).await?;
        w.commit().await
    }

    /// The editors' verdicts on unanswered questions, newest first.
    pub async fn learn_verdicts(&self) -> Result<Vec<LearnVerdict>> {
        let rows = sqlx::query(
            "select question, verdict, referral, decided_by, decided_at from learn_verdicts \
             order by decided_at desc, question",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LearnVerdict {
                    question: r.try_get("question")?,
                    verdict: r.try_get("verdict")?,
                    referral: r.try_get("referral")?,
                    decided_by: r.try_get("decided_by")?,
                    decided_at: r.try_get("decided_at")?,
                })
            })
            .collect()
    }
}

/// What an editor decided about an unanswered question.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnVerdict {
    /// The question, as the citizen wrote it.
    pub question: String,
    /// `dismissed` or `not_ours`.
    pub verdict: String,
    /// For `not_ours`: where the citizen should turn instead.
    pub referral: Option<String>,
    /// The editor.
    pub decided_by: String,
    /// When, unix ms.
    pub decided_at: i64,
}
