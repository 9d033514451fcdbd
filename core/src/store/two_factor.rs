//! Two-factor login with time-based one-time passwords (TOTP, RFC 6238: HMAC-SHA-1, six
//! digits, 30-second steps, one step of clock skew either way), computed by the `totp-rs`
//! crate, and one-time recovery codes for a lost phone.
//!
//! Setting up takes two steps: [`Store::begin_two_factor`] stores a new secret for the user
//! to add to an authenticator app; [`Store::confirm_two_factor`] turns it on once the app's
//! first code matches, and returns the recovery codes (stored only as hashes). A code's time
//! step is remembered, so the same code cannot log in twice.

use rand::RngCore;
use sqlx::Row;
use totp_rs::{Algorithm, Secret, TOTP};

use super::{Store, audit};
use crate::error::{Error, Refusal, Result};
use crate::secret::{constant_time_eq, sha256_hex};

/// Seconds per TOTP step.
const STEP: u64 = 30;
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;

/// A user's two-factor state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactor {
    /// Whether logins need a code.
    pub enabled: bool,
    /// The base32 secret, while it is being set up (not once enabled).
    pub pending_secret: Option<String>,
    /// Recovery codes not used yet.
    pub recovery_left: i64,
}

fn totp(secret_base32: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .map_err(|e| Error::Corrupt(format!("TOTP secret: {e:?}")))?;
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, bytes)
        .map_err(|e| Error::Corrupt(format!("TOTP secret: {e}")))
}

/// The code an authenticator shows at `unix_secs` for a base32 secret.
pub fn totp_code(secret_base32: &str, unix_secs: u64) -> Result<String> {
    Ok(totp(secret_base32)?.generate(unix_secs))
}

/// The time step of `code` for this secret at `unix_secs` (one step either way allowed).
fn matching_step(secret_base32: &str, code: &str, unix_secs: u64) -> Result<Option<i64>> {
    let t = totp(secret_base32)?;
    let now = unix_secs / STEP;
    Ok([now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| constant_time_eq(t.generate(step * STEP), code.trim()))
        .map(|s| s as i64))
}

/// A recovery code as the user types it, normalised: lowercase letters and digits only.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A new recovery code: `xxxxx-xxxxx`, from an alphabet without look-alike characters.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

impl Store {
    fn unix_secs(&self) -> u64 {
        (self.now_ms().max(0) / 1000) as u64
    }

    /// A user's two-factor state.
    pub async fn two_factor(&self, user_id: i64) -> Result<TwoFactor> {
        let row = sqlx::query(
            "select totp_secret, totp_enabled_at, \
             (select count(*) from recovery_codes where user_id = $1 and used_at is null) as left_ \
             from users where id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Refusal::NoUser(user_id))?;
        let enabled = row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some();
        Ok(TwoFactor {
            enabled,
            pending_secret: row
                .try_get::<Option<String>, _>("totp_secret")?
                .filter(|_| !enabled),
            recovery_left: row.try_get("left_")?,
        })
    }

    /// Start setting up two-factor login: a new secret, returned in base32 for the app.
    pub async fn begin_two_factor(&self, user_id: i64) -> Result<String> {
        let mut bytes = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let Secret::Encoded(secret) = Secret::Raw(bytes).to_encoded() else {
            return Err(Error::Corrupt("TOTP secret encoding".into()));
        };
        let mut w = self.begin_write().await?;
        sqlx::query(
            "update users set totp_secret = $2, totp_enabled_at = null, totp_last_step = 0 \
             where id = $1",
        )
        .bind(user_id)
        .bind(&secret)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(secret)
    }

    /// Turn two-factor login on when `code` matches the secret being set up; returns the
    /// recovery codes, shown once.
    pub async fn confirm_two_factor(
        &self,
        user_id: i64,
        code: &str,
        actor: &str,
    ) -> Result<Vec<String>> {
        let secret = self
            .two_factor(user_id)
            .await?
            .pending_secret
            .ok_or(Refusal::WrongCode)?;
        let step = matching_step(&secret, code, self.unix_secs())?.ok_or(Refusal::WrongCode)?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let mut w = self.begin_write().await?;
        sqlx::query(
            "update users set totp_enabled_at = $2, totp_last_step = $3 where id = $1 \
             and totp_secret = $4",
        )
        .bind(user_id)
        .bind(self.now_ms())
        .bind(step)
        .bind(&secret)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *w.tx)
            .await?;
        for c in &codes {
            sqlx::query("insert into recovery_codes (user_id, code_hash) values ($1, $2)")
                .bind(user_id)
                .bind(sha256_hex(normalise(c)))
                .execute(&mut *w.tx)
                .await?;
        }
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "user.two_factor_on",
            &format!("user:{actor}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await?;
        Ok(codes)
    }

    /// Turn two-factor login off (the user, or an admin for a user who lost the phone and
    /// the codes).
    pub async fn disable_two_factor(&self, user_id: i64, actor: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let name: Option<String> = sqlx::query_scalar(
            "update users set totp_secret = null, totp_enabled_at = null where id = $1 \
             returning username",
        )
        .bind(user_id)
        .fetch_optional(&mut *w.tx)
        .await?;
        let name = name.ok_or(Refusal::NoUser(user_id))?;
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *w.tx)
            .await?;
        audit(
            &mut w.tx,
            self.now_ms(),
            actor,
            "user.two_factor_off",
            &format!("user:{name}"),
            &serde_json::Value::Null,
        )
        .await?;
        w.commit().await
    }

    /// Check a login's second factor: a current TOTP code not used before, or an unused
    /// recovery code (then used up). `false` when neither.
    pub async fn verify_second_factor(&self, user_id: i64, code: &str) -> Result<bool> {
        let row = sqlx::query(
            "select totp_secret from users \
             where id = $1 and totp_enabled_at is not null",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let secret: String = row.try_get("totp_secret")?;
        let mut w = self.begin_write().await?;
        if let Some(step) = matching_step(&secret, code, self.unix_secs())? {
            // Only a later step than the last accepted one: a code is good once.
            let n = sqlx::query(
                "update users set totp_last_step = $2 where id = $1 and totp_last_step < $2",
            )
            .bind(user_id)
            .bind(step)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            w.commit().await?;
            return Ok(n == 1);
        }
        let n = sqlx::query(
            "update recovery_codes set used_at = $3 \
             where user_id = $1 and code_hash = $2 and used_at is null",
        )
        .bind(user_id)
        .bind(sha256_hex(normalise(code)))
        .bind(self.now_ms())
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_sha1_test_vector_gives_its_code() {
        // RFC 6238 appendix B: the ASCII key "12345678901234567890", T = 59 s → 94287082
        // with eight digits; six digits are its last six.
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!(),
        };
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
        assert_eq!(totp_code(&secret, 1_111_111_109).unwrap(), "081804");
    }

    #[test]
    fn a_code_from_the_previous_step_is_accepted_and_one_from_two_steps_ago_is_not() {
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!(),
        };
        let code = totp_code(&secret, 3000).unwrap();
        assert_eq!(matching_step(&secret, &code, 3030).unwrap(), Some(100));
        assert_eq!(matching_step(&secret, &code, 3060).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_read_without_case_or_dashes() {
        let c = recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(
            normalise(&c.to_uppercase().replace('-', " ")),
            normalise(&c)
        );
    }
}
