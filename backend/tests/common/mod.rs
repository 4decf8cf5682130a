//! Helpers for backend integration tests, against the real binaries started by
//! `zchat_backend::testkit::Cluster`:
//!
//! - [`User`]: one test user on the typed client API (`zchat_client::Client`), driven by a
//!   private current-thread tokio runtime so that test bodies stay synchronous.
//! - [`RawWire`]: a bare DEALER for wire-level tests only — bytes the typed API cannot
//!   produce (garbage, bad MessagePack, unknown ops, wrong versions, oversize frames, extra
//!   frames) or traffic it would not send (a pipelined burst with no retry).
//! - [`Sub`]: a bare SUB socket on the proxy, for subscription tests (any prefix, any order).
//! - [`curve_client`]: makes a bare socket a CURVE client of the cluster (its deployment key,
//!   an ephemeral key pair), as every client is; a no-op on a plaintext cluster.
//!
//! Nothing here waits a fixed time for something to happen: every wait is on an observable
//! condition, with [`TIMEOUT`] as the deadline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail
#![allow(dead_code)]

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_client::{Client, ClientError, Page, Session};
use zchat_protocol::{
    codec, topic, ChannelInfo, ErrorCode, Event, EventEnvelope, Message, Request, RequestEnvelope,
    ResponseEnvelope, Target,
};

pub const PASSWORD: &str = "correct horse battery";
/// The deadline of every wait (a reply, an event, a condition).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One test user: a typed client (requests only; live events come through [`Sub`]) and the
/// session it logged in with.
pub struct User {
    rt: tokio::runtime::Runtime,
    /// The typed API: run its calls with [`User::ok`] or [`User::fails`].
    pub api: Client,
    /// Set by [`User::login`].
    pub session: Option<Session>,
}

impl User {
    /// A client on the cluster's broker, not signed in. One attempt per request with a
    /// [`TIMEOUT`] wait: tests see exactly what the server answers, never a retry's answer.
    pub fn connect(cluster: &Cluster) -> User {
        let mut config = cluster.requests_config();
        config.request_timeout = TIMEOUT;
        config.attempts = 1;
        User::with_config(config)
    }

    /// A client with the given configuration (e.g. one broker of several, or with retries),
    /// not signed in.
    pub fn with_config(config: zchat_client::ClientConfig) -> User {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let api = Client::start(config).expect("client");
        User {
            rt,
            api,
            session: None,
        }
    }

    /// Registers `user` and logs in.
    pub fn signup(cluster: &Cluster, user: &str) -> User {
        let mut u = User::connect(cluster);
        u.ok(u.api.register(user, PASSWORD));
        u.login(user);
        u
    }

    /// Logs in (the client sends the new token from now on).
    pub fn login(&mut self, user: &str) -> Session {
        let session = self.ok(self.api.login(user, PASSWORD));
        self.session = Some(session.clone());
        session
    }

    /// Runs any future (a typed call) to completion.
    pub fn run<F: Future>(&self, call: F) -> F::Output {
        self.rt.block_on(call)
    }

    /// Runs a typed call that must succeed.
    pub fn ok<T, F: Future<Output = Result<T, ClientError>>>(&self, call: F) -> T {
        self.run(call)
            .unwrap_or_else(|e| panic!("call failed: {e}"))
    }

    /// Runs a typed call that must fail with the server error `code`; returns its message.
    pub fn fails<T: Debug, F: Future<Output = Result<T, ClientError>>>(
        &self,
        call: F,
        code: ErrorCode,
    ) -> String {
        match self.run(call) {
            Err(ClientError::Server { code: c, message }) => {
                assert_eq!(c, code, "unexpected error code ({message})");
                message
            }
            other => panic!("expected error {code}, got {other:?}"),
        }
    }

    /// The signed-in user's name (canonical spelling).
    pub fn name(&self) -> String {
        self.session().user.clone()
    }

    /// The session token.
    pub fn token(&self) -> String {
        self.session().token.clone()
    }

    /// The session's inbox topic.
    pub fn inbox(&self) -> String {
        self.session().inbox.clone()
    }

    fn session(&self) -> &Session {
        self.session.as_ref().expect("signed in")
    }

    /// Posts (with a fresh nonce) to `#channel` or `@user`.
    pub fn send(&self, target: &str, text: &str) -> Message {
        let target = Target::parse(target).expect("target");
        self.ok(self.api.send(&target, text, Some(rand::random())))
    }

    /// A page of `#channel` or `@user`.
    pub fn history(&self, target: &str, query: HistoryQuery) -> Page {
        let target = Target::parse(target).expect("target");
        self.ok(self.api.history(&target, query))
    }

    /// Creates a channel (no description).
    pub fn create(&self, channel: &str) -> ChannelInfo {
        self.ok(self.api.create_channel(channel, ""))
    }

    /// Joins a channel.
    pub fn join(&self, channel: &str) -> ChannelInfo {
        self.ok(self.api.join(channel))
    }
}

/// A bare DEALER to the broker, for wire-level tests: it sends exactly the bytes it is
/// given. Everything a well-behaved client does goes through [`User`] instead.
pub struct RawWire {
    pub ctx: zmq::Context,
    pub dealer: zmq::Socket,
}

impl RawWire {
    pub fn connect(cluster: &Cluster) -> RawWire {
        let ctx = zmq::Context::new();
        let dealer = ctx.socket(zmq::DEALER).expect("socket");
        dealer.set_linger(0).expect("linger");
        curve_client(&dealer, cluster);
        dealer.connect(&cluster.broker_endpoint()).expect("connect");
        RawWire { ctx, dealer }
    }

