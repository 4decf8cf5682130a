//! Replies: what the server answers, one per request.

use serde::{Deserialize, Serialize};

use crate::{ChannelInfo, DmSummary, ErrorCode, Message, Target, UserInfo, PROTOCOL_VERSION};

/// The frame the server sends back: version, the request's `id`, and the reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    /// Protocol version.
    pub v: u16,
    /// The `id` of the request this answers (0 only if the request was too broken to read
    /// one; clients must therefore never use id 0 themselves).
    pub id: u64,
    /// The reply.
    pub body: Reply,
}

impl ResponseEnvelope {
    /// Wraps a reply with the current protocol version.
    pub fn new(id: u64, body: Reply) -> Self {
        ResponseEnvelope {
            v: PROTOCOL_VERSION,
            id,
            body,
        }
    }
}

/// Every reply, tagged by `kind` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// Answer to `ping`.
    Pong {
        /// Server clock, ms since the epoch.
        server_time: i64,
    },
    /// Answer to `register`.
    Registered {
        /// The user name as stored.
        user: String,
    },
    /// Answer to `login`: a new session.
    Session {
        /// The user name as registered (canonical case).
        user: String,
        /// Bearer token for later requests. Secret: 256 random bits, hex.
        token: String,
        /// This session's private inbox topic on the proxy (subscribe to it for DMs and
        /// read-marker updates). Secret: do not share.
        inbox: String,
        /// When the session expires, ms since the epoch.
        expires_at: i64,
    },
    /// Answer to `whoami`.
    Me {
        /// The user name.
        user: String,
        /// This session's inbox topic.
        inbox: String,
        /// When this session expires.
        expires_at: i64,
        /// Joined channels.
        channels: Vec<ChannelInfo>,
    },
    /// Generic success with nothing to report (`logout`).
    Done,
    /// Answer to `list_users`.
    Users {
        /// All users, sorted by name.
        users: Vec<UserInfo>,
    },
    /// Answer to `list_channels`.
    Channels {
        /// All channels, sorted by name.
        channels: Vec<ChannelInfo>,
    },
    /// Answer to `create_channel`, `join_channel`, `leave_channel`: the channel afterwards.
    Channel {
        /// The channel as the caller now sees it.
        channel: ChannelInfo,
    },
    /// Answer to `send`: the message as stored (with its `seq` and `ts`).
    Sent {
        /// The stored message.
        message: Message,
    },
    /// Answer to `history`.
    History {
        /// The conversation.
        target: Target,
        /// Messages, oldest first.
        messages: Vec<Message>,
        /// Whether more messages exist beyond this page in the direction asked.
        has_more: bool,
    },
    /// Answer to `list_dms`.
    Dms {
        /// Conversations, most recent first.
        conversations: Vec<DmSummary>,
    },
    /// Answer to `mark_read`: the marker after the update.
    Marked {
        /// The conversation.
        target: Target,
        /// The read marker now stored.
        seq: u64,
    },
    /// The request failed and changed nothing.
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

impl Reply {
    /// The reply's `kind` tag as it appears on the wire, for logs and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Pong { .. } => "pong",
            Reply::Registered { .. } => "registered",
            Reply::Session { .. } => "session",
            Reply::Me { .. } => "me",
            Reply::Done => "done",
            Reply::Users { .. } => "users",
            Reply::Channels { .. } => "channels",
            Reply::Channel { .. } => "channel",
            Reply::Sent { .. } => "sent",
            Reply::History { .. } => "history",
            Reply::Dms { .. } => "dms",
            Reply::Marked { .. } => "marked",
            Reply::Error { .. } => "error",
        }
    }

    /// Shorthand for an error reply.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Reply {
        Reply::Error {
            code,
            message: message.into(),
        }
    }
}
