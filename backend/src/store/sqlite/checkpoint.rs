//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the threshold, and a
//! checkpoint syncs the WAL and the database file: a few milliseconds during which that
//! commit — and every message queued behind it in the group-commit writer — waits. That was
//! the tail of post→delivery latency. So the write connection turns automatic checkpoints
//! off and this thread, on a connection of its own, runs a `PASSIVE` checkpoint (which never
//! blocks writers or readers) every [`INTERVAL`], and a last one when the store closes.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is copied back into the database file.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// The checkpointer's own connection, opened by `Store::open` (so a failure to open it is
/// a failure to open the store, never a WAL that nobody checkpoints).
pub(super) fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// Runs until `stop`'s sender is dropped.
pub(super) fn run(conn: Connection, stop: Receiver<()>) {
    loop {
        let last = matches!(
            stop.recv_timeout(INTERVAL),
            Err(RecvTimeoutError::Disconnected)
        );
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!("WAL checkpoint failed: {e}");
        }
        if last {
            return;
        }
    }
}
