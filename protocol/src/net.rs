//! ZeroMQ socket setup, in one place for every component.
//!
//! Every socket in zchat is made by [`socket`] and attached with [`bind`] or [`connect`], so
//! transport-wide options live here, transport security included: every socket is created
//! with a [`Security`] — CurveZMQ (RFC 26: encrypted, and the server authenticated by its
//! public key) or, only when asked for explicitly, plaintext. The libzmq zchat builds has
//! CURVE (libsodium); `backend/tests/curve_build.rs` fails any build without it.
//!
//! Which peers a CURVE server admits is decided by the ZAP handler of its process (the
//! backend's `zap` module), told apart by the socket's ZAP domain: [`ZAP_DOMAIN_CLIENTS`]
//! admits any client key, [`ZAP_DOMAIN_SERVERS`] only the deployment's own key.

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

/// ZAP domain of the client-facing sockets (broker frontend, proxy XPUB): any CURVE client
/// key is admitted; who the user is, is the business of login and tokens.
pub const ZAP_DOMAIN_CLIENTS: &str = "zchat-clients";
/// ZAP domain of the internal sockets (broker backend, proxy XSUB): only peers holding the
/// deployment's key pair (every zchat-server) are admitted.
pub const ZAP_DOMAIN_SERVERS: &str = "zchat-servers";

/// A CURVE key pair (Curve25519), in binary form.
#[derive(Clone, PartialEq, Eq)]
pub struct CurveKeys {
    /// The public key, given to peers.
    pub public: [u8; 32],
    /// The secret key, never sent anywhere.
    pub secret: [u8; 32],
}

impl CurveKeys {
    /// A fresh random key pair (libzmq's `zmq_curve_keypair`): a client's ephemeral keys, or
    /// a new deployment's.
    pub fn generate() -> Result<CurveKeys, zmq::Error> {
        let pair = zmq::CurveKeyPair::new()?;
        Ok(CurveKeys {
            public: pair.public_key,
            secret: pair.secret_key,
        })
    }

    /// The public key in Z85 (40 characters), as operators and clients see it.
    pub fn public_z85(&self) -> String {
        encode_key(&self.public)
    }
}

/// Never prints the secret key.
impl std::fmt::Debug for CurveKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurveKeys")
            .field("public", &self.public_z85())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// How a socket secures its connections.
#[derive(Debug, Clone)]
pub enum Security {
    /// No encryption, no authentication: only when asked for explicitly (`--plaintext`).
    Plaintext,
    /// A CURVE server (`ZMQ_CURVE_SERVER`) with these keys; its ZAP domain tells the
    /// process's ZAP handler which peers to admit.
    CurveServer {
        /// The server's key pair (the deployment's).
        keys: CurveKeys,
        /// [`ZAP_DOMAIN_CLIENTS`] or [`ZAP_DOMAIN_SERVERS`].
        zap_domain: &'static str,
    },
    /// A CURVE client that only talks to the server holding `server_key`'s secret.
    CurveClient {
        /// The server's public key (`ZMQ_CURVE_SERVERKEY`).
        server_key: [u8; 32],
        /// This side's key pair (`ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY`).
        keys: CurveKeys,
    },
}

/// libzmq's `ZMQ_ZAP_ENFORCE_DOMAIN` (zmq.h; handled by libzmq 4.3 outside the draft API).
const ZMQ_ZAP_ENFORCE_DOMAIN: i32 = 93;

/// Makes a CURVE server fail closed. Without it, libzmq 4.3 admits *any* CURVE client when
/// no ZAP handler answers (`curve_server.cpp`: a failed `zap_connect` goes straight to
/// "ready"), so a ZAP handler that stopped would open the internal ports to every key.
/// With it, no handler means no handshake.
#[allow(unsafe_code)]
fn enforce_zap(s: &mut zmq::Socket) -> Result<(), zmq::Error> {
    let on: std::ffi::c_int = 1;
    // SAFETY: the pointer is a live socket owned by `s`; the option value is a c_int that
    // outlives the call, with its exact size passed.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            s.as_mut_ptr(),
            ZMQ_ZAP_ENFORCE_DOMAIN,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<std::ffi::c_int>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        // SAFETY: zmq_errno reads libzmq's thread-local errno; no arguments.
        Err(zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() }))
    }
}

impl Security {
    /// Sets the socket options, before any bind or connect.
    fn apply(&self, s: &mut zmq::Socket) -> Result<(), zmq::Error> {
        match self {
            Security::Plaintext => Ok(()),
            Security::CurveServer { keys, zap_domain } => {
                s.set_zap_domain(zap_domain)?;
                enforce_zap(s)?;
                s.set_curve_server(true)?;
                s.set_curve_publickey(&keys.public)?;
                s.set_curve_secretkey(&keys.secret)
            }
            Security::CurveClient { server_key, keys } => {
                s.set_curve_serverkey(server_key)?;
                s.set_curve_publickey(&keys.public)?;
                s.set_curve_secretkey(&keys.secret)
            }
        }
    }
}

/// Why a text is not a CURVE key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyFormatError {
    /// A key is 40 Z85 characters.
    #[error("a CURVE key is 40 Z85 characters, this is {0}")]
    Length(usize),
    /// A character outside the Z85 alphabet.
    #[error("{0:?} is not a Z85 character")]
    Character(char),
}

