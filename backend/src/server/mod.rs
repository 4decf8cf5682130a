//! The chat server: receives requests from the broker, runs one handler per request
//! concurrently, replies, and publishes live events through the proxy.
//!
//! Each request kind has its own file below; [`dispatch`] is the one place that maps a
//! decoded [`Request`] to its handler.

mod context;
mod create_channel;
mod history;
mod join_channel;
mod leave_channel;
mod list_channels;
mod list_dms;
mod list_users;
mod login;
mod logout;
mod mark_read;
mod probe;
mod register;
mod send;
mod session_cache;
mod whoami;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::sync::{mpsc, Semaphore};
use zchat_protocol::{codec, ErrorCode, Reply, Request, ResponseEnvelope};

pub use context::{ApiError, ApiResult, Ctx};

use crate::auth::{Hasher, LoginThrottle};
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::zmq_bridge::{self, BridgeConfig, Incoming, Outbound};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The broker's backend endpoint to connect to.
    pub broker: String,
    /// The proxy's XSUB endpoint to connect to.
    pub proxy: String,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// `synchronous=FULL`: durable across power loss, not only process crashes.
    pub fsync: bool,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Concurrent password hashes.
    pub hash_workers: usize,
}

/// Requests handled at once; beyond this the socket thread stops reading (back-pressure).
const MAX_IN_FLIGHT: usize = 1024;

/// Runs the server until `shutdown` fires, then finishes in-flight requests and returns.
pub async fn run(config: ServerConfig, shutdown: Shutdown) -> Result<()> {
    let dir = config.data_dir.clone();
    let fsync = config.fsync;
    let store = tokio::task::spawn_blocking(move || Store::open(&dir, fsync))
        .await?
        .with_context(|| format!("cannot open the database in {}", config.data_dir.display()))?;
    let purged = store.purge_expired_sessions(zchat_protocol::now_millis())?;
    tracing::info!(db = %store.path().display(), purged_sessions = purged, "storage ready");

    let zctx = zmq::Context::new();
    let (in_tx, mut in_rx) = mpsc::channel::<Incoming>(MAX_IN_FLIGHT);
    let bridge = BridgeConfig {
        broker: config.broker.clone(),
        proxy: config.proxy.clone(),
    };
    // The socket thread stops only after in-flight requests have answered (below).
    let bridge_stop = Shutdown::new();
    let fast_path = zmq_bridge::FastPath::default();
    let (out, io_thread) = zmq_bridge::start(
        &zctx,
        &bridge,
        in_tx,
        fast_path.clone(),
        bridge_stop.clone(),
    )?;
    tracing::info!(broker = %config.broker, proxy = %config.proxy, "server running");

    let ctx = Arc::new(Ctx {
        store: Arc::new(store),
        out,
        hasher: Hasher::new(config.hash_workers),
        throttle: LoginThrottle::default(),
        session_ttl: config.session_ttl,
        sessions: session_cache::SessionCache::default(),
    });
    let fast_sends = Arc::new(AtomicUsize::new(0));
    {
        let (ctx, pending) = (ctx.clone(), fast_sends.clone());
        let _ = fast_path.set(Box::new(move |incoming| {
            send::fast_path(&ctx, &pending, incoming)
        }));
    }
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let incoming = tokio::select! {
            _ = shutdown.wait() => break,
            incoming = in_rx.recv() => match incoming {
                Some(i) => i,
                None => break,
            },
        };
        spawn_request(&ctx, &in_flight, incoming).await?;
    }
    // Answer what the socket thread had already handed over, too: those clients are waiting.
    while let Ok(incoming) = in_rx.try_recv() {
        spawn_request(&ctx, &in_flight, incoming).await?;
    }
    // Let in-flight requests finish (bounded), then stop the socket thread.
    let drained = tokio::time::timeout(
        Duration::from_secs(5),
        in_flight.acquire_many(MAX_IN_FLIGHT as u32),
    )
    .await;
    if drained.is_err() {
        tracing::warn!("some requests were still running at shutdown");
    }
    // Sends taken by the fast path answer from the storage writer: wait for those too.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while fast_sends.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bridge_stop.trigger();
    drop(in_rx);
    tokio::task::spawn_blocking(move || io_thread.join())
        .await
        .ok();
    tracing::info!("server stopped");
    Ok(())
}

