//! The zchat client: a library that talks to a zchat backend, the scriptable subcommands,
//! and the full-screen terminal UI.
//!
//! - [`client`]: requests with retry, subscriptions ([`client::Client`]).
//! - [`feed`]: gap-free live feeds over a client ([`feed::Feed`]).
//! - [`session`]: the saved session under `ZCHAT_HOME`.
//! - [`cli`]: the scriptable subcommands (`zchat send`, `zchat tail`, ...).

#![deny(clippy::unwrap_used)]

pub mod app;
pub mod cli;
pub mod client;
pub mod demo;
pub mod feed;
pub mod session;
pub mod tui;
pub mod ui;
