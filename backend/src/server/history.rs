//! `history`: a page of a channel or of the caller's DM conversation.

use zchat_protocol::{Reply, Target, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT};

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Channels are public to every signed-in user; a DM conversation is only ever the one
/// between the caller and the named peer, so nobody can read another pair's messages.
pub async fn handle(
    ctx: &Ctx,
    session: SessionRow,
    target: Target,
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<u32>,
) -> ApiResult {
    let limit = limit
        .unwrap_or(DEFAULT_HISTORY_LIMIT)
        .clamp(1, MAX_HISTORY_LIMIT);
    let user = session.user;
    let t = target.clone();
    let (messages, has_more) = ctx
        .db(move |s| s.history(&user, &t, after, before, limit))
        .await?;
    Ok(Reply::History {
        target,
        messages,
        has_more,
    })
}
