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
mod register;
mod responder;
mod send;
mod session_cache;
mod whoami;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use zchat_protocol::{codec, Reply, Request};

pub use context::{ApiError, ApiResult, Ctx};
pub use responder::Responder;

use crate::auth::{Hasher, LoginThrottle};
use crate::shutdown::Shutdown;
use crate::store::{DbUrl, Revocation, SessionRow, Store};
use crate::transport::Transport;
use crate::zmq_bridge::{self, BridgeConfig, BridgeStats, Incoming};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Every broker's backend endpoint to connect to (at least one): requests come from
    /// all of them, each reply goes back through the broker its request came from.
    pub broker: Vec<String>,
    /// Every proxy's XSUB endpoint to connect to (at least one): each publication goes to
    /// all of them.
    pub proxy: Vec<String>,
    /// Where the data lives: a SQLite file or a PostgreSQL database.
    pub db: DbUrl,
    /// SQLite `synchronous=FULL`: durable across power loss, not only process crashes.
    pub fsync: bool,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Concurrent password hashes.
    pub hash_workers: usize,
    /// CURVE with the deployment's keys, or plaintext.
    pub transport: Transport,
}

/// Requests in flight at once (read and not yet answered, including sends waiting for the
/// storage writer); beyond this the server stops taking requests (back-pressure on the
/// broker, which queues them).
const MAX_IN_FLIGHT: usize = 8192;

/// How often expired sessions and stale login-failure counts are deleted.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// Deletes expired sessions and login-failure counts past their window (logged, never
/// fatal: the next round tries again).
async fn purge_stale(ctx: Arc<Ctx>) {
    let now = zchat_protocol::now_millis();
    let window = crate::auth::WINDOW.as_millis() as i64;
    let purged = ctx
        .db(move |s| {
            Ok((
                s.purge_expired_sessions(now)?,
                s.purge_login_failures(now - window)?,
            ))
        })
        .await;
    match purged {
        Ok((sessions, failures)) => {
            tracing::debug!(sessions, login_failures = failures, "purged stale rows");
        }
        Err(e) => tracing::warn!("housekeeping failed: {}", e.message),
    }
}

/// How long a graceful stop waits for requests in flight to be answered.
const DRAIN_AT_STOP: Duration = Duration::from_secs(5);

