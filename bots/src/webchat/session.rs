//! The citizen's anonymous session: a random 256-bit id in the `sportello_chat` cookie.
//!
//! The cookie value itself is never stored. The thread (also the contact's external id) is a
//! hash of it, so that neither the database nor an operator reading it can act as the
//! citizen; the CSRF token is another hash of it, so that it needs no server-side state,
//! survives restarts and works across processes, while a page on another site, which cannot
//! read the HttpOnly cookie or our pages, cannot compute it.
//!
//! The cookie is `SameSite=Lax`: a citizen following a link to `/chat` from the office's
//! website or an email keeps their conversation (`Strict` would drop the cookie on that first
//! navigation and start a new one); POSTs are protected by the CSRF token, not by `SameSite`.
//! It has no `Max-Age`: it ends when the browser closes, so the next person at a shared
//! library computer does not see the conversation.
//!
//! A browser that opened a personal resume link gets a second kind of cookie,
//! `THREAD.SIGNATURE`: the thread itself (it cannot be derived from a new random value),
//! signed with the server's resume key ([`sportello_core::resume`]) so that no one can write
//! a cookie for another citizen's thread.

use axum::http::{HeaderMap, HeaderValue, header};
use sportello_core::resume::ResumeKey;
use sportello_core::secret::{constant_time_eq, derive_hex, hex};

/// The cookie's name.
pub const COOKIE: &str = "sportello_chat";

/// A session, known by its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The cookie's value.
    secret: String,
    thread: String,
}

impl Session {
    /// A new random session.
    pub fn new() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self::fresh(hex(&bytes))
    }

    fn fresh(secret: String) -> Self {
        let thread = format!("w{}", &derive(&secret, "thread")[..32]);
        Self { secret, thread }
    }

    /// The session of a browser that opened a genuine resume link to `thread`.
    pub fn resumed(thread: &str, key: &ResumeKey) -> Self {
        Self {
            secret: format!("{thread}.{}", key.session_mac(thread)),
            thread: thread.to_string(),
        }
    }

    /// The session in the request's cookie, when there is a well-formed one: a random one,
    /// or a resumed one signed with `key`.
    pub fn from_headers(headers: &HeaderMap, key: Option<&ResumeKey>) -> Option<Self> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value.trim())?;
        if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Self::fresh(value.to_ascii_lowercase()));
        }
        let (thread, mac) = value.split_once('.')?;
        key.filter(|k| k.session_matches(thread, mac))
            .map(|k| Self::resumed(thread, k))
    }

    /// The thread and contact id stored for this session.
    pub fn thread(&self) -> String {
        self.thread.clone()
    }

    /// The token the page sends back with every POST.
    pub fn csrf(&self) -> String {
        self.derive("csrf")
    }

    /// Whether `token` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        let expected = self.csrf();
        constant_time_eq(expected, token)
    }

    /// The `Set-Cookie` value that gives the browser this session.
    pub fn cookie(&self, secure: bool) -> HeaderValue {
        let mut c = format!(
            "{COOKIE}={}; Path=/chat; HttpOnly; SameSite=Lax",
            self.secret
        );
        if secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static(""))
    }

    fn derive(&self, purpose: &str) -> String {
        derive(&self.secret, purpose)
    }
}

fn derive(secret: &str, purpose: &str) -> String {
    derive_hex(&[
        format!("sportello webchat {purpose}").as_bytes(),
        secret.as_bytes(),
    ])
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn a_session_is_read_back_from_its_cookie() {
        let s = Session::new();
        let set = s.cookie(false);
        let value = set.to_str().unwrap().split(';').next().unwrap().to_string();
        let read = Session::from_headers(&headers(&format!("other=1; {value}")), None).unwrap();
        assert_eq!(read, s);
        assert!(set.to_str().unwrap().contains("HttpOnly; SameSite=Lax"));
        assert!(s.cookie(true).to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn a_malformed_cookie_is_no_session() {
        for bad in [
            "sportello_chat=abc",
            "sportello_chat=",
            "x=1",
            &format!("sportello_chat={}", "g".repeat(64)),
        ] {
            assert_eq!(Session::from_headers(&headers(bad), None), None, "{bad}");
        }
    }

    #[test]
    fn the_thread_and_token_do_not_reveal_the_cookie() {
        let s = Session::new();
        assert!(!s.thread().contains(&s.secret[..16]));
        assert_ne!(s.csrf(), s.secret);
        assert!(s.csrf_matches(&s.csrf()));
        assert!(!s.csrf_matches(&Session::new().csrf()));
        assert!(!s.csrf_matches(""));
        assert_ne!(s.thread(), Session::new().thread());
    }

    #[test]
    fn a_resumed_session_is_read_back_only_with_its_key() {
        let key = ResumeKey::from_secret("server");
        let thread = Session::new().thread();
        let s = Session::resumed(&thread, &key);
        let value = s
            .cookie(false)
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let read = Session::from_headers(&headers(&value), Some(&key)).unwrap();
        assert_eq!(read.thread(), thread);
        assert!(read.csrf_matches(&s.csrf()));
        assert_eq!(Session::from_headers(&headers(&value), None), None);
        let other = ResumeKey::from_secret("another");
        assert_eq!(Session::from_headers(&headers(&value), Some(&other)), None);
        let forged = value.replacen(&thread, &Session::new().thread(), 1);
        assert_eq!(Session::from_headers(&headers(&forged), Some(&key)), None);
    }
}
