//! The typed calls: one method per request, each returning what the caller wants (a
//! [`Session`], a [`Message`], a [`Page`], …) or a [`ClientError`] that carries the
//! protocol's error code. This is the only place a [`Reply`] is matched; a reply of the wrong
//! kind becomes [`ClientError::UnexpectedReply`], never a silent success.

use std::time::Duration;

use zchat_protocol::{ChannelInfo, DmSummary, Message, Reply, Request, Target, UserInfo};

use crate::{Client, ClientError};

/// A signed-in session, as `login` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user name as registered (canonical spelling).
    pub user: String,
    /// The session token (secret).
    pub token: String,
    /// The session's private inbox id (secret): DMs are published on its topic.
    pub inbox: String,
    /// Expiry, milliseconds since the epoch.
    pub expires_at: i64,
}

/// Who the session belongs to and the channels they joined, as `whoami` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    /// The user name as registered.
    pub user: String,
    /// The session's inbox id.
    pub inbox: String,
    /// Expiry, milliseconds since the epoch.
    pub expires_at: i64,
    /// Joined channels, with unread counts.
    pub channels: Vec<ChannelInfo>,
}

/// A page of a conversation, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The conversation (canonical spelling).
    pub target: Target,
    /// The messages, in `seq` order.
    pub messages: Vec<Message>,
    /// Whether more messages exist beyond this page in the direction asked for.
    pub has_more: bool,
}

/// Which part of a conversation `history` returns: messages after `after`, before `before`,
/// or (with neither) the newest; at most `limit` (the server's default when `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only messages with `seq > after`.
    pub after: Option<u64>,
    /// Only messages with `seq < before`.
    pub before: Option<u64>,
    /// Most messages returned.
    pub limit: Option<u32>,
}

impl HistoryQuery {
    /// The newest `limit` messages.
    pub fn latest(limit: u32) -> Self {
        HistoryQuery {
            limit: Some(limit),
            ..Self::default()
        }
    }

    /// Up to `limit` messages after `seq`, oldest first.
    pub fn after(seq: u64, limit: u32) -> Self {
        HistoryQuery {
            after: Some(seq),
            limit: Some(limit),
            ..Self::default()
        }
    }

    /// Up to `limit` messages before `seq` (the ones just before it).
    pub fn before(seq: u64, limit: u32) -> Self {
        HistoryQuery {
            before: Some(seq),
            limit: Some(limit),
            ..Self::default()
        }
    }
}

/// The error for a reply of the wrong kind.
fn unexpected(request: &'static str, reply: &Reply) -> ClientError {
    ClientError::UnexpectedReply {
        request,
        reply: reply.kind().to_string(),
    }
}

impl Client {
    /// Round trip through broker and server; returns the server's clock (ms since epoch).
    pub async fn ping(&self) -> Result<i64, ClientError> {
        match self.call(Request::Ping).await? {
            Reply::Pong { server_time } => Ok(server_time),
            other => Err(unexpected("ping", &other)),
        }
    }

    /// One ping with its own `deadline`, neither retried nor reopening the request socket:
    /// the heartbeat's probe ([`crate::feed`]), which must fail fast and must not disturb
    /// other requests' Lazy Pirate retries. Returns the server's clock.
    pub async fn ping_within(&self, deadline: Duration) -> Result<i64, ClientError> {
        match self.call_once(Request::Ping, deadline).await? {
            Reply::Pong { server_time } => Ok(server_time),
            other => Err(unexpected("ping", &other)),
        }
    }

    /// Creates an account; returns the name as registered.
    pub async fn register(&self, user: &str, password: &str) -> Result<String, ClientError> {
        let request = Request::Register {
            user: user.to_string(),
            password: password.to_string(),
        };
        match self.call(request).await? {
            Reply::Registered { user } => Ok(user),
            other => Err(unexpected("register", &other)),
        }
    }

    /// Signs in: the one way to get a session. The client sends the new token with every
    /// later request.
    pub async fn login(&self, user: &str, password: &str) -> Result<Session, ClientError> {
        let request = Request::Login {
            user: user.to_string(),
            password: password.to_string(),
        };
        match self.call(request).await? {
            Reply::Session {
                user,
                token,
                inbox,
                expires_at,
            } => {
                self.set_token(Some(token.clone()));
                Ok(Session {
                    user,
                    token,
                    inbox,
                    expires_at,
                })
            }
            other => Err(unexpected("login", &other)),
        }
    }

