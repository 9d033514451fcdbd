//! `[texts]`: every sentence the bot says to citizens, in Italian.

use serde::{Deserialize, Serialize};

/// `[texts]`: every sentence the bot says. `{ref}` is the conversation's reference number,
/// `{title}` a sheet's title, `{office}` an office's name, `{hours}` the office hours.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    /// Reply to a greeting.
    pub greeting: String,
    /// Reply to thanks.
    pub thanks: String,
    /// Reply to a goodbye.
    pub goodbye: String,
    /// Reply to an acknowledgement alone ("ok", "va bene"): never a handoff.
    pub acknowledgement: String,
    /// Reply to abuse (the conversation also goes to an operator).
    pub abuse: String,
    /// Reply to an empty message or one with nothing to match.
    pub empty: String,
    /// The citizen asked for a person.
    pub person_requested: String,
    /// No sheet fits: an operator will answer.
    pub no_match: String,
    /// The matched sheet must be handled by an operator.
    pub sheet_requires_operator: String,
    /// Before the choices of a clarification.
    pub clarify: String,
    /// The button that asks for a person.
    pub operator_button: String,
    /// Before the responsible office in an answer.
    pub office_label: String,
    /// The one acknowledgement for messages written while waiting for an operator.
    pub queued_ack: String,
    /// When operators answer: written from `[office]` when it holds `{days}`, `{opening}`,
    /// `{closing}` (the shipped value does), so every text and the desk's sheets agree.
    pub hours: String,
    /// The names of the days, Monday first (seven of them).
    pub weekdays: Vec<String>,
    /// Consecutive working days in `{hours}`: `{first}` and `{last}` are day names.
    pub day_range: String,
    /// Other working days in `{hours}`: `{days}` all but the last, joined by commas.
    pub day_list: String,
    /// When a closed office reopens: `{weekday}`, `{date}` (day/month), `{time}`.
    pub reopening_time: String,
    /// Added to a handoff notice or a queue status while the office is closed: `{reopens}`.
    pub office_closed: String,
    /// The answer to the first message written while waiting in the queue: `{position}`.
    pub queue_status: String,
    /// Before a sheet's answer given while the conversation waits in the queue.
    pub automatic_answer: String,
    /// Welcome for a new chat (`/start`); `{hours}` and `{privacy}` are replaced.
    pub welcome: String,
    /// What the bot can do (`/help`).
    pub help: String,
    /// Address of the privacy notice, linked from the welcome.
    pub privacy_url: String,
    /// Label of the button saying an answer helped.
    pub useful_button: String,
    /// Label of the button saying an answer did not help.
    pub not_useful_button: String,
    /// Thanks for a 👍 (shown briefly, e.g. as a Telegram notification).
    pub feedback_thanks: String,
    /// After a 👎: before the other sheets and the operator button.
    pub feedback_negative: String,
    /// After a 👎 when there is no other sheet to offer: before the operator button.
    pub feedback_negative_alone: String,
    /// A clarification left with no sheet to offer: before the operator button.
    pub no_choices: String,
    /// The accessible name of the one-star rating button.
    pub rating_star: String,
    /// The accessible name of the other rating buttons: `{n}` stars.
    pub rating_stars: String,
    /// Subject of the email copy of an operator's reply to a web chat citizen who left an
    /// address and is not connected: `{ref}`.
    pub reply_email_subject: String,
    /// The sentence before the reply in that email: `{ref}`.
    pub reply_email_intro: String,
    /// After the reply in that email, when `console.public_url` is set: the citizen's
    /// personal link back to the conversation, `{link}`, valid `{days}`.
    pub reply_email_resume: String,
    /// After an operator closed the conversation: asks for a rating.
    pub rating_request: String,
    /// Thanks for a rating.
    pub rating_thanks: String,
    /// A file or photo was received and goes to an operator.
    pub attachment_received: String,
    /// Something the bot cannot read (voice, sticker, location).
    pub unsupported: String,
    /// A button that is no longer valid was pressed.
    pub stale_button: String,
    /// An operator moved the conversation to another office; `{office}` is its name.
    pub transferred: String,
}

/// The shipped configuration file: the one place the default texts are written.
const SHIPPED: &str = include_str!("../../../config/sportello.toml");

/// The shipped file, parsed once.
fn shipped() -> &'static toml::Table {
    static TABLE: std::sync::OnceLock<toml::Table> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| toml::from_str(SHIPPED).expect("config/sportello.toml is valid TOML"))
}

/// A text of another section of the shipped file (e.g. `x.handoff_text`), for that section's
/// defaults.
pub(crate) fn shipped_text(section: &str, key: &str) -> String {
    shipped()
        .get(section)
        .and_then(|s| s.get(key)?.as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("config/sportello.toml carries {section}.{key}"))
}

impl Texts {
    /// Check what the types alone do not; the error names the key.
    pub fn validate(&self) -> Result<(), super::ConfigError> {
        if self.weekdays.len() != 7 || self.weekdays.iter().any(|d| d.trim().is_empty()) {
            return Err(super::ConfigError::new(
                "texts.weekdays",
                None,
                "expected the seven day names, Monday first",
            ));
        }
        Ok(())
    }

    /// The texts with `{hours}` written from the office calendar.
    pub fn for_office(mut self, calendar: &crate::calendar::Calendar) -> Self {
        self.hours = crate::hours::describe(calendar, &self);
        self
    }
}

impl Default for Texts {
    /// The texts of the shipped `config/sportello.toml`, hours written from its `[office]`.
    fn default() -> Self {
        let texts: Texts = shipped()
            .get("texts")
            .cloned()
            .and_then(|t| t.try_into().ok())
            .expect("config/sportello.toml carries every text");
        let office: crate::calendar::OfficeConfig = shipped()
            .get("office")
            .cloned()
            .and_then(|t| t.try_into().ok())
            .expect("config/sportello.toml carries [office]");
        let calendar = office.calendar().expect("the shipped [office] is valid");
        texts.for_office(&calendar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_texts_are_the_shipped_ones() {
        let t = Texts::default();
        assert!(t.welcome.starts_with("Benvenuto!"));
        assert_eq!(t.hours, "dal lunedì al venerdì, dalle 9:00 alle 17:00");
        assert!(shipped_text("x", "handoff_text").contains("{ref}"));
    }
}
