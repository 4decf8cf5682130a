//! Keeping conversations in step with the server: bootstrap, history pages, send
//! outcomes, live messages, and re-sending what is unsent.

/// How long a message refused for now (`unavailable`) waits before it is sent again.
const RETRY_NOT_NOW_MS: i64 = 3_000;

use super::*;
use conversation::Jump;

impl App {
    pub(super) fn start_bootstrap(&mut self, fx: &mut Vec<Effect>) {
        self.bootstrap_in_flight = true;
        self.changed_during_bootstrap.clear();
        self.last_bootstrap_try = self.now_ms;
        fx.push(Effect::Bootstrap);
    }

    pub(super) fn on_bootstrap(
        &mut self,
        channels: Vec<ChannelInfo>,
        dms: Vec<DmSummary>,
        fx: &mut Vec<Effect>,
    ) {
        self.bootstrap_in_flight = false;
        self.bootstrapped = true;
        self.loaded = true;
        self.bootstrap_again = false;
        self.clear_outage_notice(); // the server answered
                                    // The snapshot was taken before any join or leave made here since it was asked for:
                                    // those stand as they are.
        let changed = std::mem::take(&mut self.changed_during_bootstrap);
        // Channels left elsewhere disappear.
        let joined: HashSet<String> = channels.iter().map(|c| format!("#{}", c.name)).collect();
        let gone: Vec<Target> = self
            .conversations
            .iter()
            .filter(|c| c.target.is_channel() && !joined.contains(&c.target.key()))
            .filter(|c| !changed.contains(&c.target.key()))
            .map(|c| c.target.clone())
            .collect();
        for t in gone {
            self.close(&t, fx);
        }
        for info in channels
            .iter()
            .filter(|c| !changed.contains(&format!("#{}", c.name)))
        {
            self.upsert_channel(info, fx);
        }
        for dm in &dms {
            self.upsert_dm(dm);
        }
        // Catch up every loaded conversation that has news (after an outage); one whose
        // newest end is not loaded anyway catches up when the reader gets there.
        for c in &mut self.conversations {
            if c.loaded && !c.has_more_after && !c.loading_newer && c.last_seq > c.last_loaded() {
                fx.push(c.load_newer());
            }
        }
        if self.active().is_none() {
            let first = self
                .sidebar_order()
                .into_iter()
                .find(|&i| self.conversations[i].unread > 0)
                .or_else(|| self.sidebar_order().first().copied());
            if let Some(i) = first {
                let t = self.conversations[i].target.clone();
                self.open(&t, fx);
            }
        }
    }

    pub(super) fn on_history(
        &mut self,
        target: Target,
        messages: Vec<Message>,
        has_more: bool,
        kind: HistoryKind,
        fx: &mut Vec<Effect>,
    ) {
        let Some(i) = self.find(&target) else {
            return;
        };
        let c = &mut self.conversations[i];
        // A page asked for before an eviction or a jump would leave a gap in the window:
        // drop it (it is asked for again if the reader still needs it).
        let fits = match kind {
            HistoryKind::Older => {
                let guard = c.older_guard.take();
                c.loading_older = false;
                !std::mem::take(&mut c.stale_older)
                    && guard.is_none_or(|g| c.first_loaded().is_none_or(|f| f <= g))
            }
            HistoryKind::After => {
                let guard = c.newer_guard.take();
                c.loading_newer = c.jump == Some(Jump::Newest); // the newest page may still come
                !std::mem::take(&mut c.stale_newer)
                    && guard.is_none_or(|g| {
                        c.first_loaded().is_some_and(|f| f <= g) && c.last_loaded() >= g
                    })
            }
            // While the view still waits for it (not after `End` in the meantime), or while
            // the window has nothing loaded yet: a scroll before it landed only cancels the
            // positioning, never the page the window needs.
            HistoryKind::FirstUnread => c.jump == Some(Jump::FirstUnread) || !c.loaded,
            HistoryKind::Latest => true,
        };
        if !fits {
            return;
        }
        let jump = c.jump.filter(|j| match j {
            // Newer pages too, until there is enough below the marker to show it at the top.
            Jump::FirstUnread => matches!(
                kind,
                HistoryKind::Latest | HistoryKind::FirstUnread | HistoryKind::After
            ),
            Jump::Newest => kind == HistoryKind::Latest,
        });
        if jump.is_some() {
            c.jump = None;
        }
        self.change_anchored(i, |c| {
            if kind == HistoryKind::Latest && c.has_more_after {
                // The newest page after the newest end was evicted: it may not join what
                // is loaded, so it replaces it.
                c.messages.clear();
                c.has_more_before = has_more;
            }
            let empty = messages.is_empty();
            c.insert_page(messages);
            match kind {
                HistoryKind::Latest => {
                    if !c.loaded {
                        c.has_more_before = has_more;
                    }
                    c.loaded = true;
                    // A stale `after` page may still be on its way: it keeps the flag.
                    c.loading_newer = c.stale_newer;
                    c.has_more_after = !empty && c.last_seq > c.last_loaded();
                }
                HistoryKind::Older => c.has_more_before = has_more,
                HistoryKind::After | HistoryKind::FirstUnread => {
                    if kind == HistoryKind::FirstUnread {
                        c.loaded = true;
                    }
                    // Newer ones may have been announced live while this page was on its
                    // way (an empty last page settles it, whatever `last_seq` says).
                    c.has_more_after = has_more || (!empty && c.last_seq > c.last_loaded());
                }
            }
        });
        match jump {
            Some(Jump::FirstUnread) => self.show_marker_at_top(i),
            Some(Jump::Newest) => self.conversations[i].scroll = 0,
            None => {}
        }
        let me = self.me.clone();
        self.conversations[i].recount_unread(&me);
        self.check_load_older(fx);
        self.check_load_newer(fx);
    }

