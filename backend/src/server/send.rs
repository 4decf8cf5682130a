//! `send`: store a channel or direct message, acknowledge it, publish it.

use zchat_protocol::{validate, Reply, Target};

use super::context::publish_message;
use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// The message is committed before the reply is sent (so an acknowledged message survives
/// a crash), and published while the store's write lock is held, so publications of one
/// conversation leave in `seq` order.
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
    let sender = session.user;
    let stored = ctx
        .db(move |s| {
            let publish = |stored: &crate::store::Stored| {
                if stored.fresh {
                    publish_message(&out, &stored.message, &stored.inboxes);
                }
            };
            match &target {
                Target::Channel(name) => s.post_channel(&sender, name, &text, nonce, now, publish),
                Target::User(peer) => s.send_dm(&sender, peer, &text, nonce, now, publish),
            }
        })
        .await?;
    Ok(Reply::Sent {
        message: stored.message,
    })
}
