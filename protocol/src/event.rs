//! Events: what the server publishes through the proxy, live.

use serde::{Deserialize, Serialize};

use crate::{Message, Target, PROTOCOL_VERSION};

/// The payload frame of a publication (the first frame is the topic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// Protocol version.
    pub v: u16,
    /// The event.
    pub body: Event,
}

impl EventEnvelope {
    /// Wraps an event with the current protocol version.
    pub fn new(body: Event) -> Self {
        EventEnvelope {
            v: PROTOCOL_VERSION,
            body,
        }
    }
}

/// Every event, tagged by `kind` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A new message: on the channel's topic, or on both DM participants' inboxes.
    Message {
        /// The stored message.
        message: Message,
    },
    /// The inbox owner's read marker moved (from another of their sessions, or this one).
    ReadMarker {
        /// The conversation (`@peer` for DMs).
        target: Target,
        /// The new marker.
        seq: u64,
    },
    /// Sent by the proxy on a probe topic (`p/<16 hex>/`, see `topic::probe`) to the
    /// subscriber that just subscribed to it, right after applying that subscription: when it
    /// arrives, every subscription that SUB socket sent before it is live (PROTOCOL.md §5.2).
    Probe {
        /// The value named by the topic.
        value: u64,
    },
}
