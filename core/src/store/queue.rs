//! The operators' view of conversations: filtered lists for the queue and the API, the
//! citizen's other conversations, and a cheap fingerprint of the queue for live updates.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use crate::error::{Error, Result};
use crate::model::ConversationStatus;
use crate::store::ConversationRow;

/// Which conversations to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConversationFilter {
    /// Statuses to include; all when empty.
    pub statuses: Vec<ConversationStatus>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only conversations transferred to this office.
    pub office: Option<String>,
    /// Only conversations waiting since at least this long ago (by `escalated_at`), in ms.
    pub min_wait_ms: Option<i64>,
    /// Only conversations this user holds.
    pub assignee_id: Option<i64>,
    /// Only conversations of these offices or of none (an operator's own queues); all when
    /// empty.
    pub office_scope: Vec<String>,
    /// Only conversations whose reference number is this, or whose citizen's name or
    /// address, subject or messages contain it (case-insensitive).
    pub search: Option<String>,
    /// At most this many.
    pub limit: i64,
    /// Skip this many.
    pub offset: i64,
}

const COLUMNS: &str = "c.id, c.channel, c.thread, k.external_id, k.display_name, k.unreachable, \
    c.subject, c.status, u.username, c.office_id, c.opened_at, c.escalated_at, c.first_response_at, \
    c.resolved_at, c.last_message_at";
const FROM: &str = "from conversations c join contacts k on k.id = c.contact_id \
    left join users u on u.id = c.assignee_id";

fn row(r: &AnyRow) -> Result<ConversationRow> {
    let status: String = r.try_get("status")?;
    Ok(ConversationRow {
        id: r.try_get("id")?,
        channel: r.try_get("channel")?,
        thread: r.try_get("thread")?,
        contact: r.try_get("external_id")?,
        contact_name: r.try_get("display_name")?,
        unreachable: r.try_get::<i64, _>("unreachable")? != 0,
        subject: r.try_get("subject")?,
        status: ConversationStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("status {status:?}")))?,
        assignee: r.try_get("username")?,
        office: r.try_get("office_id")?,
        opened_at: r.try_get("opened_at")?,
        escalated_at: r.try_get("escalated_at")?,
        first_response_at: r.try_get("first_response_at")?,
        resolved_at: r.try_get("resolved_at")?,
        last_message_at: r.try_get("last_message_at")?,
    })
}

impl Store {
    /// Conversations matching a filter. When only queue statuses are asked for, those waiting
    /// longest come first; otherwise the most recently active.
    pub async fn find_conversations(&self, f: &ConversationFilter) -> Result<Vec<ConversationRow>> {
        let mut sql = format!("select {COLUMNS} {FROM} where 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if !f.statuses.is_empty() {
            // Status names are the enum's fixed identifiers, written as literals so that both
            // planners can match the partial index of waiting conversations (a bound
            // parameter would hide that the query only asks for queued or assigned ones).
            let list: Vec<String> = f
                .statuses
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            sql.push_str(&format!(" and c.status in ({})", list.join(", ")));
        }
        if f.channel.is_some() {
            sql.push_str(&format!(" and c.channel = {}", next()));
        }
        if f.office.is_some() {
            sql.push_str(&format!(" and c.office_id = {}", next()));
        }
        if f.assignee_id.is_some() {
            sql.push_str(&format!(" and c.assignee_id = {}", next()));
        }
        if !f.office_scope.is_empty() {
            let list: Vec<String> = f.office_scope.iter().map(|_| next()).collect();
            sql.push_str(&format!(
                " and (c.office_id in ({}) or c.office_id is null)",
                list.join(", ")
            ));
        }
        let search = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let reference = search.and_then(reference_number);
        if search.is_some() {
            let (p, id) = (next(), next());
            sql.push_str(&format!(
                " and (c.id = {id} or lower(k.display_name) like {p} escape '\\' or lower(k.external_id) like {p} escape '\\' \
                 or lower(coalesce(c.subject, '')) like {p} escape '\\' or exists (select 1 from messages s \
                 where s.conversation_id = c.id and lower(s.text) like {p} escape '\\'))"
            ));
        }
        let queue_only = !f.statuses.is_empty()
            && f.statuses
                .iter()
                .all(|s| matches!(s, ConversationStatus::Queued | ConversationStatus::Assigned));
        // Queued and assigned conversations always have `escalated_at`: ordering and filtering
        // on the bare column lets the (status, escalated_at) index serve the queue.
        let since = if queue_only {
            "c.escalated_at"
        } else {
            "coalesce(c.escalated_at, c.opened_at)"
        };
        if f.min_wait_ms.is_some() {
            sql.push_str(&format!(" and {since} <= {}", next()));
        }
        let order = if queue_only {
            "c.escalated_at, c.id"
        } else {
            "c.last_message_at desc, c.id desc"
        };
        sql.push_str(&format!(
            " order by {order} limit {} offset {}",
            next(),
            next()
        ));
        let mut q = sqlx::query(&sql);
        if let Some(c) = &f.channel {
            q = q.bind(c);
        }
        if let Some(o) = &f.office {
            q = q.bind(o);
        }
        if let Some(a) = f.assignee_id {
            q = q.bind(a);
        }
        for o in &f.office_scope {
            q = q.bind(o);
        }
        if let Some(s) = search {
            q = q
                .bind(format!("%{}%", like_escape(&s.to_lowercase())))
                .bind(reference.unwrap_or(-1));
        }
        if let Some(ms) = f.min_wait_ms {
            q = q.bind(self.now_ms() - ms);
        }
        let rows = q
            .bind(f.limit.clamp(1, 500))
            .bind(f.offset.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row).collect()
    }

