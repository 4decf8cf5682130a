//! Helpers for backend integration tests: a raw protocol client over real sockets, talking
//! to the real binaries started by `zchat_backend::testkit::Cluster`.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use zchat_backend::testkit::Cluster;
use zchat_protocol::{
    codec, ErrorCode, Event, EventEnvelope, Reply, Request, RequestEnvelope, ResponseEnvelope,
    Target,
};

pub const PASSWORD: &str = "correct horse battery";
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A DEALER to the broker, for requests.
pub struct Raw {
    pub ctx: zmq::Context,
    pub dealer: zmq::Socket,
    pub token: Option<String>,
    pub inbox: Option<String>,
    pub user: String,
    next_id: u64,
}

impl Raw {
    pub fn connect(cluster: &Cluster) -> Raw {
        let ctx = zmq::Context::new();
        let dealer = ctx.socket(zmq::DEALER).expect("socket");
        dealer.set_linger(0).expect("linger");
        dealer.connect(&cluster.broker_endpoint()).expect("connect");
        Raw {
            ctx,
            dealer,
            token: None,
            inbox: None,
            user: String::new(),
            next_id: 1,
        }
    }

    /// Sends raw frames (after the empty delimiter) and returns the reply payload.
    pub fn send_frames(&self, frames: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut all: Vec<&[u8]> = vec![b""];
        all.extend_from_slice(frames);
        self.dealer.send_multipart(all, 0).expect("send");
        self.recv_frames()
    }

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

    pub fn call(&mut self, req: Request) -> Reply {
        let id = self.next_id;
        self.next_id += 1;
        let env = RequestEnvelope::new(id, self.token.clone(), req);
        let resp = self.send_raw(&codec::encode(&env).expect("encode"));
        assert_eq!(resp.id, id, "response id matches request id");
        assert_eq!(resp.v, zchat_protocol::PROTOCOL_VERSION);
        resp.body
    }

    pub fn expect_error(&mut self, req: Request, code: ErrorCode) -> String {
        match self.call(req) {
            Reply::Error { code: c, message } => {
                assert_eq!(c, code, "unexpected error code ({message})");
                message
            }
            other => panic!("expected error {code}, got {other:?}"),
        }
    }

    /// Registers and logs in.
    pub fn signup(cluster: &Cluster, user: &str) -> Raw {
        let mut raw = Raw::connect(cluster);
        match raw.call(Request::Register {
            user: user.into(),
            password: PASSWORD.into(),
        }) {
            Reply::Registered { .. } => {}
            other => panic!("register failed: {other:?}"),
        }
        raw.login(user);
        raw
    }

    pub fn login(&mut self, user: &str) {
        match self.call(Request::Login {
            user: user.into(),
            password: PASSWORD.into(),
        }) {
            Reply::Session {
                token, inbox, user, ..
            } => {
                self.token = Some(token);
                self.inbox = Some(inbox);
                self.user = user;
            }
            other => panic!("login failed: {other:?}"),
        }
    }

    pub fn send(&mut self, target: &str, text: &str) -> zchat_protocol::Message {
        match self.call(Request::Send {
            target: Target::parse(target).expect("target"),
            text: text.into(),
            nonce: Some(rand_u64()),
        }) {
            Reply::Sent { message } => message,
            other => panic!("send failed: {other:?}"),
        }
    }

    pub fn history(
        &mut self,
        target: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: u32,
    ) -> (Vec<zchat_protocol::Message>, bool) {
        match self.call(Request::History {
            target: Target::parse(target).expect("target"),
            after,
            before,
            limit: Some(limit),
        }) {
            Reply::History {
                messages, has_more, ..
            } => (messages, has_more),
            other => panic!("history failed: {other:?}"),
        }
    }

    pub fn create(&mut self, channel: &str) {
        match self.call(Request::CreateChannel {
            channel: channel.into(),
            description: String::new(),
        }) {
            Reply::Channel { .. } => {}
            other => panic!("create failed: {other:?}"),
        }
    }

    pub fn join(&mut self, channel: &str) {
        match self.call(Request::JoinChannel {
            channel: channel.into(),
        }) {
            Reply::Channel { .. } => {}
            other => panic!("join failed: {other:?}"),
        }
    }
}

pub fn rand_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// A SUB socket on the proxy.
pub struct Sub {
    pub socket: zmq::Socket,
}

impl Sub {
    pub fn connect(raw: &Raw, cluster: &Cluster, topics: &[&[u8]]) -> Sub {
        let socket = raw.ctx.socket(zmq::SUB).expect("sub");
        socket.set_linger(0).expect("linger");
        for t in topics {
            socket.set_subscribe(t).expect("subscribe");
        }
        socket.connect(&cluster.proxy_endpoint()).expect("connect");
        Sub { socket }
    }

    /// Next event within `timeout`, if any.
    pub fn next(&self, timeout: Duration) -> Option<(String, Event)> {
        if self
            .socket
            .poll(zmq::POLLIN, timeout.as_millis() as i64)
            .expect("poll")
            == 0
        {
            return None;
        }
        let frames = self.socket.recv_multipart(0).expect("recv");
        let env: EventEnvelope = codec::decode(&frames[1]).expect("event");
        Some((String::from_utf8_lossy(&frames[0]).into_owned(), env.body))
    }

    /// Every event that arrives within `window`.
    pub fn drain(&self, window: Duration) -> Vec<(String, Event)> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left) {
                Some(e) => out.push(e),
                None => break,
            }
        }
        out
    }
}

/// Waits until a subscription is live: posts probe messages to `channel` via `poster` until
/// `sub` sees one (subscriptions propagate asynchronously through the proxy).
pub fn await_subscription(sub: &Sub, poster: &mut Raw, channel: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        poster.send(channel, "probe");
        if sub.next(Duration::from_millis(200)).is_some() {
            // Swallow any further probes in flight.
            sub.drain(Duration::from_millis(100));
            return;
        }
    }
    panic!("subscription never became live");
}

pub fn start() -> Cluster {
    Cluster::start().expect("cluster starts")
}
