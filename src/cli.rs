//! The command line, as `../DESIGN.md`'s public interface defines it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Sportello: the multichannel front desk of a public administration's URP.
#[derive(Debug, Parser)]
#[command(name = "sportello", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything: migrations, enabled channels, dispatcher, console.
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Show the policy's decision for one message.
    Ask {
        /// Use these sheets (TOML folder or CSV) in memory instead of the store's.
        #[arg(long, value_name = "PATH")]
        sheets: Option<PathBuf>,
        /// Print JSON: the object `eval --output` writes, plus the reply text.
        #[arg(long)]
        json: bool,
        /// The message.
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Measure the matcher on labelled queries (`query<TAB>expected` lines).
    Eval {
        /// Use these sheets (TOML folder or CSV) in memory instead of the store's.
        #[arg(long, value_name = "PATH")]
        sheets: Option<PathBuf>,
        /// The labelled queries.
        queries: PathBuf,
        /// Write one JSON object per query to this file.
        #[arg(long, value_name = "RESULTS.jsonl")]
        output: Option<PathBuf>,
        /// Print the metrics as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check, import or export procedure sheets.
    Sheets {
        /// What to do with them.
        #[command(subcommand)]
        action: SheetsAction,
    },
    /// Manage console users.
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API tokens.
    Token {
        /// What to do.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Set up the X channel.
    X {
        /// What to do.
        #[command(subcommand)]
        action: XAction,
    },
}

/// `x` subcommands.
#[derive(Debug, Subcommand)]
pub enum XAction {
    /// Print the OAuth 2.0 authorization address; with `--code`, complete the flow and store
    /// the tokens.
    Authorize {
        /// The `code` X put in the redirect address.
        #[arg(long)]
        code: Option<String>,
    },
}

/// `sheets` subcommands. PATH is a folder of TOML sheets or a CSV file.
#[derive(Debug, Subcommand)]
pub enum SheetsAction {
    /// Report every problem, with file and line; exit 1 if there is any.
    Check {
        /// Folder or CSV file.
        path: PathBuf,
    },
    /// Validate and save into the store, each changed sheet as a new revision.
    Import {
        /// Folder or CSV file.
        path: PathBuf,
    },
    /// Write the store's sheets to a folder (one TOML per sheet) or a `.csv` file.
    Export {
        /// Folder or CSV file.
        path: PathBuf,
    },
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Works the queue.
    Operator,
    /// Maintains the sheets.
    Editor,
    /// Everything.
    Admin,
}

impl From<RoleArg> for sportello_core::model::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Operator => Self::Operator,
            RoleArg::Editor => Self::Editor,
            RoleArg::Admin => Self::Admin,
        }
    }
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a user; the password is read from standard input.
    Add {
        /// Login name.
        name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Set a user's password, read from standard input; the user's sessions end.
    Passwd {
        /// Login name.
        name: String,
        /// Make it temporary: the user must choose a new one at the next login.
        #[arg(long)]
        temporary: bool,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create an API token and print it once, alone on the last line.
    Create {
        /// A name for the token (who or what uses it).
        name: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}
