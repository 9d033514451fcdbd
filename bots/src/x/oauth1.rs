//! OAuth 1.0a user context (`x.auth = "oauth1"`): every request signed with HMAC-SHA1 over
//! the method, the URL and the query parameters (JSON bodies are not part of the signature).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sportello_core::config::Secret;

/// The four long-lived credentials, from the environment.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Consumer (API) key.
    pub consumer_key: Secret,
    /// Consumer secret.
    pub consumer_secret: Secret,
    /// Access token.
    pub token: Secret,
    /// Access token secret.
    pub token_secret: Secret,
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - . _ ~`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Authorization` header for a request, with this nonce and timestamp.
pub fn header(
    c: &Credentials,
    method: &str,
    url: &str,
    query: &[(String, String)],
    nonce: &str,
    timestamp: u64,
) -> String {
    let timestamp = timestamp.to_string();
    let oauth = [
        ("oauth_consumer_key", c.consumer_key.expose()),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", timestamp.as_str()),
        ("oauth_token", c.token.expose()),
        ("oauth_version", "1.0"),
    ];
    let mut params: Vec<(String, String)> = oauth
        .iter()
        .map(|(k, v)| (encode(k), encode(v)))
        .chain(query.iter().map(|(k, v)| (encode(k), encode(v))))
        .collect();
    params.sort();
    let joined: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(url),
        encode(&joined.join("&"))
    );
    let key = format!(
        "{}&{}",
        encode(c.consumer_secret.expose()),
        encode(c.token_secret.expose())
    );
    let signature = match Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(base.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    let mut parts: Vec<String> = oauth
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", encode(v)))
        .collect();
    parts.push(format!("oauth_signature=\"{}\"", encode(&signature)));
    format!("OAuth {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of X's "Creating a signature" guide.
    #[test]
    fn the_signature_matches_the_documented_example() {
        let c = Credentials {
            consumer_key: Secret::new("xvz1evFS4wEEPTGEFPHBog".into()),
            consumer_secret: Secret::new("kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw".into()),
            token: Secret::new("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb".into()),
            token_secret: Secret::new("LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE".into()),
        };
        let h = header(
            &c,
            "post",
            "https://api.twitter.com/1.1/statuses/update.json",
            &[
                ("include_entities".into(), "true".into()),
                (
                    "status".into(),
                    "Hello Ladies + Gentlemen, a signed OAuth request!".into(),
                ),
            ],
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            1_318_622_958,
        );
        assert!(
            h.contains("oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\""),
            "{h}"
        );
    }

    #[test]
    fn reserved_characters_are_percent_encoded() {
        assert_eq!(encode("Ladies + Gentlemen!"), "Ladies%20%2B%20Gentlemen%21");
        assert_eq!(encode("a-b._~"), "a-b._~");
    }
}
