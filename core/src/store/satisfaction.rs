//! Citizens' judgements where operators and managers look for them: on a conversation (its
//! 👍/👎 and rating), and summed per operator and per office for `/stats`.

use serde::Serialize;
use sqlx::Row;

use super::{StatsRange, Store};
use crate::error::Result;

/// One 👍/👎 or rating of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackRow {
    /// The citizen's message whose answer was judged (`None` for a rating).
    pub message_id: Option<i64>,
    /// `useful`, `not_useful` or `rating`.
    pub kind: String,
    /// 1–5 for a rating.
    pub score: Option<i64>,
    /// When, unix ms.
    pub created_at: i64,
}

/// Satisfaction of the conversations one operator or one office handled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Satisfaction {
    /// The operator's username or the office's name (`None`: no office).
    pub key: Option<String>,
    /// Ratings given.
    pub ratings: i64,
    /// Their mean, 1–5 (0 when none).
    pub mean: f64,
    /// 👍 on answers in those conversations.
    pub useful: i64,
    /// 👎 on answers in those conversations.
    pub not_useful: i64,
}

impl Store {
    /// The feedback of a conversation, oldest first.
    pub async fn conversation_feedback(&self, conversation_id: i64) -> Result<Vec<FeedbackRow>> {
        let rows = sqlx::query(
            "select message_id, kind, score, created_at from feedback where conversation_id = $1 \
             order by id",
        )
        .bind(conversation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedbackRow {
                    message_id: r.try_get("message_id")?,
                    kind: r.try_get("kind")?,
                    score: r.try_get("score")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Satisfaction per operator who held the conversations (at resolution), for feedback
    /// given in the range; conversations no operator held are left out.
    pub async fn satisfaction_by_operator(&self, r: &StatsRange) -> Result<Vec<Satisfaction>> {
        self.satisfaction("u.username", "join users u on u.id = c.assignee_id", r)
            .await
    }

    /// Satisfaction per office of the conversations, for feedback given in the range (the
    /// conversations with no office under `None`).
    pub async fn satisfaction_by_office(&self, r: &StatsRange) -> Result<Vec<Satisfaction>> {
        self.satisfaction("o.name", "left join offices o on o.id = c.office_id", r)
            .await
    }

    async fn satisfaction(
        &self,
        key: &str,
        join: &str,
        r: &StatsRange,
    ) -> Result<Vec<Satisfaction>> {
        let channel = if r.channel.is_empty() {
            ""
        } else {
            " and f.channel = $3"
        };
        let sql = format!(
            "select {key} as k, \
             cast(sum(case when f.kind = 'rating' then 1 else 0 end) as bigint) as ratings, \
             cast(coalesce(sum(case when f.kind = 'rating' then f.score else 0 end), 0) as bigint) as points, \
             cast(sum(case when f.kind = 'useful' then 1 else 0 end) as bigint) as useful, \
             cast(sum(case when f.kind = 'not_useful' then 1 else 0 end) as bigint) as not_useful \
             from feedback f join conversations c on c.id = f.conversation_id {join} \
             where f.created_at >= $1 and f.created_at < $2{channel} \
             group by {key} order by {key}"
        );
        let mut q = sqlx::query(&sql).bind(r.from_ms).bind(r.to_ms);
        if !r.channel.is_empty() {
            q = q.bind(&r.channel);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                let ratings: i64 = row.try_get("ratings")?;
                let points: i64 = row.try_get("points")?;
                Ok(Satisfaction {
                    key: row.try_get("k")?,
                    ratings,
                    mean: if ratings > 0 {
                        points as f64 / ratings as f64
                    } else {
                        0.0
                    },
                    useful: row.try_get("useful")?,
                    not_useful: row.try_get("not_useful")?,
                })
            })
            .collect()
    }
}
