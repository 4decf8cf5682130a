//! `list_dms`: the caller's DM conversations with last message and unread count.

use zchat_protocol::Reply;

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Lists the caller's conversations, most recent first.
pub async fn handle(ctx: &Ctx, session: SessionRow) -> ApiResult {
    let user_id = session.user.id;
    let conversations = ctx.db(move |s| s.list_dms(user_id)).await?;
    Ok(Reply::Dms { conversations })
}
