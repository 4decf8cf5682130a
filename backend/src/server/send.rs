//! `send`: store a channel or direct message, acknowledge it, publish it.

use zchat_protocol::{validate, Reply, Target};

use super::context::publish_message;
use super::{ApiError, Ctx, Responder};
use crate::store::{NewPost, SessionRow};

/// Validates the text and hands the message, with its responder, to the store's
/// group-commit writer. The writer answers after the commit (so an acknowledged message
/// survives a crash) and publishes in commit order (so publications of one conversation
/// leave in `seq` order). Never waits: this runs inline on the server loop when the
/// session is cached.
pub fn handle(
    ctx: &Ctx,
    session: SessionRow,
    target: Target,
    text: String,
    nonce: Option<u64>,
    responder: Responder,
) {
    if let Err(e) = validate::text(&text) {
        responder.answer(Err(e.into()));
        return;
    }
    let post = NewPost {
        sender: session.user,
        target,
        text,
        nonce,
        now: zchat_protocol::now_millis(),
    };
    let out = ctx.out.clone();
    ctx.store.submit_post(post, move |result| {
        let outcome = result.map_err(ApiError::from).map(|stored| {
            // A retry with a known nonce returns the original and publishes it again: the
            // first publication may have been lost with a server killed between its commit
            // and its publication (or with a commit whose answer never came). Subscribers
            // drop the copy by `seq`.
            publish_message(&out, &stored.message, &stored.inboxes);
            Reply::Sent {
                message: stored.message,
            }
        });
        responder.answer(outcome);
    });
}
