//! Personal resume links of the web chat: `/chat/resume/TOKEN`, where the token names the
//! conversation's thread and an expiry, signed with HMAC-SHA256.
//!
//! A web chat session lives in a browser cookie that ends with the browser. The link lets a
//! citizen come back to the same conversation later or from another device: whoever holds it
//! is that citizen for the chat, so it is offered only to them (their own page, the email
//! copy of an operator's reply to the address they left) and it expires after
//! `webchat.resume_days`.
//!
//! The key is derived from a server secret kept in the database ([`SECRET_NAME`], made on
//! first use), so links survive restarts and every instance on one database accepts them.
//! The same key signs the cookie of a browser that opened a link (see
//! `sportello_bots::webchat::session`), so that cookie cannot be forged for another thread.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Result;
use crate::secret::{constant_time_eq, derive_hex};
use crate::store::Store;

/// The name of the server secret the key is derived from.
pub const SECRET_NAME: &str = "webchat-resume";

/// Where a resume link points, under the console's address; the token follows.
pub const PATH: &str = "/chat/resume/";

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a token at all, or signed with another key, or altered: nothing is revealed.
    Invalid,
    /// Genuine, but its days are over.
    Expired,
}

/// The key that signs resume links and resumed sessions.
#[derive(Clone)]
pub struct ResumeKey {
    key: String,
}

impl std::fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeKey(…)")
    }
}

impl ResumeKey {
    /// The key derived from a server secret.
    pub fn from_secret(secret: &str) -> Self {
        Self {
            key: derive_hex(&[b"sportello webchat resume key", secret.as_bytes()]),
        }
    }

    /// The key of the store's server secret, made on first use.
    pub async fn load(store: &Store) -> Result<Self> {
        Ok(Self::from_secret(&store.server_secret(SECRET_NAME).await?))
    }

