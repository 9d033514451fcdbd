//! Console users (argon2id password hashes) and API tokens (SHA-256 hashes).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;
use sqlx::Row;

use super::Store;
use crate::error::{Error, Result};
use crate::model::Role;
use crate::secret::sha256_hex;

/// A console user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// Who is acting: a user or an API token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    /// The user's or the token's name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The user id, for users.
    pub user_id: Option<i64>,
}

/// Hash a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(format!("cannot hash password: {e}")))
}

/// A hash no password is known to match, checked against for unknown usernames.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&crate::secret::random_token()).unwrap_or_default())
}

impl Store {
    /// Add a user from the command line (audited as `cli`). Usernames are unique.
    pub async fn add_user(&self, username: &str, role: Role, password: &str) -> Result<i64> {
        self.create_account(username, role, password, "cli").await
    }

    /// How many users exist.
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("select count(*) from users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Check a username and password; `None` when they do not match an active user.
    pub async fn verify_password(&self, username: &str, password: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(
            "select id, role, password_hash from users where username = $1 and disabled = 0",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        // An unknown username costs the same argon2 work as a wrong password, so the time a
        // login takes does not tell whether the username exists.
        let hash: String = match &row {
            Some(row) => row.try_get("password_hash")?,
            None => dummy_hash().to_string(),
        };
        let password = password.to_string();
        // argon2 takes tens of milliseconds of CPU: off the async threads.
        let matches = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(|e| Error::Corrupt(e.to_string()))?;
            Ok::<_, Error>(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await
        .map_err(|e| Error::Corrupt(format!("password check failed: {e}")))??;
        let Some(row) = row.filter(|_| matches) else {
            return Ok(None);
        };
        let role: String = row.try_get("role")?;
        Ok(Some(UserRow {
            id: row.try_get("id")?,
            username: username.to_string(),
            role: Role::parse(&role).ok_or_else(|| Error::Corrupt(format!("role {role:?}")))?,
        }))
    }

    /// Create an API token from the command line (audited as `cli`); returns the token,
    /// which is stored only as a hash.
    pub async fn create_token(&self, name: &str, role: Role) -> Result<String> {
        self.create_token_for(name, role, "cli").await
    }

    /// The principal of a valid, unrevoked token.
    pub async fn verify_token(&self, token: &str) -> Result<Option<Principal>> {
        let row = sqlx::query(
            "select name, role from api_tokens where token_hash = $1 and revoked_at is null",
        )
        .bind(sha256_hex(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(Some(Principal {
            name: row.try_get("name")?,
            role: Role::parse(&role).ok_or_else(|| Error::Corrupt(format!("role {role:?}")))?,
            user_id: None,
        }))
    }

    /// Revoke every token with this name; returns how many.
    pub async fn revoke_tokens(&self, name: &str) -> Result<u64> {
        let mut w = self.begin_write().await?;
        let n = sqlx::query(
            "update api_tokens set revoked_at = $2 where name = $1 and revoked_at is null",
        )
        .bind(name)
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok(n)
    }
}
