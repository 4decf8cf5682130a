//! `send`: store a channel or direct message, acknowledge it, publish it.

use zchat_protocol::{validate, Reply, Target};

use super::context::publish_message;
use super::{ApiError, ApiResult, Ctx};
use crate::store::SessionRow;

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
