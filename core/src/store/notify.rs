//! How processes sharing one database learn of each other's changes.
//!
//! On PostgreSQL, triggers (migration 0009) send `NOTIFY sportello_sheets` whenever sheets or
//! offices change, from any process, the command line included; [`Store::listen`] opens a
//! dedicated connection that receives them. SQLite serves one process, but the command line
//! can still write to a file a server is using: there, and as a safety net after a lost
//! PostgreSQL connection, [`Store::sheets_fingerprint`] is a cheap summary that changes
//! whenever the published sheets do.

use sqlx::Row;
use sqlx::postgres::PgListener;

use super::{Backend, Store};
use crate::error::Result;

/// The channel published sheets and offices are announced on.
pub const SHEETS_CHANNEL: &str = "sportello_sheets";

/// The channel changes to the operators' queue are announced on (by triggers, migration
/// 0018), with the conversation's id.
pub const QUEUE_CHANNEL: &str = "sportello_queue";

/// The channel web chat deliveries are announced on, so that the process holding the
/// citizen's open page pushes them (see the web chat channel).
pub const WEBCHAT_CHANNEL: &str = "sportello_webchat";

impl Store {
    /// A summary of the published sheets and the offices that changes whenever they do:
    /// publishing bumps a sheet's revision and time, deleting or unpublishing lowers the count.
    pub async fn sheets_fingerprint(&self) -> Result<String> {
        let r = sqlx::query(
            "select (select count(*) from sheets where status = 'published') as n, \
             (select cast(coalesce(sum(revision), 0) as bigint) from sheets where status = 'published') as revisions, \
             (select coalesce(max(updated_at), 0) from sheets) as sheets_at, \
             (select count(*) from offices) as offices, \
             (select coalesce(max(updated_at), 0) from offices) as offices_at",
        )
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = r.try_get("n")?;
        let revisions: i64 = r.try_get("revisions")?;
        let sheets_at: i64 = r.try_get("sheets_at")?;
        let offices: i64 = r.try_get("offices")?;
        let offices_at: i64 = r.try_get("offices_at")?;
        Ok(format!(
            "{n}:{revisions}:{sheets_at}:{offices}:{offices_at}"
        ))
    }

    /// A connection listening on `channels`, on PostgreSQL; `None` on SQLite, which has no
    /// notifications. The listener reconnects by itself after a lost connection (and says so
    /// by returning `None` from `try_recv`, since notifications may have been missed).
    pub async fn listen(&self, channels: &[&str]) -> Result<Option<PgListener>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen_all(channels.iter().copied()).await?;
        Ok(Some(listener))
    }

    /// Announce `payload` on `channel` to every process listening, on PostgreSQL; nothing on
    /// SQLite, which serves one process. Payloads are ids, well under PostgreSQL's 8000 bytes.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        sqlx::query("select pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