    /// The last text the citizen wrote in each of these conversations.
    pub async fn last_citizen_texts(&self, ids: &[i64]) -> Result<HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "select m.conversation_id, m.text from messages m where m.id in \
             (select max(id) from messages where author = 'citizen' and conversation_id in ({}) \
              group by conversation_id)",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("conversation_id")?, r.try_get("text")?)))
            .collect()
    }

    /// The other conversations of the same contact, newest first.
    pub async fn contact_conversations(
        &self,
        conversation_id: i64,
        limit: i64,
    ) -> Result<Vec<ConversationRow>> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} {FROM} where c.contact_id = \
             (select contact_id from conversations where id = $1) and c.id <> $1 \
             order by c.last_message_at desc, c.id desc limit $2"
        ))
        .bind(conversation_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row).collect()
    }

    /// A value that changes whenever a conversation enters, leaves or moves within the queue,
    /// or gets a new message there; live views poll it so that every process sees changes
    /// made by the others.
    pub async fn queue_fingerprint(&self) -> Result<String> {
        let r = sqlx::query(
            "select count(*) as n, coalesce(max(id), 0) as top, \
             cast(coalesce(sum(coalesce(assignee_id, 0) * 7 + id), 0) as bigint) as holders, \
             coalesce(max(last_message_at), 0) as latest, \
             cast(coalesce(sum(case when status = 'assigned' then 1 else 0 end), 0) as bigint) as assigned \
             from conversations where status in ('queued', 'assigned')",
        )
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = r.try_get("n")?;
        let top: i64 = r.try_get("top")?;
        let holders: i64 = r.try_get("holders")?;
        let latest: i64 = r.try_get("latest")?;
        let assigned: i64 = r.try_get("assigned")?;
        Ok(format!("{n}:{top}:{holders}:{latest}:{assigned}"))
    }
}

/// A reference number as citizens quote it: `123`, `n. 123`, `#123`, `rif. 123`.
fn reference_number(s: &str) -> Option<i64> {
    let s = s.trim().to_lowercase();
    let digits = s.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = s[..s.len() - digits.len()].trim();
    let known = ["", "n", "n.", "n°", "#", "rif", "rif.", "rif. n."];
    (known.contains(&prefix) && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// A `like` pattern's `%`, `_` and `\` taken literally (the queries say `escape '\'`).
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::reference_number;

    #[test]
    fn reference_numbers_are_read_as_citizens_write_them() {
        assert_eq!(reference_number("123"), Some(123));
        assert_eq!(reference_number("n. 42"), Some(42));
        assert_eq!(reference_number("#7"), Some(7));
        assert_eq!(reference_number("rif. 9"), Some(9));
        assert_eq!(reference_number("bollo 2024"), None);
        assert_eq!(reference_number("Rossi"), None);
    }
}
