//! The `sportello` binary: parse the command line, start logging and the runtime, and run the
//! command (see the library's [`sportello::run`]).

use clap::Parser;
use sportello::cli::Cli;
use sportello::setup;

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
    match runtime.block_on(sportello::run(cli)) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            let code = setup::exit_code(&e);
            tracing::error!(error = %format!("{e:#}"), "sportello stopped");
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(code)
        }
    }
}
