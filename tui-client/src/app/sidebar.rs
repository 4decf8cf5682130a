//! The conversation list: its order (unread first) and rows, its scrolling, opening,
//! closing and adding conversations, and the unread total shown outside the sidebar.

use std::cmp::Reverse;

use super::*;

/// Sidebar sections below "Unread", in order.
const SECTIONS: [(&str, &str, bool); 2] = [
    ("Channels", "/join #channel", true),
    ("Direct messages", "/dm @user", false),
];

impl App {
    /// Where a conversation goes in the Unread section: 0 for a mention or a DM with unread
    /// messages, 1 for other unread; `None` when it is read (the open conversation keeps the
    /// place it was opened from).
    pub fn unread_rank(&self, i: usize) -> Option<u8> {
        let c = &self.conversations[i];
        if c.unread > 0 {
            let urgent = c.mentioned || !c.target.is_channel();
            return Some(if urgent { 0 } else { 1 });
        }
        match &self.pinned_unread {
            Some((target, rank)) if *target == c.target => Some(*rank),
            _ => None,
        }
    }

    /// Time (ms) of the newest message known in a conversation (0 when none is known).
    pub fn activity(&self, i: usize) -> i64 {
        let c = &self.conversations[i];
        let loaded = c.messages.last().map_or(0, |m| m.ts);
        let known = self.activity.get(&c.target.key()).copied().unwrap_or(0);
        loaded.max(known)
    }

    /// Indices of conversations in sidebar order: the Unread section (mentions and DMs
    /// first, then other unread, each most recent first), then read channels, then read
    /// DMs, each by name. Alt+1…9 and Ctrl+N/P follow it.
    pub fn sidebar_order(&self) -> Vec<usize> {
        self.sections().into_iter().flat_map(|(_, v)| v).collect()
    }

    /// The conversations of each section: Unread, Channels, Direct messages.
    fn sections(&self) -> [(&'static str, Vec<usize>); 3] {
        let mut unread = Vec::new();
        let mut chans = Vec::new();
        let mut dms = Vec::new();
        for i in 0..self.conversations.len() {
            if let Some(rank) = self.unread_rank(i) {
                unread.push((
                    rank,
                    Reverse(self.activity(i)),
                    self.conversations[i].target.key(),
                    i,
                ));
            } else if self.conversations[i].target.is_channel() {
                chans.push(i);
            } else {
                dms.push(i);
            }
        }
        unread.sort();
        for v in [&mut chans, &mut dms] {
            v.sort_by_key(|&i| self.conversations[i].target.key());
        }
        [
            ("Unread", unread.into_iter().map(|(.., i)| i).collect()),
            (SECTIONS[0].0, chans),
            (SECTIONS[1].0, dms),
        ]
    }

    /// The conversations in quick-switcher (Ctrl+K) order: unread first (mentions and DMs
    /// before the rest), then by most recent activity, then by name; the open one last.
    pub fn switcher_order(&self) -> Vec<usize> {
        let active = self.active_index();
        let mut v: Vec<usize> = (0..self.conversations.len()).collect();
        v.sort_by_cached_key(|&i| {
            let rank = if self.conversations[i].unread > 0 {
                self.unread_rank(i).unwrap_or(2)
            } else {
                2
            };
            (
                Some(i) == active,
                rank,
                Reverse(self.activity(i)),
                self.conversations[i].target.key(),
            )
        });
        v
    }

    /// The sidebar's rows, top to bottom: an "Unread" section when anything is unread, then
    /// "Channels" and "Direct messages" (a section emptied by Unread is left out; one with no
    /// conversation at all shows what to type).
    pub fn sidebar_rows(&self) -> Vec<SidebarRow> {
        if !self.loaded && self.conversations.is_empty() {
            // Not fetched yet: no "/join" hints that would make the account look empty.
            return vec![SidebarRow::Header("Channels"), SidebarRow::Hint("loading…")];
        }
        let [unread, chans, dms] = self.sections();
        let has_channels = self.conversations.iter().any(|c| c.target.is_channel());
        let has_dms = self.conversations.iter().any(|c| !c.target.is_channel());
        let mut rows = Vec::new();
        for (n, ((title, convs), exists)) in [unread, chans, dms]
            .into_iter()
            .zip([true, has_channels, has_dms])
            .enumerate()
        {
            let hint = match n {
                0 => None,
                n => Some(SECTIONS[n - 1].1).filter(|_| !exists),
            };
            if convs.is_empty() && hint.is_none() {
                continue;
            }
            if !rows.is_empty() {
                rows.push(SidebarRow::Blank);
            }
            rows.push(SidebarRow::Header(title));
            rows.extend(hint.map(SidebarRow::Hint));
            rows.extend(convs.into_iter().map(SidebarRow::Conv));
        }
        rows
    }

    /// The first sidebar row shown in `height` rows: where it was scrolled to by hand, or
    /// else scrolled just enough to keep the open conversation visible.
    pub fn sidebar_first_row(&self, height: usize) -> usize {
        self.first_row_of(&self.sidebar_rows(), height)
    }

    fn first_row_of(&self, rows: &[SidebarRow], height: usize) -> usize {
        let max = rows.len().saturating_sub(height);
        if let Some(top) = self.sidebar_scroll {
            return top.min(max);
        }
        let Some(active) = self.active_index() else {
            return 0;
        };
        let pos = rows
            .iter()
            .position(|r| *r == SidebarRow::Conv(active))
            .unwrap_or(0);
        if height == 0 || pos < height {
            0
        } else {
            (pos + 1 - height).min(max)
        }
    }

    /// Exactly the rows drawn in `height` rows (the widget and mouse clicks share them): when
    /// unread conversations are scrolled out of view above, the top row says how many.
    pub fn sidebar_view(&self, height: usize) -> Vec<SidebarRow> {
        let rows = self.sidebar_rows();
        let first = self.first_row_of(&rows, height);
        let above = rows[..first.min(rows.len())]
            .iter()
            .filter(|r| matches!(r, SidebarRow::Conv(i) if self.conversations[*i].unread > 0))
            .count();
        let mut view: Vec<SidebarRow> = rows.into_iter().skip(first).take(height).collect();
        if above > 0 {
            if let Some(top) = view.first_mut() {
                *top = SidebarRow::UnreadAbove(above);
            }
        }
        view
    }

    /// Scrolls the sidebar by `delta` rows (negative: up), leaving follow mode.
    pub(super) fn scroll_sidebar(&mut self, delta: isize) {
        let height = usize::from(
            self.layout(ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1))
                .sidebar
                .height,
        );
        if height == 0 {
            return; // no sidebar at this width
        }
        let max = self.sidebar_rows().len().saturating_sub(height);
        let first = self.sidebar_first_row(height) as isize;
        self.sidebar_scroll = Some((first + delta).clamp(0, max as isize) as usize);
    }

