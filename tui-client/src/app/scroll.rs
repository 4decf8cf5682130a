//! Scrolling the feed, keeping the view still while messages come and go, loading pages at
//! either end of the loaded window, jumping (first unread, newest, oldest loaded), and
//! moving the read marker over what was actually on screen.
//!
//! Everything here asks the conversation's layout cache (`Conversation::laid_out`), so a
//! step costs O(rows on screen + log n), never O(messages loaded).

use std::ops::Range;

use super::*;
use crate::layout::feed::Laid;
use conversation::{Jump, INACTIVE_MESSAGES, WINDOW_MESSAGES};

/// A message line on screen, kept at the same screen row across a change to the
/// conversation (a page prepended, a message appended, an eviction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Anchor {
    seq: u64,
    line: usize,
    y: usize,
}

/// Pages smaller than this many messages after the read marker are loaded as the newest
/// page (one request); larger backlogs are loaded from the marker.
const SMALL_BACKLOG: u64 = HISTORY_PAGE as u64 - 10;

impl App {
    /// Lays out conversation `i` at the feed's width and runs `f` on it.
    pub(super) fn laid<R>(&self, i: usize, f: impl FnOnce(&Laid<'_>) -> R) -> R {
        let (w, _) = self.feed_size();
        self.conversations[i].laid_out(&self.me, w, self.offset_secs, f)
    }

    /// The rows of conversation `i` on screen, and its total number of rows.
    pub(super) fn visible_rows(&self, i: usize) -> (Range<usize>, usize) {
        let h = self.feed_size().1;
        let scroll = self.conversations[i].scroll;
        self.laid(i, |l| {
            let total = l.total();
            let end = total - scroll.min(total.saturating_sub(h));
            (end.saturating_sub(h)..end, total)
        })
    }

    /// The terminal's new size: the first message line on screen stays on screen (the
    /// lines above and below it are wrapped again at the new width).
    pub(super) fn resize(&mut self, w: u16, h: u16) {
        let active = self.active_index();
        let anchor = active.and_then(|i| self.anchor(i));
        self.size = (w, h);
        if let Some(i) = active {
            self.restore(i, anchor);
        }
    }

    /// Scrolls the open feed by `delta` rows (positive: up, towards older messages).
    pub(super) fn scroll_by(&mut self, delta: isize, fx: &mut Vec<Effect>) {
        let Some(i) = self.active_index() else {
            return;
        };
        let h = self.feed_size().1;
        let (_, total) = self.visible_rows(i);
        let max = total.saturating_sub(h);
        let c = &mut self.conversations[i];
        if c.jump == Some(Jump::FirstUnread) {
            c.jump = None;
        }
        let cur = c.scroll as isize;
        c.scroll = cur.saturating_add(delta).clamp(0, max as isize) as usize;
        if c.scroll == 0 && c.at_newest() {
            c.marker_seq = c.marker_seq.filter(|_| c.unread > 0);
        }
        self.check_load_older(fx);
        self.check_load_newer(fx);
    }

    /// Asks for older messages when the top of the loaded history is on screen.
    pub(super) fn check_load_older(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.active_index() else {
            return;
        };
        let (rows, _) = self.visible_rows(i);
        let c = &mut self.conversations[i];
        if rows.start == 0 && c.loaded && c.has_more_before && !c.loading_older {
            if let Some(first) = c.first_loaded() {
                c.loading_older = true;
                c.older_guard = Some(first);
                fx.push(Effect::LoadHistory {
                    target: c.target.clone(),
                    kind: HistoryKind::Older,
                    before: Some(first),
                    after: None,
                });
            }
        }
    }

    /// Asks for newer messages when the bottom of the loaded window is on screen and newer
    /// ones exist (evicted, or not loaded yet after opening at the first unread).
    pub(super) fn check_load_newer(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.active_index() else {
            return;
        };
        let c = &self.conversations[i];
        if !(c.has_more_after && c.loaded && !c.loading_newer) {
            return;
        }
        let (rows, _) = self.visible_rows(i);
        let bottom_shown = self.laid(i, |l| rows.end > l.messages_end());
        let c = &mut self.conversations[i];
        if bottom_shown {
            fx.push(c.load_newer());
        }
    }

    /// The first message line on screen, to keep in place across a change; `None` while the
    /// view follows the newest message (it then stays at the bottom).
    pub(super) fn anchor(&self, i: usize) -> Option<Anchor> {
        let c = &self.conversations[i];
        if c.scroll == 0 && !c.has_more_after {
            return None;
        }
        let (rows, _) = self.visible_rows(i);
        let (m, line, r) = self.laid(i, |l| {
            rows.clone()
                .find_map(|r| l.locate(r).map(|(m, line)| (m, line, r)))
        })?;
        Some(Anchor {
            seq: c.messages.get(m)?.seq,
            line,
            y: r - rows.start,
        })
    }

    /// Scrolls so that the anchored line is back on its screen row.
    pub(super) fn restore(&mut self, i: usize, anchor: Option<Anchor>) {
        let h = self.feed_size().1;
        let Some(a) = anchor else {
            return;
        };
        let at = self.conversations[i]
            .messages
            .binary_search_by_key(&a.seq, |m| m.seq);
        let (row, total) = self.laid(i, |l| {
            let row = at.map_or(usize::MAX, |m| l.line_row(m, a.line));
            (row, l.total())
        });
        let c = &mut self.conversations[i];
        if row == usize::MAX {
            // The anchored message is gone: stay within bounds.
            c.scroll = c.scroll.min(total.saturating_sub(h));
            return;
        }
        let start = row.saturating_sub(a.y);
        let end = (start + h).min(total);
        c.scroll = total - end;
    }

    /// Applies `f` to conversation `i`, keeping what is on screen where it is, and the
    /// loaded window within its bound.
    pub(super) fn change_anchored<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Conversation) -> R,
    ) -> R {
        let anchor = self.anchor(i);
        let r = f(&mut self.conversations[i]);
        self.enforce_window(i);
        self.restore(i, anchor);
        r
    }

    /// Evicts messages beyond the window's bound: for the open conversation from the end
    /// farther from the view, for the others the oldest.
    pub(super) fn enforce_window(&mut self, i: usize) {
        let n = self.conversations[i].messages.len();
        if self.active_index() != Some(i) {
            // Amortised: shrink once a page's worth has piled up.
            if n > INACTIVE_MESSAGES + HISTORY_PAGE as usize {
                self.conversations[i].evict_oldest(n - INACTIVE_MESSAGES);
            }
            return;
        }
        if n <= WINDOW_MESSAGES {
            return;
        }
        // A page's worth below the bound, so that a burst of live messages at the bound
        // evicts (an O(n) step) once per page, not once per message.
        let excess = n - WINDOW_MESSAGES + HISTORY_PAGE as usize;
        let (rows, _) = self.visible_rows(i);
        let following = {
            let c = &self.conversations[i];
            c.scroll == 0 && !c.has_more_after
        };
        let view = if following {
            n - 1
        } else {
            self.laid(i, |l| l.message_at(rows.start.max(1)))
                .unwrap_or(n - 1)
        };
        let c = &mut self.conversations[i];
        if view >= n / 2 {
            c.evict_oldest(excess);
        } else {
            c.evict_newest(excess);
        }
    }

    /// Puts the "new messages" line at the top of the feed (or as high as the messages
    /// below it allow).
    pub(super) fn show_marker_at_top(&mut self, i: usize) {
        let h = self.feed_size().1;
        let read = self.conversations[i].read_seq;
        let first_after = self.conversations[i]
            .messages
            .partition_point(|m| m.seq <= read);
        let (row, total) = self.laid(i, |l| {
            let row = l.marker_row().unwrap_or_else(|| l.block_start(first_after));
            (row, l.total())
        });
        let end = (row + h).min(total);
        let c = &mut self.conversations[i];
        c.scroll = total - end;
        // Not enough loaded below the marker to show it at the top: again when the next
        // newer page lands (a scroll by the reader cancels it).
        let short = c.scroll == 0 && c.has_more_after;
        c.jump = short.then_some(Jump::FirstUnread);
    }

    /// Whether the loaded window holds the messages right after the read marker.
    fn window_covers_marker(c: &Conversation) -> bool {
        let starts_before = c
            .first_loaded()
            .is_some_and(|f| f <= c.read_seq + 1 || !c.has_more_before);
        c.loaded && starts_before && c.last_loaded() > c.read_seq
    }

    /// Forgets the loaded window and loads it again around the read marker, to show the
    /// first unread message with a little context above it.
    fn load_from_marker(&mut self, i: usize, fx: &mut Vec<Effect>) {
        let c = &mut self.conversations[i];
        let read = c.read_seq;
        let backlog = c.last_seq.saturating_sub(read);
        c.reset_window();
        c.jump = Some(Jump::FirstUnread);
        c.marker_seq = Some(read);
        if backlog <= SMALL_BACKLOG {
            fx.push(Effect::LoadHistory {
                target: c.target.clone(),
                kind: HistoryKind::Latest,
                before: None,
                after: None,
            });
            return;
        }
        // Until the page after the marker arrives, live messages only count.
        c.has_more_after = true;
        fx.push(Effect::LoadHistory {
            target: c.target.clone(),
            kind: HistoryKind::FirstUnread,
            before: None,
            after: Some(read),
        });
        if read > 0 && c.loading_older {
            // A stale older page is still on its way: the context above the marker is asked
            // for once it has landed (the top is then on screen).
        } else if read > 0 {
            // Context above the marker; dropped if the window has moved on meanwhile.
            c.loading_older = true;
            c.older_guard = Some(read + 1);
            fx.push(Effect::LoadHistory {
                target: c.target.clone(),
                kind: HistoryKind::Older,
                before: Some(read + 1),
                after: None,
            });
        } else {
            c.has_more_before = false;
        }
    }

    /// Called when conversation `i` is opened: at its first unread message when it has
    /// some, else at the newest.
    pub(super) fn on_open(&mut self, i: usize, fx: &mut Vec<Effect>) {
        let c = &mut self.conversations[i];
        c.marker_seq = (c.unread > 0).then_some(c.read_seq);
        c.scroll = 0;
        if c.unread > 0 && c.read_seq < c.last_seq {
            if Self::window_covers_marker(c) {
                self.show_marker_at_top(i);
            } else {
                self.load_from_marker(i, fx);
            }
        } else if !c.loaded || c.has_more_after {
            c.reset_window();
            fx.push(Effect::LoadHistory {
                target: c.target.clone(),
                kind: HistoryKind::Latest,
                before: None,
                after: None,
            });
        }
    }

    /// `End`: to the newest message, reloading the newest page when it was evicted.
    pub(super) fn jump_to_newest(&mut self, fx: &mut Vec<Effect>) {
        if let Some(i) = self.active_index() {
            self.show_newest(i, fx);
        }
    }

    /// Shows the newest messages of conversation `i` (after sending, `End`, `Esc`).
    pub(super) fn show_newest(&mut self, i: usize, fx: &mut Vec<Effect>) {
        let c = &mut self.conversations[i];
        c.scroll = 0;
        if c.has_more_after {
            if c.jump != Some(Jump::Newest) {
                c.jump = Some(Jump::Newest);
                // An `after` page in flight would join the window the newest page replaces.
                c.stale_newer |= c.loading_newer;
                c.loading_newer = true;
                c.newer_guard = None;
                fx.push(Effect::LoadHistory {
                    target: c.target.clone(),
                    kind: HistoryKind::Latest,
                    before: None,
                    after: None,
                });
            }
        } else {
            c.marker_seq = c.marker_seq.filter(|_| c.unread > 0);
        }
    }

    /// `Home`: to the oldest loaded message (which asks for the page before it).
    pub(super) fn jump_to_oldest(&mut self, fx: &mut Vec<Effect>) {
        self.scroll_by(isize::MAX / 2, fx);
    }

    /// `Alt+U`: to the first unread message, with the "new messages" line at the top; to
    /// the "new messages" line when everything is read; reloads around the marker when the
    /// loaded window does not hold it.
    pub(super) fn jump_to_first_unread(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.active_index() else {
            return;
        };
        let c = &mut self.conversations[i];
        if c.read_seq < c.last_seq {
            c.marker_seq = Some(c.read_seq);
            if Self::window_covers_marker(c) {
                self.show_marker_at_top(i);
            } else {
                self.load_from_marker(i, fx);
            }
        } else if c.marker_seq.is_some() && self.laid(i, |l| l.marker_row().is_some()) {
            self.show_marker_at_top(i);
        } else {
            self.notify("no unread messages here", false);
        }
        self.check_load_older(fx);
        self.check_load_newer(fx);
    }

    /// Moves the read marker over what the open feed shows: up to the newest message whose
    /// last line is on screen (never further, whatever is loaded below).
    pub(super) fn maybe_mark_read(&mut self, fx: &mut Vec<Effect>) {
        if !matches!(self.screen, Screen::Chat) {
            return;
        }
        // Nothing is read while a popup covers the feed or the terminal is too small to
        // show it: the marker moves when the feed is visible again.
        let (min_w, min_h) = crate::layout::screen::MIN_SIZE;
        if self.popup.is_some() || self.size.0 < min_w || self.size.1 < min_h {
            return;
        }
        let Some(i) = self.active_index() else {
            return;
        };
        if !self.conversations[i].loaded {
            return;
        }
        let (rows, _) = self.visible_rows(i);
        let Some(shown) = self.laid(i, |l| l.last_message_ending_in(rows)) else {
            return;
        };
        let me = self.me.clone();
        let c = &mut self.conversations[i];
        let Some(seq) = c.messages.get(shown).map(|m| m.seq) else {
            return;
        };
        if seq > c.read_seq {
            c.advance_read(seq, &me);
            fx.push(Effect::MarkRead {
                target: c.target.clone(),
                seq,
            });
        }
    }
}
