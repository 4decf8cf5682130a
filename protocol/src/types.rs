//! Records that appear inside replies and events.

use serde::{Deserialize, Serialize};

use crate::Target;

/// One stored chat message, in a channel or a direct conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Where it was sent: `#channel`, or `@recipient` for a direct message.
    pub target: Target,
    /// Position in its conversation: 1, 2, 3… with no gaps. Per channel, and per pair of
    /// users for direct messages. Clients use it to detect gaps and drop duplicates.
    pub seq: u64,
    /// Server time of acceptance, milliseconds since the Unix epoch.
    pub ts: i64,
    /// The author's user name.
    pub from: String,
    /// The text (UTF-8, validated by [`crate::validate::text`]).
    pub text: String,
}

impl Message {
    /// The conversation this message belongs to, seen by user `me`: the channel, or for a
    /// direct message the *other* user (so both sides file it under each other's name).
    pub fn conversation_for(&self, me: &str) -> Target {
        match &self.target {
            Target::Channel(_) => self.target.clone(),
            Target::User(to) => {
                if self.from.eq_ignore_ascii_case(me) {
                    Target::User(to.clone())
                } else {
                    Target::User(self.from.clone())
                }
            }
        }
    }
}

/// A channel as listed to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Lower-case name without `#`.
    pub name: String,
    /// Free text set at creation.
    pub description: String,
    /// Number of members.
    pub members: u64,
    /// Sequence number of the newest message (0 when empty).
    pub last_seq: u64,
    /// Whether the asking user is a member.
    pub joined: bool,
    /// The asking user's read marker (0 when not a member or nothing read).
    pub read_seq: u64,
    /// Messages by others after the read marker (0 when not a member).
    pub unread: u64,
}

/// A user as listed to other users. Deliberately carries nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user name, with the case it was registered with.
    pub name: String,
    /// Registration time, ms since the epoch.
    pub created_at: i64,
}

/// One direct-message conversation in the asking user's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmSummary {
    /// The other user.
    pub peer: String,
    /// The newest message, if any.
    pub last: Option<Message>,
    /// Sequence number of the newest message.
    pub last_seq: u64,
    /// The asking user's read marker in this conversation.
    pub read_seq: u64,
    /// Messages from the peer after the read marker.
    pub unread: u64,
}
