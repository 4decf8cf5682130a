//! `list_channels`: every channel with description, members and the caller's unread count.

use zchat_protocol::Reply;

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Lists channels as the caller sees them.
pub async fn handle(ctx: &Ctx, session: SessionRow) -> ApiResult {
    let user_id = session.user.id;
    let channels = ctx.db(move |s| s.list_channels(user_id)).await?;
    Ok(Reply::Channels { channels })
}
