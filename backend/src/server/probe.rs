//! `probe`: publish a `probe` event on the caller's own inbox, so that the client can tell
//! when its subscriptions are live (PROTOCOL.md §5.2).

use zchat_protocol::{topic, Event, Reply};

use super::context::publish;
use super::{ApiResult, Ctx};
use crate::store::SessionRow;

/// Publishes `Event::Probe { value }` on the session's inbox topic (and nowhere else: other
/// sessions of the same user never see it), then replies `probed`. The publication is queued
/// to the socket thread before the reply, and the proxy applies one subscriber's
/// subscriptions in the order they were sent, so the event reaching a SUB socket proves that
/// socket's inbox subscription, and every subscription it sent before, live.
pub fn handle(ctx: &Ctx, session: SessionRow, value: u64) -> ApiResult {
    publish(
        &ctx.out,
        topic::inbox(&session.inbox),
        Event::Probe { value },
    );
    Ok(Reply::Probed { value })
}
