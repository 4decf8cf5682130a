//! One conversation (a channel or a direct-message peer) as the client holds it: a bounded
//! window of its messages, the reader's position in them, and the feed's layout cache.

use std::cell::RefCell;

use zchat_protocol::{Message, Target};

use super::{Effect, HistoryKind};
use crate::layout::feed::{FeedLayout, FeedText, Laid};

/// Most messages the open conversation keeps in memory. Scrolling back past it evicts
/// from the far end (and reloads from the server when the reader comes back), so memory and
/// every O(n) step (a prepended page's index rebuild, a relayout after a resize) stay
/// bounded whatever the history's size: 3,000 messages are ~60 screens of a 50-row feed,
/// a full relayout of them is a few milliseconds, and they take ~1–2 MB with their lines.
/// Crossing it evicts a page's worth more than needed, so that messages arriving at the
/// bound evict once per page.
pub const WINDOW_MESSAGES: usize = 3_000;

/// Messages a conversation that is not open keeps (its newest ones): enough to show a
/// screen at once when it is opened again, so 200 joined conversations hold little.
pub const INACTIVE_MESSAGES: usize = 100;

/// Where to put the view when the page being fetched arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    /// The "new messages" line at the top of the feed.
    FirstUnread,
    /// The newest message at the bottom (following new messages).
    Newest,
}

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
    /// Rows scrolled up from the bottom (0: the bottom row is on screen; following new
    /// messages unless `has_more_after`).
    pub scroll: usize,
    /// Whether newer messages exist on the server after the last loaded one (the newest
    /// end was evicted, or the conversation was opened at its first unread message).
    /// Live messages then only move `last_seq` and the unread count.
    pub has_more_after: bool,
    /// Whether a page of newer messages is being fetched.
    pub loading_newer: bool,
    /// An older page in flight is used only while the window still starts at or before
    /// this seq (it was asked for `before` it); `None`: used whatever the window.
    pub older_guard: Option<u64>,
    /// A newer page in flight is used only while the window still ends at or after this
    /// seq (it was asked for `after` it); an eviction in between would leave a gap.
    pub newer_guard: Option<u64>,
    /// The older page in flight was asked for a window since forgotten (a jump reloaded
    /// the conversation): its reply is dropped when it lands. At most one older page is in
    /// flight, so "the next older reply" is that one.
    pub stale_older: bool,
    /// The same for the newer (`after`) page in flight.
    pub stale_newer: bool,
    /// Where to put the view when the awaited page arrives.
    pub jump: Option<Jump>,
    /// The feed's wrapped lines and row index. Interior mutability so that the view, which
    /// only has `&App`, lays out through the same cache as `update`.
    layout: RefCell<FeedLayout>,
}

impl Conversation {
    /// Starts fetching the messages after the newest loaded one and returns the request:
    /// `newer_guard` remembers where the window ended, so a page that no longer fits when
    /// it lands (the window moved meanwhile) is recognised and dropped.
    pub fn load_newer(&mut self) -> Effect {
        let last = self.last_loaded();
        self.loading_newer = true;
        self.newer_guard = (!self.messages.is_empty()).then_some(last);
        Effect::LoadHistory {
            target: self.target.clone(),
            kind: HistoryKind::After,
            before: None,
            after: Some(last),
        }
    }

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
            has_more_after: false,
            loading_newer: false,
            older_guard: None,
            newer_guard: None,
            stale_older: false,
            stale_newer: false,
            jump: None,
            layout: RefCell::new(FeedLayout::default()),
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

