//! `send`: store a channel or direct message, acknowledge it, publish it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use zchat_protocol::{codec, validate, Reply, Request, ResponseEnvelope, Target};

use super::context::publish_message;
use super::{ApiError, ApiResult, Ctx};
use crate::auth;
use crate::store::SessionRow;
use crate::zmq_bridge::{Incoming, Outbound};

/// The message goes to the store's group-commit writer: it is committed before the reply is
/// sent (so an acknowledged message survives a crash), and published by the writer in
/// commit order, so publications of one conversation leave in `seq` order.
pub async fn handle(
    ctx: &Ctx,
    session: SessionRow,
    target: Target,
    text: String,
    nonce: Option<u64>,
) -> ApiResult {
    validate::text(&text)?;
    let out = ctx.out.clone();
    let now = zchat_protocol::now_millis();
    let pending = ctx
        .store
        .submit_post(&session.user, &target, &text, nonce, now, move |stored| {
            publish_message(&out, &stored.message, &stored.inboxes)
        });
    let stored = pending
        .await
        .map_err(|_| ApiError::internal("storage writer stopped"))??;
    Ok(Reply::Sent {
        message: stored.message,
    })
}

/// Most fast-path sends waiting for the writer at once.
const MAX_PENDING_FAST: usize = 4096;

/// The fast path, run on the socket thread for every incoming request: a `send` whose session
/// is in the cache and whose text is valid goes straight to the storage writer, which
/// publishes and answers it after the commit; no tokio task, no two thread hand-offs. Anything
/// else (other requests, unknown tokens, invalid text, garbage) is handed back for the normal
/// path, which produces the same replies and errors as always. `pending` counts the sends
/// taken and not yet answered, for a graceful stop.
pub fn fast_path(
    ctx: &Arc<Ctx>,
    pending: &Arc<AtomicUsize>,
    incoming: Incoming,
) -> Option<Incoming> {
    // Bounded: past this many unanswered fast sends, requests take the normal path, whose
    // bounded queue pushes back on the broker instead of growing memory here.
    if pending.load(Ordering::SeqCst) >= MAX_PENDING_FAST {
        return Some(incoming);
    }
    let Ok(env) = codec::decode_request(&incoming.body) else {
        return Some(incoming);
    };
    let (
        id,
        Some(token),
        Request::Send {
            target,
            text,
            nonce,
        },
    ) = (env.id, env.token, env.body)
    else {
        return Some(incoming);
    };
    let now = zchat_protocol::now_millis();
    let Some(session) = ctx.sessions.get(&auth::token_hash(&token), now) else {
        return Some(incoming);
    };
    if validate::text(&text).is_err() {
        return Some(incoming);
    }
    pending.fetch_add(1, Ordering::SeqCst);
    let (out, pending, envelope) = (ctx.out.clone(), pending.clone(), incoming.envelope);
    ctx.store
        .submit_post_with(&session.user, &target, &text, nonce, now, move |result| {
            let reply = match result {
                Ok(stored) => {
                    if stored.fresh {
                        publish_message(&out, &stored.message, &stored.inboxes);
                    }
                    Reply::Sent {
                        message: stored.message,
                    }
                }
                Err(e) => {
                    let e = ApiError::from(e);
                    Reply::Error {
                        code: e.code,
                        message: e.message,
                    }
                }
            };
            let body = codec::encode(&ResponseEnvelope::new(id, reply)).unwrap_or_default();
            out.send(Outbound::Reply { envelope, body });
            pending.fetch_sub(1, Ordering::SeqCst);
        });
    None
}
