//! `zchat-server`: see `zchat_backend::cli::ServerArgs` (or `--help`).

use std::process::ExitCode;

use clap::Parser;
use zchat_backend::cli;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::ServerArgs::parse();
    cli::init_logging();
    match cli::run_server(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zchat-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
