//! `logout`: revoke the session.

use zchat_protocol::{ErrorCode, Reply};

use super::{ApiError, ApiResult, Ctx};
use crate::auth;

/// Deletes the session; its token and inbox stop working at once.
pub async fn handle(ctx: &Ctx, token: Option<String>) -> ApiResult {
    let token = token.ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "no session token"))?;
    let hash = auth::token_hash(&token);
    ctx.sessions.remove(&hash);
    if ctx.db(move |s| s.delete_session(&hash)).await? {
        Ok(Reply::Done)
    } else {
        Err(ApiError::new(
            ErrorCode::Unauthorized,
            "session token is unknown, expired or already revoked",
        ))
    }
}
