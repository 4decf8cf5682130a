//! `list_users`: everyone registered (names and dates only).

use zchat_protocol::Reply;

use super::{ApiResult, Ctx};

/// Lists users; the store's query selects no secret columns.
pub async fn handle(ctx: &Ctx) -> ApiResult {
    let users = ctx.db(super::super::store::Store::list_users).await?;
    Ok(Reply::Users { users })
}
