//! Console sessions and login throttling.
//!
//! A session id is 256 random bits, given to the browser once in a cookie and stored only as
//! its SHA-256, so a copy of the database does not let anyone log in. Each session has its own
//! CSRF token. Failed logins are counted in the database rather than in memory, so that
//! several `sportello serve` processes on one PostgreSQL share the count.

use sqlx::Row;

use super::{Store, audit};
use crate::error::{Error, Result};
use crate::model::Role;
use crate::secret::{random_token, sha256_hex};
use crate::store::UserRow;

/// A session just opened: the id for the cookie and the CSRF token for forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The session id, shown only to the browser.
    pub id: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// A live session, as a request's cookie finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// The user it belongs to.
    pub user: UserRow,
    /// Its CSRF token.
    pub csrf: String,
    /// Last seen, unix ms.
    pub last_seen_at: i64,
    /// Created, unix ms.
    pub created_at: i64,
    /// The user must choose a new password before anything else (an admin reset it).
    pub must_change_password: bool,
    /// Opened by the password alone: it grants nothing until the second factor is given.
    pub second_factor_pending: bool,
    /// The name citizens see on the user's replies.
    pub display_name: Option<String>,
}

impl Store {
    /// Open a session for a user; it ends `idle_ms` after it was last seen, and at the latest
    /// `max_ms` after it was opened. Expired sessions are deleted on the way.
    pub async fn create_session(
        &self,
        user_id: i64,
        idle_ms: i64,
        max_ms: i64,
    ) -> Result<NewSession> {
        self.open_session(user_id, idle_ms, max_ms, false).await
    }

    /// Open a session that waits for the second factor: it grants nothing, and ends after
    /// `max_ms` (a few minutes) unless [`Store::create_session`] replaces it.
    pub async fn create_pending_session(&self, user_id: i64, max_ms: i64) -> Result<NewSession> {
        self.open_session(user_id, max_ms, max_ms, true).await
    }

    async fn open_session(
        &self,
        user_id: i64,
        idle_ms: i64,
        max_ms: i64,
        pending: bool,
    ) -> Result<NewSession> {
        let now = self.now_ms();
        let session = NewSession {
            id: random_token(),
            csrf: random_token(),
        };
        let mut w = self.begin_write().await?;
        sqlx::query("delete from sessions where expires_at < $1")
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query(
            "insert into sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, \
             second_factor_pending) values ($1, $2, $3, $4, $4, $5, $6)",
        )
        .bind(sha256_hex(&session.id))
        .bind(user_id)
        .bind(&session.csrf)
        .bind(now)
        .bind(now + idle_ms.min(max_ms))
        .bind(i64::from(pending))
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(session)
    }

    /// The live session of a cookie's id, with its (active) user.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query(
            "select u.id, u.username, u.role, u.must_change_password, u.display_name, \
             s.csrf_token, s.last_seen_at, s.created_at, s.second_factor_pending \
             from sessions s join users u on u.id = s.user_id \
             where s.id_hash = $1 and s.expires_at > $2 and u.disabled = 0",
        )
        .bind(sha256_hex(id))
        .bind(self.now_ms())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(Some(SessionRow {
            user: UserRow {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                role: Role::parse(&role).ok_or_else(|| Error::Corrupt(format!("role {role:?}")))?,
            },
            csrf: row.try_get("csrf_token")?,
            last_seen_at: row.try_get("last_seen_at")?,
            created_at: row.try_get("created_at")?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
            second_factor_pending: row.try_get::<i64, _>("second_factor_pending")? != 0,
            display_name: row.try_get("display_name")?,
        }))
    }

    /// Record that a session was used, moving its idle expiry (never past `max_ms` after it
    /// was opened).
    pub async fn touch_session(&self, id: &str, idle_ms: i64, max_ms: i64) -> Result<()> {
        let now = self.now_ms();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "update sessions set last_seen_at = $2, \
             expires_at = case when created_at + $4 < $2 + $3 then created_at + $4 else $2 + $3 end \
             where id_hash = $1",
        )
        .bind(sha256_hex(id))
        .bind(now)
        .bind(idle_ms)
        .bind(max_ms)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// End a session (log out).
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("delete from sessions where id_hash = $1")
            .bind(sha256_hex(id))
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// Failed logins since `since` (unix ms): for this username, and from this address.
    pub async fn login_failures(
        &self,
        username: &str,
        address: &str,
        since: i64,
    ) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "select \
               (select count(*) from login_failures where username = $1 and at >= $3) as by_user, \
               (select count(*) from login_failures where address = $2 and at >= $3) as by_address",
        )
        .bind(username)
        .bind(address)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("by_user")?, row.try_get("by_address")?))
    }

    /// Count a failed login (and forget those older than `forget_before`).
    pub async fn record_login_failure(
        &self,
        username: &str,
        address: &str,
        forget_before: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("delete from login_failures where at < $1")
            .bind(forget_before)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("insert into login_failures (username, address, at) values ($1, $2, $3)")
            .bind(username)
            .bind(address)
            .bind(self.now_ms())
            .execute(&mut *w.tx)
            .await?;
        audit(
            &mut w.tx,
            self.now_ms(),
            username,
            "login.failed",
            &format!("user:{username}"),
            &serde_json::json!({ "address": address }),
        )
        .await?;
        w.commit().await
    }

    /// A successful login clears the username's failures.
    pub async fn clear_login_failures(&self, username: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("delete from login_failures where username = $1")
            .bind(username)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }
}