    /// Sends raw frames (after the empty delimiter) and returns the reply's frames.
    pub fn send_frames(&self, frames: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut all: Vec<&[u8]> = vec![b""];
        all.extend_from_slice(frames);
        self.dealer.send_multipart(all, 0).expect("send");
        self.recv_frames()
    }

    /// The next reply's frames, within [`TIMEOUT`].
    pub fn recv_frames(&self) -> Vec<Vec<u8>> {
        assert!(
            self.dealer
                .poll(zmq::POLLIN, TIMEOUT.as_millis() as i64)
                .expect("poll")
                > 0,
            "no reply within {TIMEOUT:?}"
        );
        self.dealer.recv_multipart(0).expect("recv")
    }

    /// Sends a raw payload and decodes the response.
    pub fn send_raw(&self, payload: &[u8]) -> ResponseEnvelope {
        let frames = self.send_frames(&[payload]);
        codec::decode(frames.last().expect("a frame")).expect("decodable response")
    }
}

/// A request encoded exactly as on the wire (for [`RawWire`]).
pub fn encode_request(id: u64, token: Option<String>, request: Request) -> Vec<u8> {
    codec::encode(&RequestEnvelope::new(id, token, request)).expect("encode")
}

/// A bare SUB socket on the proxy.
pub struct Sub {
    _ctx: zmq::Context,
    pub socket: zmq::Socket,
}

impl Sub {
    /// Connects, then subscribes to `topics` in the order given. Subscribing after the
    /// connect puts the subscriptions on the connection's pipe in that order, and the proxy
    /// applies one connection's subscriptions in order: once something published on the
    /// *last* topic arrives, every subscription before it is in effect too.
    pub fn connect(cluster: &Cluster, topics: &[&[u8]]) -> Sub {
        Sub::connect_via(cluster, 0, topics)
    }

    /// [`Sub::connect`] to proxy `proxy` of the cluster.
    pub fn connect_via(cluster: &Cluster, proxy: usize, topics: &[&[u8]]) -> Sub {
        let ctx = zmq::Context::new();
        let socket = ctx.socket(zmq::SUB).expect("sub");
        socket.set_linger(0).expect("linger");
        curve_client(&socket, cluster);
        socket
            .connect(&cluster.proxy_endpoints()[proxy])
            .expect("connect");
        for t in topics {
            socket.set_subscribe(t).expect("subscribe");
        }
        Sub { _ctx: ctx, socket }
    }

    /// Next event within `timeout`, if any, with its topic.
    pub fn next(&self, timeout: Duration) -> Option<(String, Event)> {
        next_event(&self.socket, timeout)
    }

    /// Subscribes to a fresh probe topic, after everything subscribed before, and waits for
    /// the proxy's `probe` event on it: then every earlier subscription of this socket is
    /// live (PROTOCOL.md §5.2). Panics on any other event, so it also proves that nothing
    /// else arrived meanwhile.
    pub fn await_probe(&self) {
        let value: u64 = rand::random();
        let probe = topic::probe(value);
        self.socket
            .set_subscribe(probe.as_bytes())
            .expect("subscribe");
        match self.next(TIMEOUT) {
            Some((t, Event::Probe { value: v })) => assert_eq!((t, v), (probe.clone(), value)),
            other => panic!("expected the probe, got {other:?}"),
        }
        self.socket
            .set_unsubscribe(probe.as_bytes())
            .expect("unsubscribe");
    }

    /// Every event up to and including the first one that is `message`, or up to
    /// [`TIMEOUT`] if it never comes. Publications of one server reach a subscriber in
    /// order, so whatever was published before `message` is in the result if it was
    /// delivered at all: a test can publish a marker and then check what came before it,
    /// instead of listening for a while.
    pub fn until_message(&self, message: &Message) -> Vec<(String, Event)> {
        let deadline = Instant::now() + TIMEOUT;
        let mut out = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(event) = self.next(left) else { break };
            let done = matches!(&event.1, Event::Message { message: m } if m == message);
            out.push(event);
            if done {
                break;
            }
        }
        out
    }
}

/// The next publication on a subscribing socket (SUB or XSUB) within `timeout`, decoded,
/// with its topic.
pub fn next_event(socket: &zmq::Socket, timeout: Duration) -> Option<(String, Event)> {
    if socket
        .poll(zmq::POLLIN, timeout.as_millis() as i64)
        .expect("poll")
        == 0
    {
        return None;
    }
    let frames = socket.recv_multipart(0).expect("recv");
    let env: EventEnvelope = codec::decode(&frames[1]).expect("event");
    Some((String::from_utf8_lossy(&frames[0]).into_owned(), env.body))
}

/// Makes `socket` (not yet connected) a CURVE client of the cluster's deployment, with a
/// fresh key pair, like every real client; nothing on a plaintext cluster.
pub fn curve_client(socket: &zmq::Socket, cluster: &Cluster) {
    curve_client_of(socket, cluster.public_key().as_deref());
}

/// [`curve_client`] for a server key (`None`: plaintext), where the cluster is not at hand.
pub fn curve_client_of(socket: &zmq::Socket, server_key: Option<&str>) {
    if let Some(key) = server_key {
        let pair = zmq::CurveKeyPair::new().expect("key pair");
        socket
            .set_curve_serverkey(key.as_bytes())
            .expect("server key");
        socket
            .set_curve_publickey(&pair.public_key)
            .expect("public key");
        socket
            .set_curve_secretkey(&pair.secret_key)
            .expect("secret key");
    }
}

pub fn start() -> Cluster {
    Cluster::start().expect("cluster starts")
}

/// A cluster with `--plaintext`: for tests whose hand-made ZMTP peers speak the NULL
/// mechanism (the logic they test is the same under CURVE, which any client may speak).
pub fn start_plaintext() -> Cluster {
    Cluster::start_plaintext().expect("cluster starts")
}
