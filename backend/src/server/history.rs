//! `history`: a page of a channel or of the caller's DM conversation.

use zchat_protocol::{Reply, Target, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT};

use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Channels are public to every signed-in user; a DM conversation is only ever the one
/// between the caller and the named peer, so nobody can read another pair's messages.
/// `after` and `before` together select the range `after < seq < before`. The reply names
/// the conversation canonically (the peer as registered, whatever case the caller used).
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
    let page = ctx
        .db(move |s| s.history(&user, &target, after, before, limit))
        .await?;
    Ok(Reply::History {
        target: page.target,
        messages: page.messages,
        has_more: page.has_more,
    })
}
