//! Secrets: random tokens, their stored hashes, and constant-time comparison.
//!
//! One place for each, so that every token Sportello hands out (console sessions, CSRF
//! tokens, API tokens, web chat sessions) is made, stored and checked the same way.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A random 256-bit value, URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token: `spt_` and a random 256-bit value, so it is recognisable in a leak.
pub fn api_token() -> String {
    format!("spt_{}", random_token())
}

/// SHA-256 of some bytes, as lowercase hex: how tokens are stored.
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    hex(&Sha256::digest(data.as_ref()))
}

/// SHA-256 of several parts joined by NUL, so that part boundaries count, as hex. Used to
/// derive one secret from another for a named purpose.
pub fn derive_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b"\0");
        }
        h.update(part);
    }
    hex(&h.finalize())
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Whether two secrets are equal, taking the same time wherever they differ (their lengths
/// are not secret).
pub fn constant_time_eq(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> bool {
    let (a, b) = (a.as_ref(), b.as_ref());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The name of a user or an API token: trimmed, 1 to 64 characters. One rule for both,
/// because API tokens that act on conversations are named after their user.
pub fn account_name(name: &str) -> Option<&str> {
    let name = name.trim();
    (!name.is_empty() && name.chars().count() <= 64).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_url_safe() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert!(api_token().starts_with("spt_"));
    }

    #[test]
    fn sha256_hex_matches_the_standard_digest() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn derived_secrets_depend_on_part_boundaries() {
        assert_ne!(derive_hex(&[b"ab", b"c"]), derive_hex(&[b"a", b"bc"]));
        assert_eq!(derive_hex(&[b"a", b"b"]), sha256_hex("a\0b"));
    }

    #[test]
    fn comparison_needs_equal_length_and_bytes() {
        assert!(constant_time_eq("secret", "secret"));
        assert!(!constant_time_eq("secret", "secreT"));
        assert!(!constant_time_eq("secret", "secret!"));
        assert!(!constant_time_eq("", "x"));
    }

    #[test]
    fn account_names_are_trimmed_and_bounded() {
        assert_eq!(account_name("  crm "), Some("crm"));
        assert_eq!(account_name("   "), None);
        assert_eq!(account_name(&"x".repeat(65)), None);
        assert!(account_name(&"è".repeat(64)).is_some());
    }
}
