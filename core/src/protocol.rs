//! The citizen's side of the conversation protocol, in one place for every channel: what a
//! button sends back ([`ButtonData`]) and the slash commands a citizen can type
//! ([`Command`]).
//!
//! Button data travels through the platforms as text (Telegram `callback_data`, a web chat
//! form field) and is stored as text in the outbox; [`ButtonData`]'s `Display` and `FromStr`
//! are the only encoder and decoder of that text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Action;

/// What pressing a button sends back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ButtonData {
    /// Pick a sheet a clarification offered: `sheet:<id>`.
    Sheet(String),
    /// Ask for a person: `operator`.
    Operator,
    /// Judge the answer to the citizen's message `message`: `fb:<message>:y|n`.
    Feedback {
        /// The citizen's message the answer replied to.
        message: i64,
        /// 👍 or 👎.
        useful: bool,
    },
    /// Rate a resolved conversation from 1 to 5: `rate:<conversation>:<score>`.
    Rate {
        /// The conversation rated.
        conversation: i64,
        /// From 1 to 5.
        score: u8,
    },
}

/// Button data that no button of Sportello's carries: stale or forged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown button data")]
pub struct UnknownButton;

impl fmt::Display for ButtonData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sheet(id) => write!(f, "sheet:{id}"),
            Self::Operator => f.write_str("operator"),
            Self::Feedback { message, useful } => {
                write!(f, "fb:{message}:{}", if *useful { "y" } else { "n" })
            }
            Self::Rate {
                conversation,
                score,
            } => write!(f, "rate:{conversation}:{score}"),
        }
    }
}

impl FromStr for ButtonData {
    type Err = UnknownButton;

    fn from_str(data: &str) -> Result<Self, UnknownButton> {
        if data == "operator" {
            return Ok(Self::Operator);
        }
        if let Some(id) = data.strip_prefix("sheet:") {
            return (!id.is_empty())
                .then(|| Self::Sheet(id.to_string()))
                .ok_or(UnknownButton);
        }
        let pair = |rest: &str| -> Result<(i64, String), UnknownButton> {
            let (id, value) = rest.split_once(':').ok_or(UnknownButton)?;
            Ok((id.parse().map_err(|_| UnknownButton)?, value.to_string()))
        };
        if let Some(rest) = data.strip_prefix("fb:") {
            let (message, verdict) = pair(rest)?;
            let useful = match verdict.as_str() {
                "y" => true,
                "n" => false,
                _ => return Err(UnknownButton),
            };
            return Ok(Self::Feedback { message, useful });
        }
        if let Some(rest) = data.strip_prefix("rate:") {
            let (conversation, score) = pair(rest)?;
            let score: u8 = score.parse().map_err(|_| UnknownButton)?;
            return (1..=5)
                .contains(&score)
                .then_some(Self::Rate {
                    conversation,
                    score,
                })
                .ok_or(UnknownButton);
        }
        Err(UnknownButton)
    }
}

impl From<ButtonData> for Action {
    fn from(data: ButtonData) -> Self {
        match data {
            ButtonData::Sheet(id) => Action::ChooseSheet(id),
            ButtonData::Operator => Action::RequestOperator,
            ButtonData::Feedback { message, useful } => Action::Feedback { message, useful },
            ButtonData::Rate {
                conversation,
                score,
            } => Action::Rate {
                conversation,
                score,
            },
        }
    }
}

impl Serialize for ButtonData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ButtonData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom(format!("unknown button data {text:?}")))
    }
}

