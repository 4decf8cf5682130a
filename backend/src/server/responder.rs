//! What a request carries so that whoever finishes it can answer it.
//!
//! Most requests are answered by their handler's task, but a `send` is answered by the
//! storage writer thread after its batch commits. Either way the answer is built and encoded
//! here, once: the request's routing envelope and id, and the link to the socket thread.
//! The responder also holds the request's in-flight permit, so "every permit is back" means
//! "every request has been answered" — which is how a graceful stop knows it is done.

use tokio::sync::OwnedSemaphorePermit;
use zchat_protocol::{codec, Reply, ResponseEnvelope};

use super::ApiResult;
use crate::zmq_bridge::{Outbound, OutboundSender};

/// The means to answer one request, exactly once (it is consumed by [`Responder::answer`]).
pub struct Responder {
    /// The DEALER (broker) the request came through: the answer goes back there.
    dealer: usize,
    envelope: Vec<Vec<u8>>,
    id: u64,
    out: OutboundSender,
    _permit: OwnedSemaphorePermit,
}

impl Responder {
    /// A responder for the request that arrived on DEALER `dealer` with `envelope`. The `id`
    /// is the request's, or 0 until it has been read.
    pub fn new(
        dealer: usize,
        envelope: Vec<Vec<u8>>,
        out: OutboundSender,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        Responder {
            dealer,
            envelope,
            id: 0,
            out,
            _permit: permit,
        }
    }

    /// Sets the request id the answer carries (once the envelope has been decoded).
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }

    /// Sends the outcome back to the client: a reply, or `Reply::Error` with its code.
    pub fn answer(self, outcome: ApiResult) {
        let reply = match outcome {
            Ok(reply) => reply,
            Err(e) => {
                tracing::debug!(code = %e.code, "request failed: {}", e.message);
                Reply::Error {
                    code: e.code,
                    message: e.message,
                }
            }
        };
        let body = match codec::encode(&ResponseEnvelope::new(self.id, reply)) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!("cannot encode a reply: {e}");
                return;
            }
        };
        self.out.send(Outbound::Reply {
            dealer: self.dealer,
            envelope: self.envelope,
            body,
        });
    }
}
