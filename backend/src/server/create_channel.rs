//! `create_channel`: a new channel; the creator joins it.

use zchat_protocol::{validate, Reply};

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Validates name and description, then creates.
pub async fn handle(
    ctx: &Ctx,
    session: SessionRow,
    channel: String,
    description: String,
) -> ApiResult {
    let name = validate::channel_name(channel.strip_prefix('#').unwrap_or(&channel))?;
    validate::description(&description)?;
    let now = zchat_protocol::now_millis();
    let user_id = session.user.id;
    let channel = ctx
        .db(move |s| s.create_channel(user_id, &name, &description, now))
        .await?;
    tracing::info!(channel = %channel.name, by = %session.user.name, "channel created");
    Ok(Reply::Channel { channel })
}