    pub(super) fn on_sent(
        &mut self,
        target: Target,
        nonce: u64,
        result: Result<Message, SendFailure>,
    ) {
        let Some(i) = self.find(&target) else {
            return;
        };
        match result {
            Ok(m) => {
                self.change_anchored(i, |c| {
                    c.pending.retain(|p| p.nonce != nonce);
                    c.insert_live(m)
                });
            }
            Err(SendFailure::Rejected(e) | SendFailure::NotFound(e)) => {
                let c = &mut self.conversations[i];
                let text = c
                    .pending
                    .iter()
                    .find(|p| p.nonce == nonce)
                    .map(|p| p.text.clone());
                c.pending.retain(|p| p.nonce != nonce);
                // Give the text back so it is not lost, unless something is being typed.
                if let Some(text) = text {
                    if self.input.is_empty() {
                        self.input.set_text(&text);
                    }
                }
                self.notify(format!("not sent: {e}"), true);
            }
            Err(SendFailure::Offline(e)) => {
                self.mark_unsent(i, nonce);
                self.notify_outage(format!(
                    "not sent ({e}); it will be retried when the server is back"
                ));
            }
            Err(SendFailure::NotNow(e)) => {
                self.mark_unsent(i, nonce);
                self.retry_unsent_at = Some(self.now_ms + RETRY_NOT_NOW_MS);
                self.notify(
                    format!("not sent yet ({e}); retrying in a few seconds"),
                    true,
                );
            }
        }
    }

    /// Marks a pending message unsent (shown so, sent again with its nonce later).
    fn mark_unsent(&mut self, i: usize, nonce: u64) {
        if let Some(p) = self.conversations[i]
            .pending
            .iter_mut()
            .find(|p| p.nonce == nonce)
        {
            p.failed = true;
        }
    }

    /// Sends again, on the clock, what the server could not store for now (see
    /// [`SendFailure::NotNow`]).
    pub(super) fn retry_unsent_when_due(&mut self, fx: &mut Vec<Effect>) {
        if self.retry_unsent_at.is_some_and(|at| self.now_ms >= at) {
            self.retry_unsent_at = None;
            self.retry_unsent(fx);
        }
    }

    pub(super) fn retry_unsent(&mut self, fx: &mut Vec<Effect>) {
        for c in &mut self.conversations {
            for p in c.pending.iter_mut().filter(|p| p.failed) {
                p.failed = false;
                fx.push(Effect::Send {
                    target: c.target.clone(),
                    text: p.text.clone(),
                    nonce: p.nonce,
                });
            }
        }
    }

    /// A live message: filed under its conversation, counted as unread unless it is being
    /// read right now, and announced with the bell when it mentions me.
    pub(super) fn on_incoming(&mut self, m: Message, live: bool, fx: &mut Vec<Effect>) {
        let target = m.conversation_for(&self.me);
        let i = match self.find(&target) {
            Some(i) => i,
            None if !target.is_channel() => {
                self.add_conversation(Conversation::new(target.clone()))
            }
            None => return, // a channel I have left
        };
        let mine = text::is_mine(&m, &self.me);
        let mention = !mine && text::mentions(&m.text, &self.me);
        let known_before = self.conversations[i].last_seq;
        let seq = m.seq;
        if !self.change_anchored(i, |c| c.insert_live(m)) {
            return;
        }
        let c = &mut self.conversations[i];
        if mine && seq > c.read_seq {
            // Sending moves my read marker on the server (from any of my sessions): mirror it.
            c.read_seq = seq;
            c.unread = 0;
            c.mentioned = false;
        }
        if live && !mine && seq > known_before && seq > c.read_seq {
            c.unread += 1;
            if mention {
                c.mentioned = true;
                if self.bell {
                    fx.push(Effect::Bell);
                }
            }
        }
    }
}
