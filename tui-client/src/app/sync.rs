//! Keeping conversations in step with the server: bootstrap, history pages, send
//! outcomes, live messages, and re-sending what is unsent.

use super::*;

impl App {
    pub(super) fn start_bootstrap(&mut self, fx: &mut Vec<Effect>) {
        self.bootstrap_in_flight = true;
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
        // Channels left elsewhere disappear.
        let joined: HashSet<String> = channels.iter().map(|c| format!("#{}", c.name)).collect();
        let gone: Vec<Target> = self
            .conversations
            .iter()
            .filter(|c| c.target.is_channel() && !joined.contains(&c.target.key()))
            .map(|c| c.target.clone())
            .collect();
        for t in gone {
            self.close(&t, fx);
        }
        for info in &channels {
            self.upsert_channel(info, fx);
        }
        for dm in &dms {
            self.upsert_dm(dm);
        }
        // Catch up every loaded conversation that has news (after an outage).
        for c in &self.conversations {
            if c.loaded && c.last_seq > c.last_loaded() {
                fx.push(Effect::LoadHistory {
                    target: c.target.clone(),
                    kind: HistoryKind::After,
                    before: None,
                    after: Some(c.last_loaded()),
                });
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
        let newest = messages.last().map(|m| m.seq);
        for m in messages {
            self.insert_anchored(i, m);
        }
        let c = &mut self.conversations[i];
        match kind {
            HistoryKind::Latest => {
                if !c.loaded {
                    c.has_more_before = has_more;
                }
                c.loaded = true;
            }
            HistoryKind::Older => {
                c.has_more_before = has_more;
                c.loading_older = false;
            }
            HistoryKind::After => {
                if has_more {
                    if let Some(after) = newest {
                        fx.push(Effect::LoadHistory {
                            target: c.target.clone(),
                            kind: HistoryKind::After,
                            before: None,
                            after: Some(after),
                        });
                    }
                }
            }
        }
        let me = self.me.clone();
        self.conversations[i].recount_unread(&me);
        self.check_load_older(fx);
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
                self.conversations[i].pending.retain(|p| p.nonce != nonce);
                self.insert_anchored(i, m);
            }
            Err(SendFailure::Rejected(e)) => {
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
                if let Some(p) = self.conversations[i]
                    .pending
                    .iter_mut()
                    .find(|p| p.nonce == nonce)
                {
                    p.failed = true;
                }
                self.notify_outage(format!(
                    "not sent ({e}); it will be retried when the server is back"
                ));
            }
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
        if !self.insert_anchored(i, m) {
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

    /// Inserts a message, keeping the view still when the reader has scrolled up.
    pub(super) fn insert_anchored(&mut self, i: usize, m: Message) -> bool {
        let scrolled = self.conversations[i].scroll > 0;
        let appended = m.seq > self.conversations[i].last_loaded();
        if !(scrolled && appended) {
            return self.conversations[i].insert(m);
        }
        let width = self.feed_size().0;
        let before = row_count(
            &self.conversations[i].feed_text(),
            &self.me,
            width,
            self.offset_secs,
        );
        let inserted = self.conversations[i].insert(m);
        let after = row_count(
            &self.conversations[i].feed_text(),
            &self.me,
            width,
            self.offset_secs,
        );
        self.conversations[i].scroll += after.saturating_sub(before);
        inserted
    }
}
