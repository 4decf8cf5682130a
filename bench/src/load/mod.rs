//! The two load shapes: closed-loop request/reply (posts, echo) and paced fan-out (zchat,
//! raw PUB/SUB, IRC). Every loop is bounded by a count and a deadline.

mod closed_loop;
pub mod connections;
mod fanout;

pub use closed_loop::*;
pub use fanout::*;

use anyhow::Result;

/// Polls `items` for up to `timeout_ms` and leaves in `readable` the indexes of those that
/// can be read.
fn poll_readable(
    items: &mut [zmq::PollItem],
    timeout_ms: i64,
    readable: &mut Vec<usize>,
) -> Result<()> {
    readable.clear();
    zmq::poll(items, timeout_ms)?;
    readable.extend(
        items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.is_readable())
            .map(|(k, _)| k),
    );
    Ok(())
}
