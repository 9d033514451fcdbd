//! Passwords after the account exists: a user changes their own (knowing the current one),
//! an admin resets someone's to a temporary one that must be changed at the next login, and
//! the command line sets one. Also the name citizens see on a user's replies.
//!
//! Every change of password ends the user's other sessions, so whoever knew the old password
//! is logged out everywhere.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use sqlx::Row;

use super::{Store, audit};
use crate::error::{Error, Refusal, Result};
use crate::secret::sha256_hex;
use crate::store::users::hash_password;

/// The longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 60;

fn check_length(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(Refusal::PasswordTooShort.into());
    }
    Ok(())
}

/// A temporary password: 16 characters from a 256-bit random token, easy to read aloud.
fn temporary_password() -> String {
    crate::secret::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect()
}

impl Store {
    /// Change one's own password: `current` must be right. The user's sessions other than
    /// `keep_session` (the cookie's id) end; the forced change, if any, is done.
    pub async fn change_own_password(
        &self,
        user_id: i64,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        check_length(new)?;
        let row = sqlx::query("select username, password_hash from users where id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Refusal::NoUser(user_id))?;
        let username: String = row.try_get("username")?;
        let hash: String = row.try_get("password_hash")?;
        let current = current.to_string();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(current.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| Error::Corrupt(format!("password check failed: {e}")))?;
        if !matches {
            return Err(Refusal::WrongPassword.into());
        }
        self.store_password(user_id, &username, new, false, keep_session, &username)
            .await
    }

    /// Reset a user's password on an admin's behalf: a temporary password, returned to show
    /// once, which the user must change at the next login. The user's sessions end.
    pub async fn reset_password(&self, user_id: i64, actor: &str) -> Result<String> {
        let username: String = sqlx::query_scalar("select username from users where id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Refusal::NoUser(user_id))?;
        let password = temporary_password();
        self.store_password(user_id, &username, &password, true, None, actor)
            .await?;
        Ok(password)
    }

    /// Set a user's password from the command line (audited as `cli`); the user's sessions
    /// end. With `temporary`, it must be changed at the next login.
    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        temporary: bool,
    ) -> Result<()> {
        check_length(password)?;
        let id: i64 = sqlx::query_scalar("select id from users where username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Refusal::NoUserNamed(username.to_string()))?;
        self.store_password(id, username, password, temporary, None, "cli")
            .await
    }

    async fn store_password(
        &self,
        user_id: i64,
        username: &str,
        password: &str,
        must_change: bool,
        keep_session: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let hash = hash_password(password)?;
        let mut w = self.begin_write().await?;
        sqlx::query("update users set password_hash = $2, must_change_password = $3 where id = $1")
            .bind(user_id)
            .bind(hash)
            .bind(i64::from(must_change))
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("delete from sessions where user_id = $1 and id_hash <> $2")
            .bind(user_id)
            .bind(keep_session.map(sha256_hex).unwrap_or_default())
            .execute(&mut *w.tx)
            .await?;
        let action = if must_change {
            "user.password_reset"
        } else {
            "user.password"
        };
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            action,
            &format!("user:{username}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await
    }

    /// Set (or, with an empty name, clear) the name citizens see on a user's replies.
    pub async fn set_display_name(&self, user_id: i64, name: &str, actor: &str) -> Result<()> {
        let name = name.trim();
        if name.chars().count() > DISPLAY_NAME_MAX {
            return Err(Error::Invalid(format!(
                "il nome per i cittadini può avere al massimo {DISPLAY_NAME_MAX} caratteri"
            )));
        }
        let value = (!name.is_empty()).then_some(name);
        let mut w = self.begin_write().await?;
        let username: Option<String> = sqlx::query_scalar(
            "update users set display_name = $2 where id = $1 returning username",
        )
        .bind(user_id)
        .bind(value)
        .fetch_optional(&mut *w.tx)
        .await?;
        let username = username.ok_or(Refusal::NoUser(user_id))?;
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "user.display_name",
            &format!("user:{username}"),
            &serde_json::json!({ "display_name": value }),
        )
        .await?;
        w.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_password_is_long_enough_and_plain() {
        let p = temporary_password();
        assert_eq!(p.chars().count(), 16);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, temporary_password());
    }
}
