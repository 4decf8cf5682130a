//! The `zchat` program: the scriptable subcommands and the full-screen terminal UI, over the
//! client library (`zchat_client`: connection, typed calls, gap-free feeds).
//!
//! - [`session`]: the saved session under `ZCHAT_HOME`; [`server_key`]: the server's CURVE
//!   key from `--server-key`, the session, or `--plaintext`.
//! - [`cli`]: the scriptable subcommands (`zchat send`, `zchat tail`, ...).
//! - [`app`]: the full-screen client's state and `update` (no I/O); [`ui`]: its view;
//!   [`tui`]: the event loop that joins them to the terminal and the network.
//! - `demo` (cargo feature `demo`, on by default): `zchat demo`.

pub mod app;
pub mod cli;
#[cfg(feature = "demo")]
pub mod demo;
pub mod layout;
pub mod server_key;
pub mod session;
pub mod tui;
pub mod ui;