    fn mac(&self, purpose: &str, parts: &[&str]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        for part in parts {
            mac.update(b"\0");
            mac.update(part.as_bytes());
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The token of a link to `thread` valid until `expires_at` (unix seconds):
    /// `THREAD.EXPIRES.SIGNATURE`.
    pub fn token(&self, thread: &str, expires_at: i64) -> String {
        let expires = expires_at.to_string();
        let mac = self.mac("link", &[thread, &expires]);
        format!("{thread}.{expires}.{mac}")
    }

    /// The thread a token names, when it is genuine and has not expired at `now_ms`. The
    /// signature is checked first, so an altered expiry is refused as invalid.
    pub fn verify(&self, token: &str, now_ms: i64) -> std::result::Result<String, Refused> {
        let mut parts = token.split('.');
        let (Some(thread), Some(expires), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refused::Invalid);
        };
        if !valid_thread(thread) || !constant_time_eq(self.mac("link", &[thread, expires]), mac) {
            return Err(Refused::Invalid);
        }
        let expires_at: i64 = expires.parse().map_err(|_| Refused::Invalid)?;
        if expires_at.saturating_mul(1000) <= now_ms {
            return Err(Refused::Expired);
        }
        Ok(thread.to_string())
    }

    /// The signature that binds a resumed browser session to `thread`.
    pub fn session_mac(&self, thread: &str) -> String {
        self.mac("session", &[thread])
    }

    /// Whether `mac` is [`ResumeKey::session_mac`] of `thread` (compared in constant time).
    pub fn session_matches(&self, thread: &str, mac: &str) -> bool {
        valid_thread(thread) && constant_time_eq(self.session_mac(thread), mac)
    }
}

/// A web chat thread: a letter and hex digits, as the chat makes them.
fn valid_thread(thread: &str) -> bool {
    (2..=64).contains(&thread.len())
        && thread.starts_with('w')
        && thread[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resume links as this deployment makes them: the key, how long they last, and the
/// console's public address for links that leave the page (email).
#[derive(Debug, Clone)]
pub struct ResumeLinks {
    key: ResumeKey,
    days: u32,
    public_url: String,
}

impl ResumeLinks {
    /// Links signed with `key`, valid `days`, under `public_url` (empty: only the chat page,
    /// which knows its own address, offers them).
    pub fn new(key: ResumeKey, days: u32, public_url: &str) -> Self {
        Self {
            key,
            days,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &ResumeKey {
        &self.key
    }

    /// How many days a link lasts.
    pub fn days(&self) -> u32 {
        self.days
    }

    /// The path (`/chat/resume/TOKEN`) of a link to `thread` made at `now_ms`.
    pub fn path(&self, thread: &str, now_ms: i64) -> String {
        let expires_at = now_ms / 1000 + i64::from(self.days) * 86_400;
        format!("{PATH}{}", self.key.token(thread, expires_at))
    }

    /// The whole link under `public_url`, when it is set.
    pub fn public_link(&self, thread: &str, now_ms: i64) -> Option<String> {
        (!self.public_url.is_empty())
            .then(|| format!("{}{}", self.public_url, self.path(thread, now_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREAD: &str = "w0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000_000;

    fn key() -> ResumeKey {
        ResumeKey::from_secret("a server secret")
    }

    #[test]
    fn a_link_names_its_thread_until_it_expires() {
        let token = key().token(THREAD, NOW / 1000 + 60);
        assert_eq!(key().verify(&token, NOW), Ok(THREAD.to_string()));
        assert_eq!(key().verify(&token, NOW + 59_999), Ok(THREAD.to_string()));
        assert_eq!(key().verify(&token, NOW + 60_000), Err(Refused::Expired));
    }

    #[test]
    fn a_link_lasts_the_configured_days() {
        let links = ResumeLinks::new(key(), 30, "https://urp.example.it/");
        let path = links.path(THREAD, NOW);
        let token = path.strip_prefix(PATH).unwrap();
        let day = 86_400_000;
        assert!(key().verify(token, NOW + 30 * day - 1).is_ok());
        assert_eq!(key().verify(token, NOW + 30 * day), Err(Refused::Expired));
        assert_eq!(
            links.public_link(THREAD, NOW).unwrap(),
            format!("https://urp.example.it{path}")
        );
        assert_eq!(
            ResumeLinks::new(key(), 30, "").public_link(THREAD, NOW),
            None
        );
    }

    #[test]
    fn an_altered_link_is_invalid_even_when_its_expiry_is_pushed_back() {
        let token = key().token(THREAD, NOW / 1000 - 1);
        assert_eq!(key().verify(&token, NOW), Err(Refused::Expired));
        let later = token.replace(
            &(NOW / 1000 - 1).to_string(),
            &(NOW / 1000 + 1000).to_string(),
        );
        assert_eq!(key().verify(&later, NOW), Err(Refused::Invalid));
        let other = token.replacen("w0", "w1", 1);
        assert_eq!(key().verify(&other, NOW), Err(Refused::Invalid));
        let mut flipped = key().token(THREAD, NOW / 1000 + 60);
        let last = if flipped.ends_with('A') { "B" } else { "A" };
        flipped.pop();
        flipped.push_str(last);
        assert_eq!(key().verify(&flipped, NOW), Err(Refused::Invalid));
    }

    #[test]
    fn a_link_of_another_key_or_no_link_at_all_is_invalid() {
        let token = ResumeKey::from_secret("another").token(THREAD, NOW / 1000 + 60);
        assert_eq!(key().verify(&token, NOW), Err(Refused::Invalid));
        for bad in ["", "x", "a.b.c", "a.b.c.d", &format!("{THREAD}.9.")] {
            assert_eq!(key().verify(bad, NOW), Err(Refused::Invalid), "{bad}");
        }
    }

    #[test]
    fn a_resumed_session_is_bound_to_its_thread() {
        let mac = key().session_mac(THREAD);
        assert!(key().session_matches(THREAD, &mac));
        assert!(!key().session_matches("w0123", &mac));
        assert!(!ResumeKey::from_secret("another").session_matches(THREAD, &mac));
        assert!(!format!("{:?}", key()).contains(&key().key));
    }
}