/// Runs the server until `shutdown` fires, then answers every request already received and
/// returns.
pub async fn run(config: ServerConfig, shutdown: Shutdown) -> Result<()> {
    let url = config.db.clone();
    let fsync = config.fsync;
    let store = tokio::task::spawn_blocking(move || -> Result<Store> {
        let store =
            Store::open(&url, fsync).with_context(|| format!("cannot open the database {url}"))?;
        let now = zchat_protocol::now_millis();
        let purged = store.purge_expired_sessions(now)?;
        store.purge_login_failures(now - crate::auth::WINDOW.as_millis() as i64)?;
        tracing::info!(db = %url, purged_sessions = purged, "storage ready");
        Ok(store)
    })
    .await??;
    let sessions = Arc::new(session_cache::SessionCache::default());
    // Nothing is cached until a revocation listener (PostgreSQL) confirms it hears every
    // logout; suspended before the listener starts, so its first `Resumed` is not lost.
    sessions.suspend();
    let cache = sessions.clone();
    let notified = store.watch_revocations(move |event| match event {
        Revocation::Session(hash) => cache.remove(&hash),
        Revocation::Suspended => cache.suspend(),
        Revocation::Resumed => cache.resume(),
    });
    if !notified {
        // SQLite: no listener; the cache revalidates on its timer.
        sessions.resume();
    }

    let zctx = zmq::Context::new();
    let (in_tx, mut in_rx) = mpsc::channel::<Incoming>(1024);
    let bridge = BridgeConfig {
        broker: config.broker.clone(),
        proxy: config.proxy.clone(),
        security: config.transport.as_server_peer(),
    };
    // The socket thread stops only after every request has been answered (below).
    let bridge_stop = Shutdown::new();
    let stats = Arc::new(BridgeStats::default());
    let (out, io_thread) =
        zmq_bridge::start(&zctx, &bridge, in_tx, stats.clone(), bridge_stop.clone())?;
    tracing::info!(
        broker = %config.broker.join(","),
        proxy = %config.proxy.join(","),
        "server running"
    );

    let ctx = Arc::new(Ctx {
        store: Arc::new(store),
        out,
        hasher: Hasher::new(config.hash_workers),
        throttle: LoginThrottle::default(),
        session_ttl: config.session_ttl,
        sessions,
    });
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    let mut housekeeping = tokio::time::interval(HOUSEKEEPING_EVERY);
    housekeeping.tick().await; // the first tick is now: start-up just purged
    loop {
        let incoming = tokio::select! {
            _ = shutdown.wait() => break,
            _ = housekeeping.tick() => {
                tasks.spawn(purge_stale(ctx.clone()));
                continue;
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            incoming = in_rx.recv() => match incoming {
                Some(i) => i,
                None => break,
            },
        };
        serve(&ctx, &in_flight, &mut tasks, incoming).await?;
    }
    // Answer what the socket thread had already handed over, too: those clients are waiting.
    in_rx.close();
    // Every request holds a permit until it is answered, by its task or by the writer. The
    // whole drain is bounded: requests still waiting after it get no answer (their clients
    // retry, safely, on another server or after the restart).
    let drained = tokio::time::timeout(DRAIN_AT_STOP, async {
        while let Some(incoming) = in_rx.recv().await {
            serve(&ctx, &in_flight, &mut tasks, incoming).await?;
        }
        while tasks.join_next().await.is_some() {}
        let _all = in_flight.acquire_many(MAX_IN_FLIGHT as u32).await;
        anyhow::Ok(())
    })
    .await;
    match drained {
        Ok(outcome) => outcome?,
        Err(_) => tracing::warn!("some requests were still running at shutdown"),
    }
    // Aborted tasks release their share of the state only once they have ended.
    tasks.shutdown().await;
    // Close the store: the writer stores and answers what it holds, then its thread ends.
    match Arc::try_unwrap(ctx).map(|ctx| Arc::try_unwrap(ctx.store)) {
        Ok(Ok(store)) => tokio::task::spawn_blocking(move || store.close()).await?,
        _ => tracing::warn!("storage still in use at shutdown; not waiting for its writer"),
    }
    bridge_stop.trigger();
    tokio::task::spawn_blocking(move || io_thread.join())
        .await
        .ok();
    let dropped = stats.replies_dropped.load(Ordering::Relaxed);
    tracing::info!(replies_dropped = dropped, "server stopped");
    Ok(())
}

/// Takes one request: decodes it, then answers it inline when that cannot wait (a malformed
/// frame; a `send` whose session is cached, which goes straight to the storage writer), or
/// on a task of its own otherwise. Waits for an in-flight permit first (back-pressure).
async fn serve(
    ctx: &Arc<Ctx>,
    in_flight: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    incoming: Incoming,
) -> Result<()> {
    let permit = in_flight.clone().acquire_owned().await?;
    let responder = Responder::new(incoming.dealer, incoming.envelope, ctx.out.clone(), permit);
    let env = match codec::decode_request(&incoming.body) {
        Ok(env) => env,
        Err(e) => {
            let id = e.id;
            responder
                .with_id(id)
                .answer(Err(ApiError::new(e.code, e.message)));
            return Ok(());
        }
    };
    let responder = responder.with_id(env.id);
    if let Request::Send { .. } = &env.body {
        if let Some(session) = env.token.as_deref().and_then(|t| ctx.cached_session(t)) {
            route(ctx, session, env.body, responder);
            return Ok(());
        }
    }
    let ctx = ctx.clone();
    tasks.spawn(async move {
        let op = env.body.op();
        match env.body {
            Request::Ping => responder.answer(Ok(Reply::Pong {
                server_time: zchat_protocol::now_millis(),
            })),
            Request::Register { user, password } => {
                responder.answer(register::handle(&ctx, user, password).await);
            }
            Request::Login { user, password } => {
                responder.answer(login::handle(&ctx, user, password).await);
            }
            Request::Logout => responder.answer(logout::handle(&ctx, env.token).await),
            request => match ctx.authenticate(env.token).await {
                Ok(session) => route_async(&ctx, session, request, responder).await,
                Err(e) => responder.answer(Err(e)),
            },
        }
        tracing::trace!(op, "request handled");
    });
    Ok(())
}

/// Requests that never wait: handed on without an await.
fn route(ctx: &Ctx, session: SessionRow, request: Request, responder: Responder) {
    if let Request::Send {
        target,
        text,
        nonce,
    } = request
    {
        send::handle(ctx, session, target, text, nonce, responder);
    } else {
        responder.answer(Err(ApiError::internal("request routed as non-waiting")));
    }
}

/// Signed-in requests: each to its handler.
async fn route_async(ctx: &Ctx, session: SessionRow, request: Request, responder: Responder) {
    match request {
        Request::Send { .. } => route(ctx, session, request, responder),
        other => responder.answer(dispatch(ctx, session, other).await),
    }
}

/// Maps each signed-in request that answers from its own task to its handler.
async fn dispatch(ctx: &Ctx, session: SessionRow, request: Request) -> ApiResult {
    match request {
        Request::Whoami => whoami::handle(ctx, session).await,
        Request::ListUsers => list_users::handle(ctx).await,
        Request::ListChannels => list_channels::handle(ctx, session).await,
        Request::CreateChannel {
            channel,
            description,
        } => create_channel::handle(ctx, session, channel, description).await,
        Request::JoinChannel { channel } => join_channel::handle(ctx, session, channel).await,
        Request::LeaveChannel { channel } => leave_channel::handle(ctx, session, channel).await,
        Request::History {
            target,
            after,
            before,
            limit,
        } => history::handle(ctx, session, target, after, before, limit).await,
        Request::ListDms => list_dms::handle(ctx, session).await,
        Request::MarkRead { target, seq } => mark_read::handle(ctx, session, target, seq).await,
        Request::Ping
        | Request::Register { .. }
        | Request::Login { .. }
        | Request::Logout
        | Request::Send { .. } => Err(ApiError::internal("request routed to dispatch")),
    }
}
