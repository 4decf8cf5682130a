//! zchat for the bench: setup (accounts, sessions, channels), readiness and history paging
//! through the typed client API (`zchat_client`), on a small runtime of its own; plus the
//! frames and the one raw socket the measured load sends (see [`RawDealer`]).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::task::JoinSet;
use zchat_client::api::HistoryQuery;
use zchat_client::{Client, ClientConfig, ClientError, Page, Session};
use zchat_protocol::codec::{decode, encode};
use zchat_protocol::{ErrorCode, Request, RequestEnvelope, ResponseEnvelope, Target};

use crate::transport::Endpoint;

/// Where the bench's raw sockets reach broker `i` of a testkit cluster (`zchat_backend::
/// testkit::Cluster`), with the deployment's key when it runs CURVE.
pub fn cluster_frontend(cluster: &zchat_backend::testkit::Cluster, i: usize) -> Result<Endpoint> {
    let addr = cluster
        .broker_endpoints()
        .get(i)
        .cloned()
        .with_context(|| format!("the cluster has no broker {i}"))?;
    let key = match cluster.public_key() {
        Some(z85) => Some(
            zchat_protocol::net::decode_key(&z85)
                .map_err(|e| anyhow::anyhow!("the cluster's public key: {e}"))?,
        ),
        None => None,
    };
    Ok(Endpoint::new(addr, key))
}

/// The password of every bench user.
pub const PASSWORD: &str = "bench-password-1";

/// Typed calls to one zchat backend, run on a current-thread runtime owned here.
pub struct Api {
    rt: tokio::runtime::Runtime,
    frontend: Endpoint,
}

impl Api {
    /// For the broker frontend `frontend` (over CURVE when it has a server key).
    pub fn new(frontend: &Endpoint) -> Result<Api> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        Ok(Api {
            rt,
            frontend: frontend.clone(),
        })
    }

    /// A requests-only client: one attempt per request, `timeout` each (login and register:
    /// 5× that), signed in with `token` if given.
    pub fn client(&self, timeout: Duration, token: Option<&str>) -> Result<Client> {
        let mut config = ClientConfig::requests_only(&self.frontend.addr)
            .with_server_key(self.frontend.server_key_z85());
        config.request_timeout = timeout;
        config.attempts = 1;
        let client = Client::start(config)?;
        client.set_token(token.map(String::from));
        Ok(client)
    }

    /// Runs a typed call (or any future) to completion.
    pub fn run<F: std::future::Future>(&self, call: F) -> F::Output {
        self.rt.block_on(call)
    }

    /// One ping, waiting at most `timeout`.
    pub fn ping(&self, timeout: Duration) -> Result<()> {
        let client = self.client(timeout, None)?;
        self.run(client.ping())?;
        Ok(())
    }

    /// Registers users `<prefix>0..<prefix>n` and logs each in, all at once; returns their
    /// session tokens.
    pub fn users(&self, prefix: &str, n: usize) -> Result<Vec<String>> {
        Ok(self
            .sessions(prefix, n)?
            .into_iter()
            .map(|s| s.token)
            .collect())
    }

    /// [`Api::users`], returning the whole sessions (token and inbox topic), in order.
    pub fn sessions(&self, prefix: &str, n: usize) -> Result<Vec<Session>> {
        // Argon2 is deliberately slow and every request is in flight at once: give the
        // whole batch a generous timeout (login and register get 5× the base).
        let client = self.client(Duration::from_secs(6 + n as u64 / 5), None)?;
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
        self.run(async {
            let mut registrations = JoinSet::new();
            for name in &names {
                let (c, name) = (client.clone(), name.clone());
                registrations.spawn(async move { c.register(&name, PASSWORD).await });
            }
            while let Some(r) = registrations.join_next().await {
                r?.context("register")?;
            }
            // Every login sets the shared client's token; only the returned sessions count.
            let mut logins = JoinSet::new();
            for (i, name) in names.iter().enumerate() {
                let (c, name) = (client.clone(), name.clone());
                logins.spawn(async move { (i, c.login(&name, PASSWORD).await) });
            }
            let mut sessions: Vec<Option<Session>> = vec![None; n];
            while let Some(r) = logins.join_next().await {
                let (i, session) = r?;
                sessions[i] = Some(session.context("login")?);
            }
            sessions
                .into_iter()
                .map(|s| s.context("a login never answered"))
                .collect()
        })
    }

    /// Makes sure `channel` exists and every token's user has joined it.
    pub fn join_all(&self, channel: &str, tokens: &[String]) -> Result<()> {
        let Some(first) = tokens.first() else {
            return Ok(());
        };
        let timeout = Duration::from_secs(10);
        let creator = self.client(timeout, Some(first))?;
        match self.run(creator.create_channel(channel, "zchat-bench")) {
            Ok(_) => {}
            Err(e) if e.code() == Some(ErrorCode::AlreadyExists) => {}
            Err(e) => return Err(e).context("create_channel"),
        }
        // One client per token would be a socket thread each: switch the token instead.
        for token in tokens {
            creator.set_token(Some(token.clone()));
            self.run(creator.join(channel)).context("join_channel")?;
        }
        Ok(())
    }

    /// One page of `#channel` after `after`.
    pub fn history_after(
        &self,
        client: &Client,
        channel: &str,
        after: u64,
        limit: u32,
    ) -> Result<Page, ClientError> {
        self.run(client.history(&channel_target(channel), HistoryQuery::after(after, limit)))
    }
}

