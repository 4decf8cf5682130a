//! The zchat client library: what every program that talks to a zchat backend uses — the
//! `zchat` CLI and full-screen client, the demo's bots, the backend's health check and
//! tests, and the benchmarks.
//!
//! - [`Client`] ([`connection`]): one connection (requests through a broker with timeout,
//!   Lazy Pirate retry and failover to the next broker of a list, live events from every
//!   proxy of a list); cheap to clone. [`endpoints`] reads those comma-separated lists.
//! - [`api`]: the typed calls — `login → Session`, `send → Message`, `history → Page`, … —
//!   the only place a protocol `Reply` is matched. A reply of the wrong kind is an error.
//! - [`feed`]: the zguide's Clone pattern over a `Client`: every message exactly once, in
//!   order, across gaps, late joins and reconnects.

pub mod api;
pub mod connection;
pub mod endpoints;
pub mod feed;
mod io;
mod link;
mod order;

pub use api::{Me, Page, Session};
pub use connection::{Client, ClientConfig, ClientError, ClientStats, Live};
pub use io::{REPLY_HWM, REQUEST_HWM};
