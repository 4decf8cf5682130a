//! Scrolling the feed, loading older pages at the top, and moving the read marker.

use super::*;

impl App {
    /// Scrolls the open feed by `delta` rows (positive: up, towards older messages).
    pub(super) fn scroll_by(&mut self, delta: isize, fx: &mut Vec<Effect>) {
        let Some(i) = self.active_index() else {
            return;
        };
        let (w, h) = self.feed_size();
        let total = row_count(
            &self.conversations[i].feed_text(),
            &self.me,
            w,
            self.offset_secs,
        );
        let max = total.saturating_sub(h);
        let c = &mut self.conversations[i];
        let cur = c.scroll as isize;
        c.scroll = cur.saturating_add(delta).clamp(0, max as isize) as usize;
        if c.scroll == 0 {
            c.marker_seq = c.marker_seq.filter(|_| c.unread > 0);
        }
        self.check_load_older(fx);
    }

    /// Asks for older messages when the top of the loaded history is on screen.
    pub(super) fn check_load_older(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.active_index() else {
            return;
        };
        let (w, h) = self.feed_size();
        let total = row_count(
            &self.conversations[i].feed_text(),
            &self.me,
            w,
            self.offset_secs,
        );
        let c = &mut self.conversations[i];
        let top_visible = c.scroll + h >= total;
        if top_visible && c.loaded && c.has_more_before && !c.loading_older {
            if let Some(first) = c.first_loaded() {
                c.loading_older = true;
                fx.push(Effect::LoadHistory {
                    target: c.target.clone(),
                    kind: HistoryKind::Older,
                    before: Some(first),
                    after: None,
                });
            }
        }
    }

    /// Moves the read marker to the newest loaded message when the open feed shows it.
    pub(super) fn maybe_mark_read(&mut self, fx: &mut Vec<Effect>) {
        if !matches!(self.screen, Screen::Chat) {
            return;
        }
        let Some(i) = self.active_index() else {
            return;
        };
        let me = self.me.clone();
        let c = &mut self.conversations[i];
        let newest = c.last_loaded();
        if c.scroll == 0 && c.loaded && newest > c.read_seq {
            c.read_seq = newest;
            c.recount_unread(&me);
            fx.push(Effect::MarkRead {
                target: c.target.clone(),
                seq: newest,
            });
        }
    }
}
