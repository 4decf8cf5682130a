//! ZeroMQ socket setup, in one place for every component.
//!
//! Every socket in zchat is made by [`socket`] and attached with [`bind`] or [`connect`], so
//! transport-wide options live here. Transport encryption (CURVE) will be added here too: the
//! vendored libzmq of the `zmq` crate 0.10 is built without libsodium, so
//! `zmq::has("curve")` is false today.

use thiserror::Error;

use crate::MAX_WIRE_MESSAGE_BYTES;

/// A socket could not be created or attached, with the endpoint that failed.
#[derive(Debug, Error)]
pub enum NetError {
    /// `zmq_socket` or an option failed.
    #[error("cannot create {kind} socket")]
    Create {
        /// Socket type name.
        kind: &'static str,
        /// libzmq error.
        source: zmq::Error,
    },
    /// `zmq_bind` failed (address in use, bad address…).
    #[error("cannot bind {endpoint}")]
    Bind {
        /// The endpoint.
        endpoint: String,
        /// libzmq error.
        source: zmq::Error,
    },
    /// The host name of a `tcp://` endpoint does not resolve.
    #[error("cannot resolve the host of {endpoint}")]
    Resolve {
        /// The endpoint.
        endpoint: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// `zmq_connect` failed (malformed address, unknown transport…).
    #[error("cannot connect to {endpoint}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// libzmq error.
        source: zmq::Error,
    },
}

/// Which side of the system a socket faces, deciding its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Accepts connections from clients (untrusted): message size capped.
    Public,
    /// Talks to our own components or servers.
    Internal,
}

fn kind_name(kind: zmq::SocketType) -> &'static str {
    use zmq::SocketType::*;
    match kind {
        PAIR => "PAIR",
        PUB => "PUB",
        SUB => "SUB",
        REQ => "REQ",
        REP => "REP",
        DEALER => "DEALER",
        ROUTER => "ROUTER",
        PULL => "PULL",
        PUSH => "PUSH",
        XPUB => "XPUB",
        XSUB => "XSUB",
        STREAM => "STREAM",
    }
}

/// Creates a socket with zchat's standard options: short linger (shutdown never hangs on
/// unsent messages), quick reconnects with back-off, TCP keepalive, and for public-facing
/// sockets a cap on message size.
pub fn socket(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    exposure: Exposure,
) -> Result<zmq::Socket, NetError> {
    let err = |source| NetError::Create {
        kind: kind_name(kind),
        source,
    };
    let s = ctx.socket(kind).map_err(err)?;
    s.set_linger(200).map_err(err)?;
    s.set_reconnect_ivl(100).map_err(err)?;
    s.set_reconnect_ivl_max(2000).map_err(err)?;
    s.set_tcp_keepalive(1).map_err(err)?;
    s.set_tcp_keepalive_idle(30).map_err(err)?;
    if exposure == Exposure::Public {
        s.set_maxmsgsize(MAX_WIRE_MESSAGE_BYTES).map_err(err)?;
    }
    Ok(s)
}

/// Binds, with the endpoint in the error (e.g. "address already in use").
pub fn bind(s: &zmq::Socket, endpoint: &str) -> Result<(), NetError> {
    s.bind(endpoint).map_err(|source| NetError::Bind {
        endpoint: endpoint.to_string(),
        source,
    })
}

/// Connects, with the endpoint in the error. A `tcp://` host name that does not resolve
/// fails here, at once, rather than being retried silently forever by libzmq; a peer that
/// is merely not up yet is fine (libzmq keeps reconnecting).
pub fn connect(s: &zmq::Socket, endpoint: &str) -> Result<(), NetError> {
    if let Some(addr) = endpoint.strip_prefix("tcp://") {
        use std::net::ToSocketAddrs;
        if let Err(source) = addr.to_socket_addrs() {
            return Err(NetError::Resolve {
                endpoint: endpoint.to_string(),
                source,
            });
        }
    }
    s.connect(endpoint).map_err(|source| NetError::Connect {
        endpoint: endpoint.to_string(),
        source,
    })
}

/// `zmq_poll`, retried when a signal interrupts it (EINTR), so that a signal handled by
/// the process never ends a socket thread. Returns the number of ready items.
pub fn poll(items: &mut [zmq::PollItem], timeout_ms: i64) -> Result<i32, zmq::Error> {
    loop {
        match zmq::poll(items, timeout_ms) {
            Err(zmq::Error::EINTR) => continue,
            other => return other,
        }
    }
}

/// libzmq monitor event: a connection was established.
pub const EVENT_CONNECTED: u16 = 0x0001;
/// libzmq monitor event: a connection was lost.
pub const EVENT_DISCONNECTED: u16 = 0x0200;

/// Attaches a monitor to `s` reporting connects and disconnects, and returns the PAIR
/// socket that receives them (poll it beside `s`; decode with [`monitor_event`]).
pub fn monitor(ctx: &zmq::Context, s: &zmq::Socket, name: &str) -> Result<zmq::Socket, NetError> {
    let err = |source| NetError::Create {
        kind: "monitor",
        source,
    };
    let addr = format!("inproc://monitor-{name}-{:p}", s as *const zmq::Socket);
    s.monitor(&addr, (EVENT_CONNECTED | EVENT_DISCONNECTED) as i32)
        .map_err(err)?;
    let pair = ctx.socket(zmq::PAIR).map_err(err)?;
    pair.connect(&addr).map_err(err)?;
    Ok(pair)
}

/// The event id of a monitor message (its first frame starts with a little-endian u16).
pub fn monitor_event(frames: &[Vec<u8>]) -> Option<u16> {
    let head = frames.first().filter(|f| f.len() >= 2)?;
    Some(u16::from_le_bytes([head[0], head[1]]))
}

/// The endpoint a socket actually bound (resolves `*` ports), for logs and tests.
pub fn last_endpoint(s: &zmq::Socket) -> String {
    match s.get_last_endpoint() {
        Ok(Ok(e)) => e,
        _ => String::from("?"),
    }
}
