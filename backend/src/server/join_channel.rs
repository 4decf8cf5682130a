//! `join_channel`: become a member (idempotent).

use zchat_protocol::{validate, Reply};

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Joins; a new member's read marker starts at the newest message.
pub async fn handle(ctx: &Ctx, session: SessionRow, channel: String) -> ApiResult {
    let name = validate::channel_name(channel.strip_prefix('#').unwrap_or(&channel))?;
    let now = zchat_protocol::now_millis();
    let user_id = session.user.id;
    let channel = ctx.db(move |s| s.join_channel(user_id, &name, now)).await?;
    Ok(Reply::Channel { channel })
}