/// Handles one request on its own task (bounded by `in_flight`) and queues its reply.
async fn spawn_request(
    ctx: &Arc<Ctx>,
    in_flight: &Arc<Semaphore>,
    incoming: Incoming,
) -> Result<()> {
    let permit = in_flight.clone().acquire_owned().await?;
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let reply = handle_frame(&ctx, &incoming.body).await;
        let body = codec::encode(&reply).unwrap_or_default();
        ctx.out.send(Outbound::Reply {
            envelope: incoming.envelope,
            body,
        });
        drop(permit);
    });
    Ok(())
}

/// Decodes one request frame and produces its response (errors included). Never panics on
/// client input: every failure becomes an error reply.
pub async fn handle_frame(ctx: &Ctx, frame: &[u8]) -> ResponseEnvelope {
    let env = match codec::decode_request(frame) {
        Ok(env) => env,
        Err(e) => {
            tracing::debug!(code = %e.code, "rejected frame: {}", e.message);
            return ResponseEnvelope::new(e.id, Reply::error(e.code, e.message));
        }
    };
    let op = env.body.op();
    let started = std::time::Instant::now();
    let reply = match dispatch(ctx, env.token, env.body).await {
        Ok(reply) => reply,
        Err(e) => Reply::Error {
            code: e.code,
            message: e.message,
        },
    };
    if let Reply::Error { code, message } = &reply {
        tracing::debug!(op, %code, "request failed: {message}");
    } else {
        tracing::trace!(
            op,
            elapsed_us = started.elapsed().as_micros() as u64,
            "request ok"
        );
    }
    ResponseEnvelope::new(env.id, reply)
}

/// Maps each request to its handler. Requests other than ping/register/login need a
/// valid session.
async fn dispatch(ctx: &Ctx, token: Option<String>, request: Request) -> ApiResult {
    match request {
        Request::Ping => Ok(Reply::Pong {
            server_time: zchat_protocol::now_millis(),
        }),
        Request::Register { user, password } => register::handle(ctx, user, password).await,
        Request::Login { user, password } => login::handle(ctx, user, password).await,
        Request::Logout => logout::handle(ctx, token).await,
        other => {
            let session = ctx.authenticate(token).await?;
            match other {
                Request::Whoami => whoami::handle(ctx, session).await,
                Request::ListUsers => list_users::handle(ctx).await,
                Request::ListChannels => list_channels::handle(ctx, session).await,
                Request::CreateChannel {
                    channel,
                    description,
                } => create_channel::handle(ctx, session, channel, description).await,
                Request::JoinChannel { channel } => {
                    join_channel::handle(ctx, session, channel).await
                }
                Request::LeaveChannel { channel } => {
                    leave_channel::handle(ctx, session, channel).await
                }
                Request::Send {
                    target,
                    text,
                    nonce,
                } => send::handle(ctx, session, target, text, nonce).await,
                Request::History {
                    target,
                    after,
                    before,
                    limit,
                } => history::handle(ctx, session, target, after, before, limit).await,
                Request::ListDms => list_dms::handle(ctx, session).await,
                Request::MarkRead { target, seq } => {
                    mark_read::handle(ctx, session, target, seq).await
                }
                Request::Probe { value } => probe::handle(ctx, session, value),
                Request::Ping
                | Request::Register { .. }
                | Request::Login { .. }
                | Request::Logout => Err(ApiError::new(ErrorCode::Internal, "unreachable")),
            }
        }
    }
}
