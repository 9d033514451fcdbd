//! The `sportello` binary: the command line and the wiring of the crates.
//!
//! # Layout
//!
//! - `cli`: the clap definitions of every command.
//! - `setup`: configuration, logging, the store and the matcher, shared by the commands.
//! - `serve`: `sportello serve`, the long-running process.
//! - `knowledge`: `ask`, `eval` and `sheets check|import|export`.
//! - `access`: `user add` and `token create`.
//!
//! Exit codes: 0 success, 1 failure (e.g. problems found in sheets), 2 configuration error or
//! database unavailable.

mod access;
mod cli;
mod knowledge;
mod serve;
mod setup;

use clap::Parser;

use crate::cli::{Cli, Command, SheetsAction, TokenAction, UserAction, XAction};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    setup::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            let code = setup::exit_code(&e);
            tracing::error!(error = %format!("{e:#}"), "sportello stopped");
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let config = setup::load_config(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve::serve(config).await.map(|_| 0),
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
            knowledge::ask(&config, sheets.as_deref(), json, &text.join(" ")).await
        }
        Command::Eval {
            sheets,
            queries,
            output,
            json,
        } => {
            knowledge::eval(
                &config,
                sheets.as_deref(),
                &queries,
                output.as_deref(),
                json,
            )
            .await
        }
        Command::Sheets { action } => match action {
            SheetsAction::Check { path } => knowledge::check(&config, &path),
            SheetsAction::Import { path } => knowledge::import(&config, &path).await,
            SheetsAction::Export { path } => knowledge::export(&config, &path).await,
        },
        Command::User {
            action: UserAction::Add { name, role },
        } => access::add_user(&config, &name, role.into()).await,
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
