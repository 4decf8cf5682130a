//! Requests: what a client sends through the broker.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Target, PROTOCOL_VERSION};

/// For optional fields whose Rust type is not an `Option`: `nil` reads like an absent key
/// (the type's default). PROTOCOL.md §2: a `T?` may be the value, `nil`, or absent.
fn nil_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The frame a client sends: version, correlation id, optional session token and the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// Protocol version, [`PROTOCOL_VERSION`].
    pub v: u16,
    /// Chosen by the client; echoed in the response so replies can be matched to requests
    /// when several are in flight. Never 0: the server answers requests whose id it cannot
    /// read with id 0.
    pub id: u64,
    /// Session token from `login`, for requests that need one.
    #[serde(default)]
    pub token: Option<String>,
    /// The request itself.
    pub body: Request,
}

impl RequestEnvelope {
    /// Wraps a request with the current protocol version.
    pub fn new(id: u64, token: Option<String>, body: Request) -> Self {
        RequestEnvelope {
            v: PROTOCOL_VERSION,
            id,
            token,
            body,
        }
    }
}

/// Every request the server understands, tagged by `op` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Liveness and round-trip time. No token needed.
    Ping,
    /// Create an account. No token needed.
    Register {
        /// Desired user name.
        user: String,
        /// Plain password (hashed by the server with a salted slow KDF, never stored).
        password: String,
    },
    /// Start a session. No token needed. Replies `session`.
    Login {
        /// User name (any case).
        user: String,
        /// Password.
        password: String,
    },
    /// Revoke the session whose token is on the envelope.
    Logout,
    /// Who the token belongs to, the joined channels (with unread counts) and the inbox topic.
    Whoami,
    /// All registered users.
    ListUsers,
    /// All channels, with description, member count and the caller's unread count.
    ListChannels,
    /// Create a channel; the creator joins it.
    CreateChannel {
        /// Name, with or without `#`.
        channel: String,
        /// Free text shown in listings; absent or `nil` means empty.
        #[serde(default, deserialize_with = "nil_as_default")]
        description: String,
    },
    /// Join a channel (idempotent).
    JoinChannel {
        /// Name, with or without `#`.
        channel: String,
    },
    /// Leave a channel (idempotent).
    LeaveChannel {
        /// Name, with or without `#`.
        channel: String,
    },
    /// Send a message to a channel you have joined, or directly to a user.
    Send {
        /// `#channel` or `@user`.
        target: Target,
        /// The text.
        text: String,
        /// Optional client-chosen idempotency key: a retried `send` with the same nonce
        /// from the same user returns the original message instead of storing a copy.
        #[serde(default)]
        nonce: Option<u64>,
    },
    /// A page of stored messages, oldest first.
    History {
        /// `#channel` or `@user` (your conversation with that user).
        target: Target,
        /// Only messages with `seq > after` (the first `limit` of them). For catching up.
        #[serde(default)]
        after: Option<u64>,
        /// Only messages with `seq < before` (the last `limit` of them). For scrolling back.
        #[serde(default)]
        before: Option<u64>,
        /// Page size; default 50, at most 500.
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Your direct-message conversations with last message and unread count.
    ListDms,
    /// Move your read marker in a conversation (it never moves backwards).
    MarkRead {
        /// `#channel` or `@user`.
        target: Target,
        /// The newest sequence number you have read.
        seq: u64,
    },
}

impl Request {
    /// The wire name of this request's `op`, for logs.
    pub fn op(&self) -> &'static str {
        match self {
            Request::Ping => "ping",
            Request::Register { .. } => "register",
            Request::Login { .. } => "login",
            Request::Logout => "logout",
            Request::Whoami => "whoami",
            Request::ListUsers => "list_users",
            Request::ListChannels => "list_channels",
            Request::CreateChannel { .. } => "create_channel",
            Request::JoinChannel { .. } => "join_channel",
            Request::LeaveChannel { .. } => "leave_channel",
            Request::Send { .. } => "send",
            Request::History { .. } => "history",
            Request::ListDms => "list_dms",
            Request::MarkRead { .. } => "mark_read",
        }
    }

    /// Every `op` name, so a decoder can tell "unknown op" from "known op, bad fields".
    pub const OPS: &'static [&'static str] = &[
        "ping",
        "register",
        "login",
        "logout",
        "whoami",
        "list_users",
        "list_channels",
        "create_channel",
        "join_channel",
        "leave_channel",
        "send",
        "history",
        "list_dms",
        "mark_read",
    ];
}
