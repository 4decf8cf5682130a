//! `zchat`: the terminal client. See `zchat --help`.

use std::process::ExitCode;

use clap::Parser;
use zchat_client::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    init_logging();
    let env = args.env();
    let result = match args.command {
        Some(command) => cli::run(env, command).await,
        None => Err(anyhow::anyhow!(
            "the full-screen chat is not built yet; see `zchat --help`"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zchat: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, and only when `RUST_LOG` asks (the default is quiet).
fn init_logging() {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}
