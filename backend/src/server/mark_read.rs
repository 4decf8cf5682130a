//! `mark_read`: move the caller's read marker; other sessions of the caller hear about it.

use zchat_protocol::{topic, Event, Reply, Target};

use super::context::publish;
use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Stores the marker (forward only) and publishes a `read_marker` event to every live
/// inbox of the caller, so all their open clients update their unread counts.
pub async fn handle(ctx: &Ctx, session: SessionRow, target: Target, seq: u64) -> ApiResult {
    let now = zchat_protocol::now_millis();
    let user = session.user;
    let t = target.clone();
    let (marker, inboxes) = ctx.db(move |s| s.mark_read(&user, &t, seq, now)).await?;
    for inbox in &inboxes {
        publish(
            &ctx.out,
            topic::inbox(inbox),
            Event::ReadMarker {
                target: target.clone(),
                seq: marker,
            },
        );
    }
    Ok(Reply::Marked {
        target,
        seq: marker,
    })
}
