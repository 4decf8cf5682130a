//! One connection to a zchat backend: requests through a broker (with timeout, Lazy Pirate
//! retry, and failover between several brokers) and live events from every proxy, owned by
//! one socket thread ([`crate::io`]).
//! Callers use the typed calls of [`crate::api`]; [`Client::call`] is their common core.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use zchat_protocol::{codec, ErrorCode, Reply, Request, RequestEnvelope};

use crate::io::{self, Command, IoHandle};
pub use crate::link::Live;
use crate::link::{Counters, Pending};

/// Where to connect and how patient to be.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Broker frontend, e.g. `tcp://127.0.0.1:5555`, or several separated by commas
    /// (`tcp://10.0.0.1:5555,tcp://10.0.0.2:5555`): requests go to one at a time and move to
    /// the next when it does not answer ([`crate::endpoints::parse_list`] reads the list).
    pub broker: String,
    /// Proxy XPUB, e.g. `tcp://127.0.0.1:5557`, or several separated by commas: live events
    /// come from all of them at once (copies dropped by [`crate::feed`]); `None` for a client
    /// that only makes requests (a health check).
    pub proxy: Option<String>,
    /// How long to wait for a reply before retrying.
    pub request_timeout: Duration,
    /// Attempts per request before giving up (Lazy Pirate).
    pub attempts: u32,
    /// The server's CURVE public key (40 Z85 characters: the deployment's `zchat.pub`, or
    /// `zchat-server public-key`). Both sockets then encrypt and check that they talk to the
    /// holder of its secret, with a fresh key pair of this client's own per run. `None`:
    /// plaintext, explicitly (only a `--plaintext` backend accepts that).
    pub server_key: Option<String>,
}

impl ClientConfig {
    /// Defaults: 3 s timeout (5× that for `login`/`register`, which hash slowly), 3 attempts.
    pub fn new(broker: impl Into<String>, proxy: impl Into<String>) -> Self {
        ClientConfig {
            broker: broker.into(),
            proxy: Some(proxy.into()),
            request_timeout: Duration::from_secs(3),
            attempts: 3,
            server_key: None,
        }
    }

    /// The same, with CURVE and this server key (`None`: plaintext).
    pub fn with_server_key(mut self, server_key: Option<String>) -> Self {
        self.server_key = server_key;
        self
    }
}

impl ClientConfig {
    /// A client that makes requests and subscribes to nothing.
    pub fn requests_only(broker: impl Into<String>) -> Self {
        ClientConfig {
            proxy: None,
            ..ClientConfig::new(broker, String::new())
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, Error)]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{message} ({code})")]
    Server {
        /// Stable code.
        code: ErrorCode,
        /// Readable message.
        message: String,
    },
    /// No reply after every attempt. The outcome is unknown: the broker may still hold the
    /// request and deliver it when a server returns (hence nonces on `send`).
    #[error("server unreachable at {0} (no reply after retries; a request already queued there may still take effect when the server returns)")]
    Unreachable(String),
    /// Bad configuration or a local failure (e.g. malformed endpoint or server key).
    #[error("{0}")]
    Local(String),
    /// The transport handshake with the server failed (seen on the socket monitor): a wrong
    /// server key, CURVE on one side only, or a key the server refused. Retrying cannot help.
    #[error("the server at {endpoint} {detail}")]
    Handshake {
        /// The endpoint (broker or proxy).
        endpoint: String,
        /// What failed, naming the server key in use.
        detail: String,
    },
    /// The server answered with a reply of the wrong kind for the request (a server bug or
    /// a protocol mismatch). Never treated as success.
    #[error("unexpected reply to {request}: {reply}")]
    UnexpectedReply {
        /// The request's `op`.
        request: &'static str,
        /// The reply's `kind`.
        reply: String,
    },
}

impl ClientError {
    /// The server's error code, if this is a server error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// What a [`Client`] (all its clones together) has done so far; see [`Client::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests made (each counted once, however many attempts it took).
    pub requests: u64,
    /// Attempts resent after a timeout (Lazy Pirate). Zero on a healthy connection, however
    /// many requests are pipelined: no reply is dropped for want of room.
    pub retries: u64,
    /// Requests that got no reply after every attempt ([`ClientError::Unreachable`]).
    pub unreachable: u64,
    /// Requests that had to wait in the socket thread's backlog for room on the socket
    /// (pipelining faster than the connection drains; harmless).
    pub deferred: u64,
    /// Times the request socket was reopened after a timeout (at most once per timeout
    /// window, however many requests timed out together).
    pub reconnects: u64,
    /// Times the client moved to another broker of its list (after a timeout, a lost
    /// connection, or a broker it could not connect to). Zero with one broker.
    pub failovers: u64,
}

/// A handle to one backend connection. Clone freely; the socket thread stops when the
/// last clone is dropped.
#[derive(Clone)]
pub struct Client {
    io: Arc<IoHandle>,
    pending: Pending,
    token: Arc<Mutex<Option<String>>>,
    next_id: Arc<AtomicU64>,
    config: Arc<ClientConfig>,
    counters: Arc<Counters>,
    /// When the request socket was last reopened: many pipelined requests timing out
    /// together reopen it once, not once each (each reopening loses the others' retries).
    last_reconnect: Arc<Mutex<Option<tokio::time::Instant>>>,
}