/// The Z85 alphabet (ZeroMQ RFC 32), checked here because libzmq's decoder accepts anything.
const Z85_ALPHABET: &str =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decodes a 40-character Z85 key (surrounding white space ignored) into its 32 bytes.
pub fn decode_key(z85: &str) -> Result<[u8; 32], KeyFormatError> {
    let z85 = z85.trim();
    if z85.chars().count() != 40 {
        return Err(KeyFormatError::Length(z85.chars().count()));
    }
    if let Some(c) = z85.chars().find(|c| !Z85_ALPHABET.contains(*c)) {
        return Err(KeyFormatError::Character(c));
    }
    let bytes = zmq::z85_decode(z85).map_err(|_| KeyFormatError::Length(z85.len()))?;
    bytes
        .try_into()
        .map_err(|_| KeyFormatError::Length(z85.len()))
}

/// Encodes a 32-byte key as 40 Z85 characters.
pub fn encode_key(key: &[u8; 32]) -> String {
    // A 32-byte input is a multiple of 4: encoding cannot fail.
    zmq::z85_encode(key).unwrap_or_default()
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

/// Creates a socket with zchat's standard options: its transport security, short linger
/// (shutdown never hangs on unsent messages), quick reconnects with back-off, TCP keepalive,
/// and for public-facing sockets a cap on message size.
pub fn socket(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    exposure: Exposure,
    security: &Security,
) -> Result<zmq::Socket, NetError> {
    let err = |source| NetError::Create {
        kind: kind_name(kind),
        source,
    };
    let mut s = ctx.socket(kind).map_err(err)?;
    security.apply(&mut s).map_err(err)?;
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
/// libzmq monitor event: a handshake failed without more detail (a CURVE client whose
/// server key is wrong sees this, every time libzmq retries).
pub const EVENT_HANDSHAKE_FAILED_NO_DETAIL: u16 = 0x0800;
/// libzmq monitor event: the ZMTP handshake (security included) succeeded: the connection
/// now carries messages.
pub const EVENT_HANDSHAKE_SUCCEEDED: u16 = 0x1000;
/// libzmq monitor event: the handshake broke the protocol; the value is the reason
/// (e.g. [`PROTOCOL_ERROR_MECHANISM_MISMATCH`]).
pub const EVENT_HANDSHAKE_FAILED_PROTOCOL: u16 = 0x2000;
/// libzmq monitor event: the peer's ZAP handler refused; the value is its status (400).
pub const EVENT_HANDSHAKE_FAILED_AUTH: u16 = 0x4000;
/// Value of [`EVENT_HANDSHAKE_FAILED_PROTOCOL`]: one side speaks CURVE, the other not.
pub const PROTOCOL_ERROR_MECHANISM_MISMATCH: u32 = 0x1100_0003;

/// Attaches a monitor to `s` reporting connects, disconnects and handshakes (succeeded or
/// failed), and returns the PAIR socket that receives them (poll it beside `s`; decode with
/// [`monitor_event`] and [`monitor_value`]).
pub fn monitor(ctx: &zmq::Context, s: &zmq::Socket, name: &str) -> Result<zmq::Socket, NetError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let err = |source| NetError::Create {
        kind: "monitor",
        source,
    };
    let addr = format!(
        "inproc://monitor-{name}-{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let events = EVENT_CONNECTED
        | EVENT_DISCONNECTED
        | EVENT_HANDSHAKE_FAILED_NO_DETAIL
        | EVENT_HANDSHAKE_SUCCEEDED
        | EVENT_HANDSHAKE_FAILED_PROTOCOL
        | EVENT_HANDSHAKE_FAILED_AUTH;
    s.monitor(&addr, i32::from(events)).map_err(err)?;
    let pair = ctx.socket(zmq::PAIR).map_err(err)?;
    pair.connect(&addr).map_err(err)?;
    Ok(pair)
}

/// Stops the monitor of `s`. Call it before dropping the PAIR that [`monitor`] returned, or
/// `s` itself: libzmq's I/O thread sends monitor events *blocking*, so an event (a closing
/// socket reports its disconnects) for a monitor whose reader is gone stalls every socket of
/// the context for good.
#[allow(unsafe_code)]
pub fn unmonitor(s: &mut zmq::Socket) {
    // SAFETY: a live socket owned by `s`; a null endpoint with no events is libzmq's
    // documented way to stop monitoring (it closes the monitor's own PAIR, under its lock).
    unsafe {
        zmq_sys::zmq_socket_monitor(s.as_mut_ptr(), std::ptr::null(), 0);
    }
}

/// The event id of a monitor message (its first frame starts with a little-endian u16).
pub fn monitor_event(frames: &[Vec<u8>]) -> Option<u16> {
    let head = frames.first().filter(|f| f.len() >= 2)?;
    Some(u16::from_le_bytes([head[0], head[1]]))
}

/// The event's value (a reason code or status), the u32 after the event id.
pub fn monitor_value(frames: &[Vec<u8>]) -> Option<u32> {
    let head = frames.first().filter(|f| f.len() >= 6)?;
    Some(u32::from_le_bytes([head[2], head[3], head[4], head[5]]))
}

/// True for the three handshake-failure events.
pub fn is_handshake_failure(event: u16) -> bool {
    matches!(
        event,
        EVENT_HANDSHAKE_FAILED_NO_DETAIL
            | EVENT_HANDSHAKE_FAILED_PROTOCOL
            | EVENT_HANDSHAKE_FAILED_AUTH
    )
}

/// The endpoint a socket actually bound (resolves `*` ports), for logs and tests.
pub fn last_endpoint(s: &zmq::Socket) -> String {
    match s.get_last_endpoint() {
        Ok(Ok(e)) => e,
        _ => String::from("?"),
    }
}
