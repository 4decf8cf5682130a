//! The conversation list: its order and rows, opening, closing and adding conversations.

use super::*;

impl App {
    /// Indices of conversations in sidebar order (channels then DMs).
    pub fn sidebar_order(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.conversations.len()).collect();
        v.sort_by_key(|&i| {
            let c = &self.conversations[i];
            (!c.target.is_channel(), c.target.key())
        });
        v
    }

    /// The first sidebar row shown in `height` rows: scrolled just enough to keep the open
    /// conversation visible.
    pub fn sidebar_first_row(&self, height: usize) -> usize {
        let Some(active) = self.active_index() else {
            return 0;
        };
        let rows = self.sidebar_rows();
        let pos = rows
            .iter()
            .position(|r| *r == SidebarRow::Conv(active))
            .unwrap_or(0);
        if height == 0 || pos < height {
            0
        } else {
            (pos + 1 - height).min(rows.len().saturating_sub(height))
        }
    }

    /// The sidebar's rows, top to bottom (the widget and mouse clicks share them).
    pub fn sidebar_rows(&self) -> Vec<SidebarRow> {
        if !self.loaded && self.conversations.is_empty() {
            // Not fetched yet: no "/join" hints that would make the account look empty.
            return vec![SidebarRow::Header("Channels"), SidebarRow::Hint("loading…")];
        }
        let order = self.sidebar_order();
        let mut rows = vec![SidebarRow::Header("Channels")];
        let (chans, dms): (Vec<usize>, Vec<usize>) = order
            .into_iter()
            .partition(|&i| self.conversations[i].target.is_channel());
        if chans.is_empty() {
            rows.push(SidebarRow::Hint("/join #channel"));
        }
        rows.extend(chans.into_iter().map(SidebarRow::Conv));
        rows.push(SidebarRow::Blank);
        rows.push(SidebarRow::Header("Direct messages"));
        if dms.is_empty() {
            rows.push(SidebarRow::Hint("/dm @user"));
        }
        rows.extend(dms.into_iter().map(SidebarRow::Conv));
        rows
    }

    pub(super) fn step_conversation(&mut self, delta: isize, fx: &mut Vec<Effect>) {
        let order = self.sidebar_order();
        if order.is_empty() {
            return;
        }
        let cur = self
            .active_index()
            .and_then(|a| order.iter().position(|&i| i == a))
            .unwrap_or(0) as isize;
        let n = order.len() as isize;
        let next = order[(cur + delta).rem_euclid(n) as usize];
        let t = self.conversations[next].target.clone();
        self.open(&t, fx);
    }

    pub(super) fn add_conversation(&mut self, c: Conversation) -> usize {
        self.conversations.push(c);
        self.conversations.len() - 1
    }

    /// Opens a conversation: selects it, places the "new" line, loads history if needed.
    pub(super) fn open(&mut self, target: &Target, fx: &mut Vec<Effect>) {
        let Some(i) = self.find(target) else {
            return;
        };
        self.selected = Some(target.key());
        let c = &mut self.conversations[i];
        c.marker_seq = (c.unread > 0).then_some(c.read_seq);
        c.scroll = 0;
        if !c.loaded {
            fx.push(Effect::LoadHistory {
                target: c.target.clone(),
                kind: HistoryKind::Latest,
                before: None,
                after: None,
            });
        }
    }

    pub(super) fn close(&mut self, target: &Target, fx: &mut Vec<Effect>) {
        let Some(i) = self.find(target) else {
            return;
        };
        let was_active = self.selected.as_deref() == Some(&target.key());
        self.conversations.remove(i);
        if self.watched.remove(&target.key()) {
            fx.push(Effect::Unwatch(target.clone()));
        }
        if was_active {
            self.selected = None;
            if let Some(&first) = self.sidebar_order().first() {
                let t = self.conversations[first].target.clone();
                self.open(&t, fx);
            }
        }
    }

    pub(super) fn upsert_channel(&mut self, info: &ChannelInfo, fx: &mut Vec<Effect>) {
        let target = Target::Channel(info.name.clone());
        let i = match self.find(&target) {
            Some(i) => i,
            None => self.add_conversation(Conversation::new(target.clone())),
        };
        let c = &mut self.conversations[i];
        c.description.clone_from(&info.description);
        c.last_seq = c.last_seq.max(info.last_seq);
        c.unread = info.unread;
        if info.unread == 0 {
            c.mentioned = false;
        }
        if c.read_seq > info.read_seq {
            // Read here and the marker not stored yet: our count is the newer one.
            let me = self.me.clone();
            c.recount_unread(&me);
        } else {
            c.read_seq = info.read_seq;
        }
        if self.watched.insert(target.key()) {
            fx.push(Effect::Watch {
                target,
                last_seen: c.last_seq,
            });
        }
    }

    pub(super) fn upsert_dm(&mut self, dm: &DmSummary) {
        let Ok(target) = Target::user(&dm.peer) else {
            return;
        };
        let i = match self.find(&target) {
            Some(i) => i,
            None => self.add_conversation(Conversation::new(target)),
        };
        let me = self.me.clone();
        let c = &mut self.conversations[i];
        c.last_seq = c.last_seq.max(dm.last_seq);
        c.unread = dm.unread;
        if dm.unread == 0 {
            c.mentioned = false;
        } else if let Some(last) = &dm.last {
            c.mentioned |= text::mentions(&last.text, &me);
        }
        if c.read_seq > dm.read_seq {
            c.recount_unread(&me);
        } else {
            c.read_seq = dm.read_seq;
        }
    }
}