    /// Adds a page of history (oldest first); duplicates are skipped. A page wholly before
    /// or after the loaded messages is added in one move rather than message by message.
    pub fn insert_page(&mut self, page: Vec<Message>) {
        let ordered = page.windows(2).all(|w| w[0].seq < w[1].seq);
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            return;
        };
        let (first, last) = (first.seq, last.seq);
        if ordered && self.first_loaded().is_none_or(|f| last < f) {
            self.last_seq = self.last_seq.max(last);
            self.messages.splice(0..0, page);
        } else if ordered && first > self.last_loaded() {
            self.last_seq = self.last_seq.max(last);
            self.messages.extend(page);
        } else {
            for m in page {
                self.insert(m);
            }
        }
    }

    /// Files a live message (or my own, acknowledged): inserted when the newest end is
    /// loaded; when it is not (evicted, or opened at the first unread) only `last_seq`
    /// moves and the message is fetched when the reader gets there. Returns whether it was
    /// new.
    pub fn insert_live(&mut self, m: Message) -> bool {
        if self.has_more_after && m.seq > self.last_loaded() {
            let new = m.seq > self.last_seq;
            self.last_seq = self.last_seq.max(m.seq);
            return new;
        }
        self.insert(m)
    }

    /// Sequence number of the oldest loaded message.
    pub fn first_loaded(&self) -> Option<u64> {
        self.messages.first().map(|m| m.seq)
    }

    /// Sequence number of the newest loaded message (0 when none).
    pub fn last_loaded(&self) -> u64 {
        self.messages.last().map_or(0, |m| m.seq)
    }

    /// Replaces a stored message with a new version of it (same `seq`), so its lines are
    /// wrapped again. Returns `false` when no message has that `seq`.
    pub fn replace(&mut self, m: Message) -> bool {
        let Ok(pos) = self.messages.binary_search_by_key(&m.seq, |x| x.seq) else {
            return false;
        };
        let seq = m.seq;
        self.messages[pos] = m;
        self.layout.get_mut().changed(seq);
        true
    }

    /// Lays the feed out at `width` columns (through the cache) and runs `f` on it.
    pub fn laid_out<R>(
        &self,
        me: &str,
        width: usize,
        offset_secs: i32,
        f: impl FnOnce(&Laid<'_>) -> R,
    ) -> R {
        let text = self.feed_text();
        let mut layout = self.layout.borrow_mut();
        let laid = layout.lay_out(&text, me, width, offset_secs);
        f(&laid)
    }

    /// Drops the `n` oldest loaded messages (they stay on the server).
    pub fn evict_oldest(&mut self, n: usize) {
        let n = n.min(self.messages.len());
        if n > 0 {
            self.messages.drain(..n);
            self.has_more_before = true;
        }
    }

    /// Drops the `n` newest loaded messages; they are fetched again when the reader
    /// scrolls down to them.
    pub fn evict_newest(&mut self, n: usize) {
        let keep = self.messages.len().saturating_sub(n);
        if keep < self.messages.len() {
            self.messages.truncate(keep);
            self.has_more_after = true;
        }
    }

    /// Forgets every loaded message, to load a different part of the conversation.
    pub fn reset_window(&mut self) {
        self.messages = Vec::new();
        *self.layout.get_mut() = FeedLayout::default();
        self.loaded = false;
        self.has_more_before = true;
        self.has_more_after = false;
        // Pages still in flight were asked for the window being forgotten: they are
        // dropped when they land, and stay "loading" until then so that no second request
        // of their kind goes out meanwhile (replies come back in any order).
        self.stale_older |= self.loading_older;
        self.stale_newer |= self.loading_newer;
        self.older_guard = None;
        self.newer_guard = None;
        self.jump = None;
        self.scroll = 0;
    }

    /// Shrinks a conversation that is no longer open back to its newest messages.
    pub fn shrink_inactive(&mut self) {
        if self.has_more_after {
            // Scrolled far back: the newest page is not loaded, so start afresh next time.
            self.reset_window();
            return;
        }
        self.scroll = 0;
        self.jump = None;
        let extra = self.messages.len().saturating_sub(INACTIVE_MESSAGES);
        self.evict_oldest(extra);
        self.messages.shrink_to_fit();
        // Laid out again (≤ INACTIVE_MESSAGES) when it is opened; until then no lines.
        *self.layout.get_mut() = FeedLayout::default();
    }

    /// Whether the loaded messages reach the newest one (nothing newer to fetch).
    pub fn at_newest(&self) -> bool {
        !self.has_more_after
    }

    /// Moves the read marker forward to `seq` (messages up to it were shown) and updates
    /// the unread count.
    pub fn advance_read(&mut self, seq: u64, me: &str) {
        if seq <= self.read_seq {
            return;
        }
        let old = self.read_seq;
        self.read_seq = seq;
        let from = self.messages.partition_point(|m| m.seq <= old);
        let to = self.messages.partition_point(|m| m.seq <= seq);
        let passed = self.messages[from..to]
            .iter()
            .filter(|m| !m.from.eq_ignore_ascii_case(me))
            .count() as u64;
        self.unread = self.unread.saturating_sub(passed);
        self.recount_unread(me);
    }

    /// Recounts unread messages from what is loaded, after the read marker moved.
    pub fn recount_unread(&mut self, me: &str) {
        if self.read_seq >= self.last_seq {
            self.unread = 0;
            self.mentioned = false;
            return;
        }
        let after = self.messages.partition_point(|m| m.seq <= self.read_seq);
        let loaded_after: Vec<&Message> = self.messages[after..]
            .iter()
            .filter(|m| !m.from.eq_ignore_ascii_case(me))
            .collect();
        // Without the whole range loaded the exact count is unknown: it is at least what is
        // loaded, at most the old count, and at most the number of messages after the marker.
        let complete = self
            .first_loaded()
            .is_some_and(|first| first <= self.read_seq + 1)
            && !self.has_more_after;
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
            has_more_after: self.has_more_after,
            loading_newer: self.loading_newer,
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
