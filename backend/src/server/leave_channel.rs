//! `leave_channel`: stop being a member (idempotent).

use zchat_protocol::{validate, Reply};

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Leaves the channel.
pub async fn handle(ctx: &Ctx, session: SessionRow, channel: String) -> ApiResult {
    let name = validate::channel_name(channel.strip_prefix('#').unwrap_or(&channel))?;
    let user_id = session.user.id;
    let channel = ctx.db(move |s| s.leave_channel(user_id, &name)).await?;
    Ok(Reply::Channel { channel })
}