/// Defines [`Command`] from one table, so that its names and the `Action` each stands for
/// cannot drift apart.
macro_rules! commands {
    ($( $(#[doc = $doc:literal])* $variant:ident = [$($name:literal),+] => $action:expr ;)*) => {
        /// The slash commands a citizen can type on any channel (`/operatore`). Other
        /// `/words` are read as text. What the bot answers to them is in `[texts]`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Command {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Command {
            /// Every command.
            pub const ALL: &[Command] = &[$(Self::$variant),*];

            /// The names it is typed as, without the slash; the first is the one to show.
            pub fn names(self) -> &'static [&'static str] {
                match self { $(Self::$variant => &[$($name),+],)* }
            }

            /// What the command asks for.
            pub fn description(self) -> &'static str {
                match self { $(Self::$variant => concat!($($doc),*).trim_ascii(),)* }
            }

            /// The citizen's action it stands for.
            pub fn action(self) -> Action {
                match self { $(Self::$variant => $action,)* }
            }
        }
    };
}

commands! {
    /// Start the conversation: the welcome text, with the office hours and the privacy notice.
    Start = ["start"] => Action::Start;
    /// What the bot can do.
    Help = ["help", "aiuto"] => Action::Help;
    /// Talk to a person: the conversation goes to the operators' queue.
    Operator = ["operatore", "operator"] => Action::RequestOperator;
}

impl Command {
    /// The command a message starts with: `/help`, `/Operatore per favore`, or
    /// `/start@OfficeBot` as Telegram writes commands in groups.
    pub fn parse(text: &str) -> Option<Self> {
        let word = text.split_whitespace().next()?;
        let name = word.strip_prefix('/')?;
        let name = name.split('@').next().unwrap_or(name).to_lowercase();
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.names().contains(&name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_data_round_trips_through_text() {
        for data in [
            ButtonData::Sheet("pink-card".into()),
            ButtonData::Operator,
            ButtonData::Feedback {
                message: 42,
                useful: false,
            },
            ButtonData::Feedback {
                message: 7,
                useful: true,
            },
            ButtonData::Rate {
                conversation: 7,
                score: 5,
            },
        ] {
            assert_eq!(data.to_string().parse::<ButtonData>(), Ok(data.clone()));
        }
        assert_eq!(
            ButtonData::Feedback {
                message: 42,
                useful: false
            }
            .to_string(),
            "fb:42:n"
        );
    }

    #[test]
    fn button_data_becomes_the_citizens_action() {
        let action: Action = "rate:7:5".parse::<ButtonData>().unwrap().into();
        assert_eq!(
            action,
            Action::Rate {
                conversation: 7,
                score: 5
            }
        );
        let action: Action = "sheet:x".parse::<ButtonData>().unwrap().into();
        assert_eq!(action, Action::ChooseSheet("x".into()));
    }

    #[test]
    fn malformed_or_forged_button_data_is_refused() {
        for data in [
            "",
            "sheet:",
            "fb:x:y",
            "fb:1:maybe",
            "fb:1",
            "rate:1:9",
            "rate:1:0",
            "rate:a:3",
            "<b>",
            "operatore",
        ] {
            assert_eq!(data.parse::<ButtonData>(), Err(UnknownButton), "{data:?}");
        }
    }

    #[test]
    fn button_data_is_stored_as_its_text() {
        let json = serde_json::to_string(&ButtonData::Operator).unwrap();
        assert_eq!(json, "\"operator\"");
        assert!(serde_json::from_str::<ButtonData>("\"nope\"").is_err());
    }

    #[test]
    fn commands_are_read_in_any_case_with_or_without_the_bot_name() {
        assert_eq!(Command::parse("/start"), Some(Command::Start));
        assert_eq!(Command::parse("/Aiuto"), Some(Command::Help));
        assert_eq!(
            Command::parse("/operatore per favore"),
            Some(Command::Operator)
        );
        assert_eq!(Command::parse("/start@UrpBot"), Some(Command::Start));
        assert_eq!(Command::parse("operatore"), None);
        assert_eq!(Command::parse("/orari"), None);
        assert_eq!(Command::parse(""), None);
    }

    #[test]
    fn every_command_has_a_description_and_a_name() {
        for c in Command::ALL {
            assert!(!c.description().is_empty());
            assert!(!c.names().is_empty());
        }
        assert!(Command::Operator.description().contains("person"));
    }
}