/// A bare DEALER on the broker frontend, raw on purpose: the login storm sends every login
/// at once, each on its own connection, and times each reply from the moment the storm
/// started. A typed client per login would add a socket thread and a runtime hand-off per
/// request, measuring the client library instead of the server.
pub struct RawDealer {
    sock: zmq::Socket,
    next_id: u64,
}

impl RawDealer {
    /// Connects a DEALER to `frontend` (a CURVE handshake of its own, if secured).
    pub fn connect(ctx: &zmq::Context, frontend: &Endpoint) -> Result<RawDealer> {
        let sock = frontend.dial(ctx, zmq::DEALER)?;
        Ok(RawDealer { sock, next_id: 1 })
    }

    /// Sends one request without waiting.
    pub fn send(&mut self, body: Request) -> Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = encode(&RequestEnvelope::new(id, None, body))?;
        self.sock.send_multipart([&b""[..], &bytes], 0)?;
        Ok(())
    }

    /// Waits up to `timeout` for one reply.
    pub fn recv(&mut self, timeout: Duration) -> Result<ResponseEnvelope> {
        let ms = timeout.as_millis().min(i64::MAX as u128) as i64;
        if self.sock.poll(zmq::POLLIN, ms)? == 0 {
            bail!("no reply within {timeout:?}");
        }
        let frames = self.sock.recv_multipart(0)?;
        let payload = frames.last().context("empty reply")?;
        Ok(decode(payload)?)
    }
}

/// A channel target (`#name`).
pub fn channel_target(name: &str) -> Target {
    Target::Channel(name.to_string())
}

/// Message text of exactly `len` bytes that starts with `tag` (padded with `x`).
pub fn text_of_len(tag: &str, len: usize) -> String {
    let mut s = String::with_capacity(len.max(tag.len()));
    s.push_str(tag);
    while s.len() < len {
        s.push('x');
    }
    s
}

/// A nonce never used before by this process: `send` is idempotent per (user, nonce), so a
/// reused nonce would be answered from the store without storing or publishing anything.
pub fn fresh_nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The encoded `send` request a poster sends (also the raw echo's payload, for parity).
pub fn send_frame(
    id: u64,
    token: &str,
    channel: &str,
    text: String,
    nonce: u64,
) -> Result<Vec<u8>> {
    Ok(encode(&RequestEnvelope::new(
        id,
        Some(token.to_string()),
        Request::Send {
            target: channel_target(channel),
            text,
            nonce: Some(nonce),
        },
    ))?)
}
