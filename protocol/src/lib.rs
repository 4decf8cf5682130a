//! The zchat wire protocol, shared by the server, the broker/proxy and every client.
//!
//! Everything that crosses a socket is defined here, so the two ends can never disagree:
//!
//! - [`request`]: what a client asks (`Request`, wrapped in a [`RequestEnvelope`]).
//! - [`reply`]: what the server answers (`Reply`, wrapped in a [`ResponseEnvelope`]).
//! - [`event`]: what the server publishes live through the proxy ([`EventEnvelope`]).
//! - [`codec`]: MessagePack encoding (rmp-serde, maps with field names) and request decoding
//!   that turns every kind of garbage into a typed [`ErrorCode`].
//! - [`topic`]: pub/sub topic names, built so that no topic is a prefix of another.
//! - [`validate`]: name, password and text rules, in one place.
//! - [`net`]: ZeroMQ socket setup, in one place, so that transport options (and CURVE later)
//!   are a one-file change.
//!
//! `PROTOCOL.md` at the repository root documents the same thing for other languages.

pub mod codec;
pub mod error;
pub mod event;
pub mod net;
pub mod reply;
pub mod request;
pub mod target;
pub mod topic;
pub mod types;
pub mod validate;

pub use error::ErrorCode;
pub use event::{Event, EventEnvelope};
pub use reply::{Reply, ResponseEnvelope};
pub use request::{Request, RequestEnvelope};
pub use target::Target;
pub use types::{ChannelInfo, DmSummary, Message, UserInfo};

/// The protocol version carried by every request, reply and event (`v`).
///
/// The server rejects requests with another version with `unsupported_version`, so an old
/// client fails loudly instead of misreading fields.
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest request frame the server accepts, in bytes. Larger frames get `too_large`.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Largest single ZeroMQ message the broker and proxy accept from a peer (defence in depth:
/// a peer that sends more is disconnected by libzmq before the bytes reach any code).
pub const MAX_WIRE_MESSAGE_BYTES: i64 = 256 * 1024;

/// Largest message text, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 4096;

/// Largest channel description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// Default and largest page size for `history`.
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;
/// See [`DEFAULT_HISTORY_LIMIT`].
pub const MAX_HISTORY_LIMIT: u32 = 500;

/// Current time in milliseconds since the Unix epoch (the unit of every `ts` on the wire).
pub fn now_millis() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
