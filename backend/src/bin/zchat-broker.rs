//! `zchat-broker`: see `zchat_backend::cli::BrokerArgs` (or `--help`).

use std::process::ExitCode;

use clap::Parser;
use zchat_backend::cli;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::BrokerArgs::parse();
    cli::init_logging();
    match cli::run_broker(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zchat-broker: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
