//! Users and API tokens as the console's admin pages manage them, each change audited under
//! the acting admin's name.

use serde::Serialize;
use sqlx::Row;

use super::{Store, audit};
use crate::error::{Error, Refusal, Result};
use crate::model::Role;
use crate::secret::{account_name, api_token, sha256_hex};
use crate::store::users::hash_password;

/// A user as the admin's list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRow {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Whether the user may no longer log in.
    pub disabled: bool,
    /// Created, unix ms.
    pub created_at: i64,
    /// The name citizens see on the user's replies.
    pub display_name: Option<String>,
    /// An admin reset the password: the user must choose a new one.
    pub must_change_password: bool,
    /// Logins need a second factor.
    pub two_factor: bool,
}

/// An API token as the admin's list shows it (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Created, unix ms.
    pub created_at: i64,
    /// Revoked, unix ms.
    pub revoked_at: Option<i64>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    /// When, unix ms.
    pub at: i64,
    /// Who: a username, a token's name, `cli` or `import`.
    pub actor: String,
    /// What: `claim`, `reply`, `transfer`, `resolve`, `sheet.save`, `login`, …
    pub action: String,
    /// On what: `conversation:12`, `sheet:accesso-atti`, `user:mario`, …
    pub subject: String,
    /// Details, as JSON text.
    pub detail: Option<String>,
}

fn role_of(row: &sqlx::any::AnyRow) -> Result<Role> {
    let role: String = row.try_get("role")?;
    Role::parse(&role).ok_or_else(|| Error::Corrupt(format!("role {role:?}")))
}

impl Store {
    /// Every user, by name.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>> {
        let rows = sqlx::query(
            "select id, username, role, disabled, created_at, display_name, must_change_password, \
             totp_enabled_at from users order by username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AccountRow {
                    id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    role: role_of(r)?,
                    disabled: r.try_get::<i64, _>("disabled")? != 0,
                    created_at: r.try_get("created_at")?,
                    display_name: r.try_get("display_name")?,
                    must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
                    two_factor: r.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
                })
            })
            .collect()
    }

    /// Add a user on an admin's behalf.
    pub async fn create_account(
        &self,
        username: &str,
        role: Role,
        password: &str,
        actor: &str,
    ) -> Result<i64> {
        let username = account_name(username).ok_or(Refusal::UsernameLength)?;
        if password.chars().count() < 8 {
            return Err(Refusal::PasswordTooShort.into());
        }
        let hash = hash_password(password)?;
        let mut w = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "insert into users (username, role, password_hash, created_at) values ($1, $2, $3, $4) \
             on conflict (username) do nothing returning id",
        )
        .bind(username)
        .bind(role.as_str())
        .bind(hash)
        .bind(self.now_ms())
        .fetch_optional(&mut *w.tx)
        .await?;
        let id = id.ok_or_else(|| Refusal::UserExists(username.to_string()))?;
        let detail = serde_json::json!({ "role": role });
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "user.add",
            &format!("user:{username}"),
            &detail,
        )
        .await?;
        w.commit().await?;
        Ok(id)
    }

    /// Disable or re-enable a user; disabling also ends their sessions.
    pub async fn set_account_disabled(&self, id: i64, disabled: bool, actor: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let name: Option<String> =
            sqlx::query_scalar("update users set disabled = $2 where id = $1 returning username")
                .bind(id)
                .bind(i64::from(disabled))
                .fetch_optional(&mut *w.tx)
                .await?;
        let name = name.ok_or(Refusal::NoUser(id))?;
        if disabled {
            sqlx::query("delete from sessions where user_id = $1")
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            action,
            &format!("user:{name}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await
    }

    /// Every API token, newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query(
            "select id, name, role, created_at, revoked_at from api_tokens order by id desc",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    role: role_of(r)?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Create an API token on an admin's behalf; returns it (stored only as a hash).
    pub async fn create_token_for(&self, name: &str, role: Role, actor: &str) -> Result<String> {
        let name = account_name(name).ok_or(Refusal::TokenNameLength)?;
        let token = api_token();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "insert into api_tokens (name, role, token_hash, created_at) values ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(sha256_hex(&token))
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?;
        let detail = serde_json::json!({ "role": role });
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "token.create",
            &format!("token:{name}"),
            &detail,
        )
        .await?;
        w.commit().await?;
        Ok(token)
    }

    /// Revoke one token.
    pub async fn revoke_token(&self, id: i64, actor: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let name: Option<String> = sqlx::query_scalar(
            "update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null returning name",
        )
        .bind(id)
        .bind(self.now_ms())
        .fetch_optional(&mut *w.tx)
        .await?;
        let name = name.ok_or(Refusal::NoActiveToken(id))?;
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "token.revoke",
            &format!("token:{name}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await
    }

    /// The latest entries of the audit log, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query(
            "select at, actor, action, subject, detail from audit_log order by id desc limit $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    subject: r.try_get("subject")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    /// The id of an active user by name (API tokens act as the user of their name).
    pub async fn active_user_id(&self, username: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("select id from users where username = $1 and disabled = 0")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
