//! `[webchat]`: the citizen web chat under `/chat`.

use serde::{Deserialize, Serialize};

/// `[webchat]`: the citizen web chat under `/chat`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebchatConfig {
    /// Whether the citizen web chat is served under `/chat`.
    pub enabled: bool,
    /// The chat page's heading.
    pub title: String,
    /// The sentence under the heading.
    pub intro: String,
    /// Messages (and button presses) one browser session may send per minute.
    pub rate_per_session: u32,
    /// Messages one IP address may send per minute, all its sessions together.
    pub rate_per_ip: u32,
    /// Longest message a citizen may write, in characters.
    pub text_limit: usize,
    /// Who may show the chat in a frame: the CSP `frame-ancestors` value, e.g.
    /// `'self' https://www.comune.example.it` for the embeddable widget.
    pub frame_ancestors: String,
    /// Shown when a session or address writes too fast.
    pub rate_limited: String,
    /// Shown when a message is longer than `text_limit`.
    pub too_long: String,
    /// Shown when the page is stale (its security token no longer matches the session).
    pub expired: String,
    /// Heading of the box where a citizen may leave an email address for the reply.
    pub reach_title: String,
    /// The short privacy notice in that box (the full notice is `texts.privacy_url`).
    pub reach_notice: String,
    /// Shown when the address (and phone) are saved.
    pub reach_saved: String,
    /// Shown when the address or the phone number is not valid, or consent is missing.
    pub reach_invalid: String,
    /// How many days a personal resume link (`/chat/resume/…`) lets the citizen come back to
    /// the conversation; 1 to 365.
    pub resume_days: u32,
    /// The heading of the box with the resume link on the chat page.
    pub resume_title: String,
    /// Above the resume link on the chat page: `{days}`.
    pub resume_notice: String,
    /// The page of a resume link whose days are over.
    pub resume_expired: String,
    /// The page of a resume link that is not genuine (altered, or not one of ours).
    pub resume_invalid: String,
}

impl Default for WebchatConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            title: "Scrivi all'URP".into(),
            intro: "Fai la tua domanda: l'assistente risponde con le informazioni delle nostre schede, e un operatore può prendere in carico la conversazione.".into(),
            rate_per_session: 10,
            rate_per_ip: 60,
            text_limit: 2000,
            frame_ancestors: "'self'".into(),
            rate_limited: "Stai scrivendo troppo in fretta. Attendi un minuto e riprova, per favore.".into(),
            too_long: "Il messaggio è troppo lungo. Dividilo in più messaggi, per favore.".into(),
            expired: "La pagina è scaduta. Ricaricala e riprova, per favore.".into(),
            reach_title: super::texts::shipped_text("webchat", "reach_title"),
            reach_notice: super::texts::shipped_text("webchat", "reach_notice"),
            reach_saved: super::texts::shipped_text("webchat", "reach_saved"),
            reach_invalid: super::texts::shipped_text("webchat", "reach_invalid"),
            resume_days: 30,
            resume_title: super::texts::shipped_text("webchat", "resume_title"),
            resume_notice: super::texts::shipped_text("webchat", "resume_notice"),
            resume_expired: super::texts::shipped_text("webchat", "resume_expired"),
            resume_invalid: super::texts::shipped_text("webchat", "resume_invalid"),
        }
    }
}

impl WebchatConfig {
    /// Check what the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), super::ConfigError> {
        if !(1..=365).contains(&self.resume_days) {
            return Err(super::ConfigError::new(
                "webchat.resume_days",
                Some(self.resume_days.to_string()),
                "must be between 1 and 365 days",
            ));
        }
        Ok(())
    }
}
