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
    /// `zmq_connect` failed (malformed address, unresolvable host…).
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

/// Connects, with the endpoint in the error.
pub fn connect(s: &zmq::Socket, endpoint: &str) -> Result<(), NetError> {
    s.connect(endpoint).map_err(|source| NetError::Connect {
        endpoint: endpoint.to_string(),
        source,
    })
}

/// The endpoint a socket actually bound (resolves `*` ports), for logs and tests.
pub fn last_endpoint(s: &zmq::Socket) -> String {
    match s.get_last_endpoint() {
        Ok(Ok(e)) => e,
        _ => String::from("?"),
    }
}
