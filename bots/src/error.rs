//! The one error type of the adapters' set-up.

/// A channel cannot start with this configuration or this build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration key is missing or wrong; the message names what to change.
    #[error("configuration key `{key}`: {message}")]
    Config {
        /// The key at fault.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The channel is enabled but this build does not contain it.
    #[error(
        "configuration key `{key}`: the {channel} channel is not available in this build of Sportello"
    )]
    NotBuilt {
        /// The `enabled` key that asks for it.
        key: &'static str,
        /// The channel.
        channel: &'static str,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl Error {
    /// The configuration key to change, for messages and exit codes.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::Config { key, .. } | Self::NotBuilt { key, .. } => Some(key),
            Self::Client(_) => None,
        }
    }
}
