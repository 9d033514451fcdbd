//! How a citizen can be reached besides their channel (an email address, a phone number they
//! left in the web chat), and whether their chat page is open now.
//!
//! Online status lives in the database, not in the process that holds the page's stream, so
//! every console process sees it: an open page renews `online_until` while it stays open.

use serde::Serialize;
use sqlx::Row;

use super::Store;
use crate::error::Result;

/// How the citizen of a conversation can be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reach {
    /// The email address they left for the reply.
    pub email: Option<String>,
    /// The phone number they left.
    pub phone: Option<String>,
    /// When they left them, having read the privacy notice (unix ms).
    pub consent_at: Option<i64>,
    /// Whether their chat page is open now.
    pub online: bool,
}

impl Store {
    /// Record the email address and phone number a citizen left, with the time they accepted
    /// the privacy notice; the contact is created when they have not written yet.
    pub async fn set_reach(
        &self,
        channel: &str,
        external_id: &str,
        display_name: &str,
        email: &str,
        phone: Option<&str>,
    ) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "insert into contacts (channel, external_id, display_name, created_at, email, phone, consent_at) \
             values ($1, $2, $3, $4, $5, $6, $4) \
             on conflict (channel, external_id) do update set email = excluded.email, \
             phone = excluded.phone, consent_at = excluded.consent_at",
        )
        .bind(channel)
        .bind(external_id)
        .bind(display_name)
        .bind(now)
        .bind(email)
        .bind(phone)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(())
    }

    /// The citizen's page is open until `until` (unix ms), unless renewed; `until` in the
    /// past marks it closed. Nothing happens for a contact that has not written yet.
    pub async fn set_online_until(
        &self,
        channel: &str,
        external_id: &str,
        until: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "update contacts set online_until = $3 where channel = $1 and external_id = $2",
        )
        .bind(channel)
        .bind(external_id)
        .bind(until)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(())
    }

    /// How the citizen of conversation `id` can be reached, and whether they are online.
    pub async fn reach(&self, id: i64) -> Result<Reach> {
        let row = sqlx::query(
            "select k.email, k.phone, k.consent_at, k.online_until from conversations c \
             join contacts k on k.id = c.contact_id where c.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(Reach::default());
        };
        Ok(Reach {
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            consent_at: row.try_get("consent_at")?,
            online: row.try_get::<i64, _>("online_until")? > self.now_ms(),
        })
    }
}
