//! One conversation (a channel or a direct-message peer) as the client holds it.

use zchat_protocol::{Message, Target};

use crate::layout::feed::FeedText;

/// A message typed here that the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Idempotency key sent with every attempt, so a retry never stores a copy.
    pub nonce: u64,
    /// The text.
    pub text: String,
    /// Whether the last attempt failed (shown as "unsent"; retried on reconnect).
    pub failed: bool,
}

/// A channel or a DM, with what has been loaded of it and the reader's position.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// `#channel` or `@peer`.
    pub target: Target,
    /// Channel description (empty for DMs).
    pub description: String,
    /// Loaded messages, ordered by `seq`, without duplicates.
    pub messages: Vec<Message>,
    /// Messages typed here and not yet acknowledged, oldest first.
    pub pending: Vec<Pending>,
    /// Newest sequence number known to exist (may be ahead of what is loaded).
    pub last_seq: u64,
    /// The read marker (persisted on the server).
    pub read_seq: u64,
    /// Messages by others after the read marker.
    pub unread: u64,
    /// Whether an unread message mentions me.
    pub mentioned: bool,
    /// Whether older messages exist on the server before the first loaded one.
    pub has_more_before: bool,
    /// Whether a page of older messages is being fetched.
    pub loading_older: bool,
    /// Whether the latest page has been fetched at least once.
    pub loaded: bool,
    /// Where the "new messages" line is drawn: the read marker when the conversation was
    /// opened (`None`: no line).
    pub marker_seq: Option<u64>,
    /// Rows scrolled up from the bottom (0: following new messages).
    pub scroll: usize,
}

impl Conversation {
    /// An empty conversation.
    pub fn new(target: Target) -> Self {
        Conversation {
            target,
            description: String::new(),
            messages: Vec::new(),
            pending: Vec::new(),
            last_seq: 0,
            read_seq: 0,
            unread: 0,
            mentioned: false,
            has_more_before: true,
            loading_older: false,
            loaded: false,
            marker_seq: None,
            scroll: 0,
        }
    }

    /// Adds a message in `seq` order. Returns `false` (and changes nothing) for a duplicate.
    pub fn insert(&mut self, m: Message) -> bool {
        let Err(pos) = self.messages.binary_search_by_key(&m.seq, |x| x.seq) else {
            return false;
        };
        self.last_seq = self.last_seq.max(m.seq);
        self.messages.insert(pos, m);
        true
    }

    /// Sequence number of the oldest loaded message.
    pub fn first_loaded(&self) -> Option<u64> {
        self.messages.first().map(|m| m.seq)
    }

    /// Sequence number of the newest loaded message (0 when none).
    pub fn last_loaded(&self) -> u64 {
        self.messages.last().map_or(0, |m| m.seq)
    }

    /// Recounts unread messages from what is loaded, after the read marker moved.
    pub fn recount_unread(&mut self, me: &str) {
        if self.read_seq >= self.last_seq {
            self.unread = 0;
            self.mentioned = false;
            return;
        }
        let loaded_after: Vec<&Message> = self
            .messages
            .iter()
            .filter(|m| m.seq > self.read_seq && !m.from.eq_ignore_ascii_case(me))
            .collect();
        // Without the whole range loaded the exact count is unknown: it is at least what is
        // loaded, at most the old count, and at most the number of messages after the marker.
        let complete = self
            .first_loaded()
            .is_some_and(|first| first <= self.read_seq + 1);
        let counted = loaded_after.len() as u64;
        let mention_loaded = loaded_after
            .iter()
            .any(|m| crate::layout::text::mentions(&m.text, me));
        if complete {
            self.unread = counted;
            self.mentioned = mention_loaded;
        } else {
            let bound = self.unread.min(self.last_seq - self.read_seq);
            self.unread = bound.max(counted);
            // A mention may sit in the part not loaded: keep the mark unless all is read.
            self.mentioned = self.mentioned || mention_loaded;
        }
    }

    /// What the feed lays out of this conversation.
    pub fn feed_text(&self) -> FeedText<'_> {
        FeedText {
            messages: &self.messages,
            pending: self.pending.iter().map(|p| p.text.as_str()).collect(),
            marker_seq: self.marker_seq,
            loading_older: self.loading_older,
            has_more_before: self.has_more_before,
        }
    }

    /// The sidebar label: `#name` or `name` for DMs.
    pub fn label(&self) -> String {
        match &self.target {
            Target::Channel(n) => format!("#{n}"),
            Target::User(n) => format!("@{n}"),
        }
    }
}
