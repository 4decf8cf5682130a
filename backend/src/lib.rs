//! zchat's backend: the broker, the pub/sub proxy and the chat server, as a library so that
//! the thin binaries in `src/bin/`, the all-in-one mode and the tests all run the same code.
//!
//! - [`broker`]: ROUTER/DEALER device between clients and servers.
//! - [`proxy`]: XSUB/XPUB device that only admits whole-topic subscriptions.
//! - [`server`]: request handling (one file per request) and publication of live events.
//! - [`store`]: SQLite storage.
//! - [`auth`]: password hashing, tokens, inbox ids and login throttling.
//! - [`zmq_bridge`]: the thread that owns the server's sockets and links them to tokio.
//! - [`keys`]: the deployment's CURVE key pair on disk (`keygen`, loading, checks).
//! - [`transport`]: CURVE or plaintext, per socket role; [`zap`]: who may connect where.
//! - [`all_in_one`]: broker + proxy + server in one process, for demos and quick starts.
//! - `testkit` (cargo feature `testkit`, for tests and benchmarks only): starts the real
//!   binaries on free loopback ports; `test_postgres` (same feature): a real PostgreSQL
//!   server in a temporary directory.

pub mod all_in_one;
pub mod auth;
pub mod broker;
pub mod cli;
pub mod keys;
pub mod limits;
pub mod proxy;
pub mod server;
pub mod shutdown;
pub mod store;
#[cfg(feature = "testkit")]
pub mod test_postgres;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod transport;
pub mod zap;
pub mod zmq_bridge;
