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
