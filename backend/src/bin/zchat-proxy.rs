//! `zchat-proxy`: see `zchat_backend::cli::ProxyArgs` (or `--help`).

use std::process::ExitCode;

use clap::Parser;
use zchat_backend::cli;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::ProxyArgs::parse();
    cli::init_logging();
    match cli::run_proxy(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zchat-proxy: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
