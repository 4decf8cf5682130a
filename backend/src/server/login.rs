//! `login`: check the password and open a session.

use zchat_protocol::{topic, validate, ErrorCode, Reply};

use super::{ApiError, ApiResult, Ctx};
use crate::auth;

/// Throttles repeated failures, verifies off the request path (against a decoy hash when
/// the user does not exist, so timing does not reveal which names exist), then stores a new
/// session and returns its token and private inbox topic.
pub async fn handle(ctx: &Ctx, user: String, password: String) -> ApiResult {
    let wrong = || ApiError::new(ErrorCode::WrongCredentials, "wrong user name or password");
    // A name no account can have (too long, or breaking the naming rules: a NUL byte, say)
    // is answered at once, uncounted, the same on both storage engines.
    if user.len() > 64 || password.len() > 1024 || validate::user_name(&user).is_err() {
        return Err(wrong());
    }
    let Some(_attempt) = ctx.throttle.admit(&user) else {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many login attempts for this user are in progress; try again shortly",
        ));
    };
    let (name, now) = (user.clone(), zchat_protocol::now_millis());
    let window = auth::WINDOW.as_millis() as i64;
    let earlier = ctx
        .db(move |s| s.count_login_attempt(&name, now, window))
        .await?;
    let delay = auth::delay_for(earlier);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let lookup = user.clone();
    let found = ctx.db(move |s| s.user_credentials(&lookup)).await?;
    let (row, phc) = match found {
        Some((row, phc)) => (Some(row), Some(phc)),
        None => (None, None),
    };
    let ok = ctx
        .hasher
        .verify(password, phc)
        .await
        .map_err(ApiError::internal)?;
    let (true, Some(row)) = (ok, row) else {
        tracing::info!(user = %user, "failed login");
        return Err(wrong());
    };
    let name = user.clone();
    ctx.db(move |s| s.clear_login_failures(&name)).await?;
    let token = auth::new_token();
    let inbox = auth::new_inbox_id();
    let now = zchat_protocol::now_millis();
    let expires_at = now + ctx.session_ttl.as_millis() as i64;
    let (hash, inbox2, user_id) = (auth::token_hash(&token), inbox.clone(), row.id);
    ctx.db(move |s| s.create_session(user_id, &hash, &inbox2, now, expires_at))
        .await?;
    tracing::info!(user = %row.name, "logged in");
    Ok(Reply::Session {
        user: row.name,
        token,
        inbox: topic::inbox(&inbox),
        expires_at,
    })
}
