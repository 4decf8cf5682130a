//! What a [`crate::Client`] handle and its socket thread ([`crate::io`]) share: the table of
//! requests waiting for a reply, the running counters, and the live events the thread
//! reports. A module of its own so that neither side imports the other back.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use zchat_protocol::{Event, Reply};

/// Something that arrived from the proxy or the connection monitor.
#[derive(Debug, Clone)]
pub enum Live {
    /// A decoded event and the topic it came on.
    Event {
        /// The topic frame.
        topic: String,
        /// The event.
        event: Event,
    },
    /// The subscriber socket (re)connected to a proxy (reported once per proxy connection,
    /// with several proxies): anything published while it was away may be lost and must be
    /// backfilled.
    ProxyConnected,
    /// The subscriber socket lost a proxy it was connected to (one report per lost
    /// connection: with several proxies the others may still be up).
    ProxyDisconnected,
}

/// Requests waiting for a reply, by request id: the socket thread completes them.
pub(crate) type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// A failed transport handshake, as the socket thread saw it on a socket monitor.
#[derive(Debug, Clone)]
pub(crate) struct HandshakeFailure {
    pub(crate) endpoint: String,
    pub(crate) detail: String,
}

/// Running totals shared by the clones of a [`Client`] and its socket thread, and the
/// broker connection's handshake state.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// The last failed handshake with the broker; cleared by a successful one.
    pub(crate) handshake: Mutex<Option<HandshakeFailure>>,
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) unreachable: AtomicU64,
    pub(crate) deferred: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) failovers: AtomicU64,
}