/// Removes a request's reply slot when its caller stops waiting, however that happens
/// (a reply, a timeout, or the caller's future being dropped).
struct PendingSlot<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for PendingSlot<'_> {
    fn drop(&mut self) {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Client {
    /// Starts the socket thread. Never blocks on the network: connecting happens in the
    /// background, and calls simply time out while the backend is away.
    pub fn start(config: ClientConfig) -> Result<Client, ClientError> {
        let pending: Pending = Arc::default();
        let counters: Arc<Counters> = Arc::default();
        let security = io::security(config.server_key.as_deref())?;
        let brokers = crate::endpoints::parse_list(&config.broker)
            .map_err(|e| ClientError::Local(format!("broker endpoints: {e}")))?;
        let proxies = match config.proxy.as_deref() {
            Some(list) => crate::endpoints::parse_list(list)
                .map_err(|e| ClientError::Local(format!("proxy endpoints: {e}")))?,
            None => Vec::new(),
        };
        let io = io::start(
            brokers,
            proxies,
            security,
            pending.clone(),
            counters.clone(),
        )
        .map_err(|e| ClientError::Local(format!("{e:#}")))?;
        Ok(Client {
            io: Arc::new(io),
            pending,
            token: Arc::default(),
            // Never 0: the server answers unreadable requests with id 0.
            next_id: Arc::new(AtomicU64::new(u64::from(rand::random::<u32>()) + 1)),
            config: Arc::new(config),
            counters,
            last_reconnect: Arc::default(),
        })
    }

    /// Running totals of this client and its clones: requests, retries, give-ups.
    pub fn stats(&self) -> ClientStats {
        let c = &self.counters;
        ClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            unreachable: c.unreachable.load(Ordering::Relaxed),
            deferred: c.deferred.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            failovers: c.failovers.load(Ordering::Relaxed),
        }
    }

    /// The configuration this client was started with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sets (or clears) the session token sent with every request.
    pub fn set_token(&self, token: Option<String>) {
        *self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = token;
    }

    /// The current token.
    pub fn token(&self) -> Option<String> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Routes live events and connection changes to a new receiver (replacing any earlier
    /// one).
    pub fn live_events(&self) -> mpsc::UnboundedReceiver<Live> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.io.send(Command::SetSink(tx));
        rx
    }

    /// Subscribes to a whole topic (see `zchat_protocol::topic`).
    pub fn subscribe(&self, topic: &str) {
        self.io.send(Command::Subscribe(topic.to_string()));
    }

    /// Drops a subscription.
    pub fn unsubscribe(&self, topic: &str) {
        self.io.send(Command::Unsubscribe(topic.to_string()));
    }

    /// Sends a request and waits for its reply. On timeout the request socket is closed,
    /// reopened (on the next broker, with several) and the request resent with the same id
    /// (Lazy Pirate, and the zguide's Freelance pattern), up to `attempts` times. `send` requests should carry a nonce so a retry cannot duplicate.
    /// `Reply::Error` becomes `ClientError::Server`. Callers outside this crate use the
    /// typed calls of [`crate::api`].
    pub(crate) async fn call(&self, request: Request) -> Result<Reply, ClientError> {
        // Password hashing and login throttling take longer than ordinary requests.
        let timeout = match request {
            Request::Login { .. } | Request::Register { .. } => self.config.request_timeout * 5,
            _ => self.config.request_timeout,
        };
        self.call_with(request, timeout, self.config.attempts).await
    }

    /// One attempt with its own deadline: no retry and, since nothing is retried, no
    /// reopening of the request socket. For probes such as the feed's heartbeat, which run
    /// every second with a short deadline: were each miss to reopen the socket, a heartbeat
    /// would cut the retries of every other request in flight (the reopening is limited to
    /// once per timeout window for the same reason, see [`Client::call`]).
    pub(crate) async fn call_once(
        &self,
        request: Request,
        deadline: Duration,
    ) -> Result<Reply, ClientError> {
        self.call_with(request, deadline, 1).await
    }

    async fn call_with(
        &self,
        request: Request,
        timeout: Duration,
        attempts: u32,
    ) -> Result<Reply, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let env = RequestEnvelope::new(id, self.token(), request);
        let frame = codec::encode(&env).map_err(|e| ClientError::Local(e.to_string()))?;
        let attempts = attempts.max(1);
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        for attempt in 1..=attempts {
            if attempt > 1 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let (tx, rx) = oneshot::channel();
            self.pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id, tx);
            let _slot = PendingSlot {
                pending: &self.pending,
                id,
            };
            self.io.send(Command::Send {
                id,
                frame: frame.clone(),
            });
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(reply)) => {
                    return match reply {
                        Reply::Error { code, message } => {
                            Err(ClientError::Server { code, message })
                        }
                        other => Ok(other),
                    };
                }
                // The socket thread drops every waiting request when a handshake fails.
                Ok(Err(_)) => {
                    return Err(self
                        .handshake_error()
                        .unwrap_or_else(|| ClientError::Local("client connection closed".into())))
                }
                Err(_) => {
                    tracing::debug!(id, attempt, "request timed out");
                    if attempt < attempts {
                        self.reconnect_once_per(timeout);
                    }
                }
            }
        }
        self.counters.unreachable.fetch_add(1, Ordering::Relaxed);
        Err(self
            .handshake_error()
            .unwrap_or_else(|| ClientError::Unreachable(self.config.broker.clone())))
    }

    /// The last failed handshake with the broker, if no handshake succeeded since.
    fn handshake_error(&self) -> Option<ClientError> {
        let failure = self
            .counters
            .handshake
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()?;
        Some(ClientError::Handshake {
            endpoint: failure.endpoint,
            detail: failure.detail,
        })
    }

    /// Reopens the request socket (Lazy Pirate; on the next broker when there are several),
    /// unless it was reopened within the last `window`: the requests that timed out
    /// together then retry on that fresh socket.
    fn reconnect_once_per(&self, window: Duration) {
        let now = tokio::time::Instant::now();
        let mut last = self
            .last_reconnect
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|at| now.duration_since(at) >= window) {
            *last = Some(now);
            self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("reopening the request socket");
            self.io.send(Command::Reconnect { timeout: window });
        }
    }
}
