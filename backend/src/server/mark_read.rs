//! `mark_read`: move the caller's read marker; other sessions of the caller hear about it.

use zchat_protocol::{topic, Event, Reply, Target};

use super::context::publish;
use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Stores the marker (forward only) and, if it moved, publishes a `read_marker` event to
/// every live inbox of the caller, so all their open clients update their unread counts. A
/// marker that did not move publishes nothing. Reply and event name the conversation
/// canonically (the peer as registered).
pub async fn handle(ctx: &Ctx, session: SessionRow, target: Target, seq: u64) -> ApiResult {
    let now = zchat_protocol::now_millis();
    let user = session.user;
    let update = ctx
        .db(move |s| s.mark_read(&user, &target, seq, now))
        .await?;
    if update.moved {
        for inbox in &update.inboxes {
            publish(
                &ctx.out,
                topic::inbox(inbox),
                Event::ReadMarker {
                    target: update.target.clone(),
                    seq: update.seq,
                },
            );
        }
    }
    Ok(Reply::Marked {
        target: update.target,
        seq: update.seq,
    })
}
