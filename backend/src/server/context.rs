//! What every request handler gets: storage, the outbound link, auth helpers, and the error
//! type that becomes `Reply::Error`.

use std::sync::Arc;
use std::time::Duration;

use zchat_protocol::{codec, topic, ErrorCode, Event, EventEnvelope, Message, Reply};

use crate::auth::{self, Hasher, LoginThrottle};
use crate::store::{SessionRow, Store, StoreError};
use crate::zmq_bridge::{Outbound, OutboundSender};

/// A failed request: becomes `Reply::Error { code, message }`; the request changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Stable code.
    pub code: ErrorCode,
    /// Readable text.
    pub message: String,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// An internal failure: logged in full, reported vaguely.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {what}");
        ApiError::new(
            ErrorCode::Internal,
            "internal server error; nothing was changed",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::new(ErrorCode::NotFound, m),
            StoreError::AlreadyExists(m) => ApiError::new(ErrorCode::AlreadyExists, m),
            StoreError::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            e @ StoreError::NonceReused(_) => ApiError::new(ErrorCode::BadRequest, e.to_string()),
            StoreError::Unavailable(why) => {
                tracing::warn!("database unavailable: {why}");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the server cannot reach its database right now; try again shortly",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<zchat_protocol::validate::ValidationError> for ApiError {
    fn from(e: zchat_protocol::validate::ValidationError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

/// The outcome of a handler.
pub type ApiResult = Result<Reply, ApiError>;

/// Shared server state, one per server process.
pub struct Ctx {
    /// Storage.
    pub store: Arc<Store>,
    /// Replies and publications.
    pub out: OutboundSender,
    /// Password hashing pool.
    pub hasher: Hasher,
    /// Failed-login slow-down.
    pub throttle: LoginThrottle,
    /// How long a session lives.
    pub session_ttl: Duration,
    /// Recently validated sessions (shared with the store's revocation listener).
    pub sessions: Arc<super::session_cache::SessionCache>,
}

impl Ctx {
    /// Runs a storage call on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(r) => r.map_err(ApiError::from),
            Err(e) => Err(ApiError::internal(format!("storage task failed: {e}"))),
        }
    }

    /// The session behind a token if it is in the cache (no waiting).
    pub fn cached_session(&self, token: &str) -> Option<SessionRow> {
        self.sessions
            .get(&auth::token_hash(token), zchat_protocol::now_millis())
    }

    /// The session behind a token, or `unauthorized`.
    pub async fn authenticate(&self, token: Option<String>) -> Result<SessionRow, ApiError> {
        let token = token.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "this request needs a session token; log in first",
            )
        })?;
        let hash = auth::token_hash(&token);
        let now = zchat_protocol::now_millis();
        if let Some(session) = self.sessions.get(&hash, now) {
            return Ok(session);
        }
        let key = hash.clone();
        let epoch = self.sessions.epoch();
        let session = self
            .db(move |s| s.session(&key, now))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "session token is unknown, expired or revoked; log in again",
                )
            })?;
        self.sessions.put(hash, session.clone(), epoch);
        Ok(session)
    }
}

/// Publishes an event on a topic.
pub fn publish(out: &OutboundSender, topic: String, event: Event) {
    match codec::encode(&EventEnvelope::new(event)) {
        Ok(payload) => out.send(Outbound::Publish { topic, payload }),
        Err(e) => tracing::error!("cannot encode event: {e}"),
    }
}

/// Publishes a stored message where its readers listen: the channel topic, or the inboxes
/// of both DM participants' live sessions.
pub fn publish_message(out: &OutboundSender, message: &Message, inboxes: &[String]) {
    let event = Event::Message {
        message: message.clone(),
    };
    match &message.target {
        zchat_protocol::Target::Channel(name) => publish(out, topic::channel(name), event),
        zchat_protocol::Target::User(_) => {
            for inbox in inboxes {
                publish(out, topic::inbox(inbox), event.clone());
            }
        }
    }
}