    /// Alt+A: opens the next conversation with a mention or unread messages (the top of the
    /// Unread section, skipping the open one).
    pub(super) fn next_unread(&mut self, fx: &mut Vec<Effect>) {
        let active = self.active_index();
        let next = self
            .sidebar_order()
            .into_iter()
            .find(|&i| Some(i) != active && self.conversations[i].unread > 0);
        match next {
            Some(i) => {
                let t = self.conversations[i].target.clone();
                self.open(&t, fx);
            }
            None => self.notify("nothing unread", false),
        }
    }

    /// Keeps the terminal title in step with the unread total: `(3) zchat · alice`.
    pub(super) fn refresh_title(&mut self, fx: &mut Vec<Effect>) {
        let unread = self.total_unread();
        let mut title = String::from("zchat");
        if matches!(self.screen, Screen::Chat) && !self.me.is_empty() {
            title = format!("zchat · {}", self.me);
            if unread > 0 {
                title = format!("({unread}) {title}");
            }
        }
        if title != self.title {
            self.title.clone_from(&title);
            fx.push(Effect::SetTitle(title));
        }
    }

    /// Whether any unread conversation mentions me or is a DM.
    pub fn mentions_waiting(&self) -> bool {
        (0..self.conversations.len())
            .any(|i| self.conversations[i].unread > 0 && self.unread_rank(i) == Some(0))
    }

    /// After the server said a DM's peer does not exist: the conversation is removed when it
    /// holds nothing else (it was opened by `/dm @nobody` or the user picker), and the one
    /// open before comes back. Returns whether it was removed.
    pub(super) fn drop_ghost_dm(&mut self, target: &Target, fx: &mut Vec<Effect>) -> bool {
        let Some(i) = self.find(target) else {
            return false;
        };
        let c = &self.conversations[i];
        let empty = !c.target.is_channel()
            && c.messages.is_empty()
            && c.pending.is_empty()
            && c.last_seq == 0
            && c.unread == 0;
        if !empty {
            return false;
        }
        let was_active = self.selected.as_deref() == Some(&target.key());
        let back = self
            .previous
            .clone()
            .filter(|k| *k != target.key())
            .and_then(|k| Target::parse(&k).ok())
            .filter(|t| self.find(t).is_some());
        self.conversations.remove(i);
        if was_active {
            self.selected = None;
            let next = back.or_else(|| {
                self.sidebar_order()
                    .first()
                    .map(|&f| self.conversations[f].target.clone())
            });
            if let Some(t) = next {
                self.open(&t, fx);
            }
        }
        true
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

    /// Opens a conversation: selects it (the one left shrinks back to its newest messages),
    /// and shows its first unread message or its newest (`App::on_open`).
    pub(super) fn open(&mut self, target: &Target, fx: &mut Vec<Effect>) {
        let Some(i) = self.find(target) else {
            return;
        };
        // Sidebar: back to following the open conversation, which keeps its place in the
        // Unread section while it is open.
        self.sidebar_scroll = None;
        self.pinned_unread = self.unread_rank(i).map(|r| (target.clone(), r));
        // The conversation left shrinks back to its newest messages.
        if let Some(prev) = self.active_index().filter(|&p| p != i) {
            self.conversations[prev].shrink_inactive();
        }
        if self.selected.as_deref() != Some(&target.key()) {
            self.previous = self.selected.replace(target.key());
        }
        self.selected = Some(target.key());
        self.on_open(i, fx);
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
            None => self.add_conversation(Conversation::new(target.clone())),
        };
        if let Some(last) = &dm.last {
            let t = self.activity.entry(target.key()).or_default();
            *t = (*t).max(last.ts);
        }
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
