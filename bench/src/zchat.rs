//! A minimal zchat client for the bench: requests over a DEALER socket, with pipelining.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use zchat_protocol::codec::{decode, encode};
use zchat_protocol::{Reply, Request, RequestEnvelope, ResponseEnvelope, Target};

/// The password of every bench user.
pub const PASSWORD: &str = "bench-password-1";

/// One DEALER connection to the broker's frontend.
pub struct Client {
    sock: zmq::Socket,
    next_id: u64,
}

impl Client {
    /// Connects a DEALER to `frontend`.
    pub fn connect(ctx: &zmq::Context, frontend: &str) -> Result<Client> {
        let sock = ctx.socket(zmq::DEALER)?;
        sock.set_linger(0)?;
        sock.connect(frontend)?;
        Ok(Client { sock, next_id: 1 })
    }

    /// Sends one request without waiting; returns its id.
    pub fn send(&mut self, body: Request, token: Option<&str>) -> Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = encode(&RequestEnvelope::new(id, token.map(String::from), body))?;
        self.sock.send_multipart([&b""[..], &bytes], 0)?;
        Ok(id)
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

    /// One request, one reply (errors become `Err`).
    pub fn call(&mut self, body: Request, token: Option<&str>, timeout: Duration) -> Result<Reply> {
        let id = self.send(body, token)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let env = self.recv(left)?;
            if env.id == id {
                return ok(env.body);
            }
        }
    }

    /// Sends all `requests` at once and collects every reply (in request order), within
    /// `timeout` overall. Error replies become `Err`.
    pub fn call_many(
        &mut self,
        requests: Vec<(Request, Option<String>)>,
        timeout: Duration,
    ) -> Result<Vec<Reply>> {
        let mut order = Vec::with_capacity(requests.len());
        for (body, token) in requests {
            order.push(self.send(body, token.as_deref())?);
        }
        let deadline = Instant::now() + timeout;
        let mut got: HashMap<u64, Reply> = HashMap::new();
        while got.len() < order.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let env = self
                .recv(left)
                .with_context(|| format!("{} of {} replies", got.len(), order.len()))?;
            got.insert(env.id, env.body);
        }
        order
            .iter()
            .map(|id| ok(got.remove(id).expect("every id answered")))
            .collect()
    }
}

fn ok(reply: Reply) -> Result<Reply> {
    match reply {
        Reply::Error { code, message } => Err(anyhow!("server error {code}: {message}")),
        r => Ok(r),
    }
}

/// Registers users `<prefix>0..<prefix>n` and logs each in; returns their session tokens.
pub fn users(ctx: &zmq::Context, frontend: &str, prefix: &str, n: usize) -> Result<Vec<String>> {
    let mut c = Client::connect(ctx, frontend)?;
    // Argon2 is deliberately slow: give each hash a generous share of the timeout.
    let timeout = Duration::from_secs(30 + n as u64);
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    c.call_many(
        names
            .iter()
            .map(|u| {
                (
                    Request::Register {
                        user: u.clone(),
                        password: PASSWORD.into(),
                    },
                    None,
                )
            })
            .collect(),
        timeout,
    )
    .context("register")?;
    login_all(&mut c, &names, timeout)
}

/// Logs every user in (pipelined); returns their tokens.
pub fn login_all(c: &mut Client, names: &[String], timeout: Duration) -> Result<Vec<String>> {
    let replies = c
        .call_many(
            names
                .iter()
                .map(|u| {
                    (
                        Request::Login {
                            user: u.clone(),
                            password: PASSWORD.into(),
                        },
                        None,
                    )
                })
                .collect(),
            timeout,
        )
        .context("login")?;
    replies
        .into_iter()
        .map(|r| match r {
            Reply::Session { token, .. } => Ok(token),
            other => Err(anyhow!("login answered {other:?}")),
        })
        .collect()
}

/// Makes sure `channel` exists and every token's user has joined it.
pub fn join_all(
    ctx: &zmq::Context,
    frontend: &str,
    channel: &str,
    tokens: &[String],
) -> Result<()> {
    let mut c = Client::connect(ctx, frontend)?;
    let Some(first) = tokens.first() else {
        return Ok(());
    };
    let created = c.call(
        Request::CreateChannel {
            channel: channel.into(),
            description: "zchat-bench".into(),
        },
        Some(first),
        Duration::from_secs(10),
    );
    if let Err(e) = created {
        if !e.to_string().contains("already_exists") {
            return Err(e.context("create_channel"));
        }
    }
    c.call_many(
        tokens
            .iter()
            .map(|t| {
                (
                    Request::JoinChannel {
                        channel: channel.into(),
                    },
                    Some(t.clone()),
                )
            })
            .collect(),
        Duration::from_secs(30),
    )
    .context("join_channel")?;
    Ok(())
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
