//! `register`: create an account.

use zchat_protocol::{validate, Reply};

use super::{ApiResult, Ctx};

/// Validates name and password, hashes the password off the request path, stores the user.
pub async fn handle(ctx: &Ctx, user: String, password: String) -> ApiResult {
    validate::user_name(&user)?;
    validate::password(&password)?;
    let phc = ctx
        .hasher
        .hash(password)
        .await
        .map_err(super::ApiError::internal)?;
    let now = zchat_protocol::now_millis();
    let row = ctx.db(move |s| s.create_user(&user, &phc, now)).await?;
    tracing::info!(user = %row.name, "registered");
    Ok(Reply::Registered { user: row.name })
}
