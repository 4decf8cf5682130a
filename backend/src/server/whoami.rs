//! `whoami`: the session's user, inbox and joined channels.

use zchat_protocol::{topic, Reply};

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Also the client's start-up snapshot: joined channels carry `last_seq`, `read_seq` and
/// `unread`, from which a client starts its gap-free feeds.
pub async fn handle(ctx: &Ctx, session: SessionRow) -> ApiResult {
    let user_id = session.user.id;
    let channels = ctx.db(move |s| s.joined_channels(user_id)).await?;
    Ok(Reply::Me {
        user: session.user.name,
        inbox: topic::inbox(&session.inbox),
        expires_at: session.expires_at,
        channels,
    })
}
