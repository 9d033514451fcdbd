//! The core's error type.

/// What can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached, opened or written.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The sheets could not be loaded.
    #[error(transparent)]
    Sheets(#[from] sportello_faq::Problems),
    /// Something asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. already claimed).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is invalid.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A request refused for a reason a person should read.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// A request the store or intake refuses for a reason a person should read: typed, so that
/// each interface words it in its own language (the console in Italian, the command line and
/// the logs in English, through `Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No conversation with this id.
    #[error("conversation {0} not found")]
    NoConversation(i64),
    /// No open conversation with this id.
    #[error("open conversation {0} not found")]
    NoOpenConversation(i64),
    /// Claiming a conversation that is not waiting.
    #[error("conversation {conversation} is {}{}", .status.as_str(), .holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    NotWaiting {
        /// The conversation.
        conversation: i64,
        /// Its status (`assigned`, `resolved`).
        status: crate::model::ConversationStatus,
        /// The user holding it, when one does.
        holder: Option<String>,
    },
    /// Acting on a conversation nobody holds.
    #[error("conversation {0} is not assigned")]
    NotAssigned(i64),
    /// Replying to a conversation someone else holds.
    #[error("conversation {conversation} is not assigned to {actor}")]
    NotAssignedTo {
        /// The conversation.
        conversation: i64,
        /// Who tried.
        actor: String,
    },
    /// Resolving a resolved conversation.
    #[error("conversation {0} is already resolved")]
    AlreadyResolved(i64),
    /// An empty reply.
    #[error("the reply is empty")]
    EmptyReply,
    /// An empty note.
    #[error("the note is empty")]
    EmptyNote,
    /// An empty phrasing to teach.
    #[error("the phrasing is empty")]
    EmptyPhrasing,
    /// A proposed phrasing already accepted or dismissed.
    #[error("phrasing {0} was already decided")]
    PhrasingDecided(i64),
    /// A sheet id that does not exist.
    #[error("unknown sheet {0:?}")]
    UnknownSheet(String),
    /// An office id that does not exist.
    #[error("unknown office {0:?}")]
    UnknownOffice(String),
    /// A username that is empty or too long.
    #[error("username must be 1 to 64 characters")]
    UsernameLength,
    /// A token name that is empty or too long.
    #[error("token name must be 1 to 64 characters")]
    TokenNameLength,
    /// A password shorter than 8 characters.
    #[error("password must have at least 8 characters")]
    PasswordTooShort,
    /// A username taken.
    #[error("user {0:?} already exists")]
    UserExists(String),
    /// No user with this id.
    #[error("user {0} not found")]
    NoUser(i64),
    /// No active token with this id.
    #[error("active token {0} not found")]
    NoActiveToken(i64),
    /// No user with this name.
    #[error("user {0:?} not found")]
    NoUserNamed(String),
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A two-factor code that is wrong, expired or already used.
    #[error("the two-factor code is wrong or already used")]
    WrongCode,
}

/// What kind of refusal, for HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// What was named does not exist.
    NotFound,
    /// The current state does not allow it.
    Conflict,
    /// The input is not acceptable.
    Invalid,
}

impl Refusal {
    /// Its kind.
    pub fn kind(&self) -> RefusalKind {
        match self {
            Self::NoConversation(_)
            | Self::NoOpenConversation(_)
            | Self::NoUser(_)
            | Self::NoUserNamed(_)
            | Self::NoActiveToken(_) => RefusalKind::NotFound,
            Self::NotWaiting { .. }
            | Self::NotAssigned(_)
            | Self::NotAssignedTo { .. }
            | Self::AlreadyResolved(_)
            | Self::PhrasingDecided(_)
            | Self::UserExists(_) => RefusalKind::Conflict,
            Self::EmptyReply
            | Self::EmptyNote
            | Self::EmptyPhrasing
            | Self::UnknownSheet(_)
            | Self::UnknownOffice(_)
            | Self::UsernameLength
            | Self::TokenNameLength
            | Self::PasswordTooShort
            | Self::WrongPassword
            | Self::WrongCode => RefusalKind::Invalid,
        }
    }
}

impl Error {
    /// Whether this error means the database is unreachable or locked, rather than a bug or
    /// bad input; the CLI exits with code 2 for these.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(e) => is_unavailable(e),
            Self::Migrate(sqlx::migrate::MigrateError::Execute(e)) => is_unavailable(e),
            _ => false,
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Configuration(_) => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            match code.parse::<i64>() {
                // SQLite primary codes: BUSY, LOCKED, CANTOPEN.
                Ok(n) => matches!(n & 0xff, 5 | 6 | 14),
                // PostgreSQL: connection exceptions, unknown database, authentication,
                // server starting or shutting down, too many connections.
                Err(_) => {
                    code.starts_with("08")
                        || code.starts_with("28")
                        || code.starts_with("57P")
                        || code == "3D000"
                        || code == "53300"
                }
            }
        }
        _ => false,
    }
}

/// Short for `Result<T, core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
