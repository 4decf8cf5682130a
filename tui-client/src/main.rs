//! `zchat`: the terminal client. See `zchat --help`.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
#[cfg(feature = "demo")]
use zchat_tui::cli::Command;
use zchat_tui::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    let env = args.env();
    #[cfg(feature = "demo")]
    let full_screen = matches!(args.command, None | Some(Command::Demo { .. }));
    #[cfg(not(feature = "demo"))]
    let full_screen = args.command.is_none();
    init_logging(full_screen.then_some(env.home.as_path()));
    let result = match args.command {
        Some(command) => cli::run(env, command).await,
        None => env.run_tui().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zchat: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs only when `RUST_LOG` asks. Subcommands log to stderr; the full-screen chat logs to
/// `zchat.log` in the zchat home, since stderr is the screen.
fn init_logging(log_dir: Option<&Path>) {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG") else {
        return;
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match log_dir {
        None => {
            let _ = builder.with_writer(std::io::stderr).try_init();
        }
        Some(dir) => {
            let _ = std::fs::create_dir_all(dir);
            if let Ok(file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("zchat.log"))
            {
                let _ = builder
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .try_init();
            }
        }
    }
}