    /// Revokes the session on the server and forgets the token here.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let outcome = self.call(Request::Logout).await;
        self.set_token(None);
        match outcome? {
            Reply::Done => Ok(()),
            other => Err(unexpected("logout", &other)),
        }
    }

    /// The session's user and joined channels (with unread counts).
    pub async fn whoami(&self) -> Result<Me, ClientError> {
        match self.call(Request::Whoami).await? {
            Reply::Me {
                user,
                inbox,
                expires_at,
                channels,
            } => Ok(Me {
                user,
                inbox,
                expires_at,
                channels,
            }),
            other => Err(unexpected("whoami", &other)),
        }
    }

    /// Every registered user.
    pub async fn users(&self) -> Result<Vec<UserInfo>, ClientError> {
        match self.call(Request::ListUsers).await? {
            Reply::Users { users } => Ok(users),
            other => Err(unexpected("list_users", &other)),
        }
    }

    /// Every channel, joined or not.
    pub async fn channels(&self) -> Result<Vec<ChannelInfo>, ClientError> {
        match self.call(Request::ListChannels).await? {
            Reply::Channels { channels } => Ok(channels),
            other => Err(unexpected("list_channels", &other)),
        }
    }

    /// Creates a channel (the caller joins it).
    pub async fn create_channel(
        &self,
        channel: &str,
        description: &str,
    ) -> Result<ChannelInfo, ClientError> {
        let request = Request::CreateChannel {
            channel: channel.to_string(),
            description: description.to_string(),
        };
        self.channel_reply("create_channel", request).await
    }

    /// Joins a channel.
    pub async fn join(&self, channel: &str) -> Result<ChannelInfo, ClientError> {
        let request = Request::JoinChannel {
            channel: channel.to_string(),
        };
        self.channel_reply("join_channel", request).await
    }

    /// Leaves a channel.
    pub async fn leave(&self, channel: &str) -> Result<ChannelInfo, ClientError> {
        let request = Request::LeaveChannel {
            channel: channel.to_string(),
        };
        self.channel_reply("leave_channel", request).await
    }

    async fn channel_reply(
        &self,
        op: &'static str,
        request: Request,
    ) -> Result<ChannelInfo, ClientError> {
        match self.call(request).await? {
            Reply::Channel { channel } => Ok(channel),
            other => Err(unexpected(op, &other)),
        }
    }

    /// Posts to a channel or sends a direct message; returns it as stored (with its `seq`).
    /// With a `nonce`, retries (here or by the caller) can never store it twice.
    pub async fn send(
        &self,
        target: &Target,
        text: &str,
        nonce: Option<u64>,
    ) -> Result<Message, ClientError> {
        let request = Request::Send {
            target: target.clone(),
            text: text.to_string(),
            nonce,
        };
        match self.call(request).await? {
            Reply::Sent { message } => Ok(message),
            other => Err(unexpected("send", &other)),
        }
    }

    /// A page of a channel or of a DM conversation.
    pub async fn history(&self, target: &Target, query: HistoryQuery) -> Result<Page, ClientError> {
        let request = Request::History {
            target: target.clone(),
            after: query.after,
            before: query.before,
            limit: query.limit,
        };
        match self.call(request).await? {
            Reply::History {
                target,
                messages,
                has_more,
            } => Ok(Page {
                target,
                messages,
                has_more,
            }),
            other => Err(unexpected("history", &other)),
        }
    }

    /// The caller's DM conversations, with unread counts.
    pub async fn dms(&self) -> Result<Vec<DmSummary>, ClientError> {
        match self.call(Request::ListDms).await? {
            Reply::Dms { conversations } => Ok(conversations),
            other => Err(unexpected("list_dms", &other)),
        }
    }

    /// Moves the caller's read marker of a conversation forward to `seq`; returns the marker
    /// as it now stands.
    pub async fn mark_read(&self, target: &Target, seq: u64) -> Result<u64, ClientError> {
        let request = Request::MarkRead {
            target: target.clone(),
            seq,
        };
        match self.call(request).await? {
            Reply::Marked { seq, .. } => Ok(seq),
            other => Err(unexpected("mark_read", &other)),
        }
    }
}
