//! Sportello as a library: the one assembly of the pipeline ([`App`]) and the commands of the
//! `sportello` binary, which is a thin `main` over them.
//!
//! # Layout
//!
//! - [`app`]: [`App::build`] turns a configuration and a bound listener into the whole
//!   service (store, knowledge, policy, intake, channels, dispatcher, console); `serve`, the
//!   tests and the benchmarks all use it. [`app::Running`] stops it gracefully.
//! - [`setup`]: configuration, logging, the store and the sheets, shared by the commands.
//! - [`cli`]: the clap definitions of every command.
//! - [`sheets_cmd`]: `ask`, `eval` and `sheets check|import|export`.
//! - [`access`]: `user add`, `user passwd` and `token create`.
//!
//! Exit codes: 0 success, 1 failure (e.g. problems found in sheets), 2 configuration error or
//! database unavailable.

pub mod access;
pub mod app;
pub mod cli;
pub mod setup;
pub mod sheets_cmd;

pub use app::App;

use crate::cli::{Cli, Command, SheetsAction, TokenAction, UserAction, XAction};

/// Run one command of the command line; the exit code on success.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let config = setup::load_config(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => app::serve(config).await.map(|_| 0),
        Command::Migrate => {
            let store = setup::open_store(&config).await?;
            store.close().await;
            println!(
                "migrations applied to {}",
                setup::redacted_url(&config.database.url)
            );
            Ok(0)
        }
        Command::Ask { sheets, json, text } => {
            sheets_cmd::ask(&config, sheets.as_deref(), json, &text.join(" ")).await
        }
        Command::Eval {
            sheets,
            queries,
            output,
            json,
        } => {
            sheets_cmd::eval(
                &config,
                sheets.as_deref(),
                &queries,
                output.as_deref(),
                json,
            )
            .await
        }
        Command::Sheets { action } => match action {
            SheetsAction::Check { path } => sheets_cmd::check(&config, &path),
            SheetsAction::Import { path } => sheets_cmd::import(&config, &path).await,
            SheetsAction::Export { path } => sheets_cmd::export(&config, &path).await,
        },
        Command::User {
            action: UserAction::Add { name, role },
        } => access::add_user(&config, &name, role.into()).await,
        Command::User {
            action: UserAction::Passwd { name, temporary },
        } => access::set_password(&config, &name, temporary).await,
        Command::Token {
            action: TokenAction::Create { name, role },
        } => access::create_token(&config, &name, role.into()).await,
        Command::X {
            action: XAction::Authorize { code },
        } => {
            let store = setup::open_store(&config).await?;
            let text = sportello_bots::x::authorize(&config.x, &store, code.as_deref())
                .await
                .map_err(anyhow::Error::msg)?;
            print!("{text}");
            Ok(0)
        }
    }
}
