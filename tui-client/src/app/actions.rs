//! `App::update`: every action, dispatched to the part of the state it concerns.

use super::*;

impl App {
    /// Applies an action; returns the work the loop must do.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut fx = Vec::new();
        match action {
            Action::Key(key) => {
                if key.kind == KeyEventKind::Press {
                    self.on_key(key, &mut fx);
                }
            }
            Action::Paste(text) => match &mut self.screen {
                Screen::Login(form) => form.paste(&text),
                Screen::Chat => match self.popup.as_mut().and_then(Popup::picker_mut) {
                    Some(p) => text
                        .chars()
                        .filter(|c| !c.is_control())
                        .for_each(|c| p.push(c)),
                    None => self.input.paste(&text),
                },
            },
            Action::Mouse(m) => self.on_mouse(m, &mut fx),
            Action::Resize(w, h) => self.size = (w, h),
            Action::Tick(now) => {
                self.now_ms = now;
                if self.notice.as_ref().is_some_and(|n| now - n.at > NOTICE_MS) {
                    self.notice = None;
                }
                if matches!(self.screen, Screen::Chat)
                    && !self.bootstrapped
                    && !self.bootstrap_in_flight
                    && now - self.last_bootstrap_try > 5_000
                {
                    self.start_bootstrap(&mut fx);
                }
            }
            Action::SignedIn { user } => {
                self.me = user;
                self.screen = Screen::Chat;
                // Not "online" yet: the heartbeat says so once the server answers (a saved
                // session is signed in without asking the server).
                self.loaded = false;
                self.start_bootstrap(&mut fx);
            }
            Action::SignInFailed(e) => {
                if let Screen::Login(form) = &mut self.screen {
                    form.busy = false;
                    form.info = None;
                    form.error = Some(e);
                }
            }
            Action::SessionRejected(e) => {
                let mut form = LoginForm::new(&self.broker, &self.proxy, &self.me);
                form.error = Some(e);
                self.screen = Screen::Login(Box::new(form));
                self.conversations.clear();
                self.selected = None;
                self.watched.clear();
                self.bootstrapped = false;
                self.loaded = false;
                self.bootstrap_in_flight = false;
            }
            Action::Bootstrap { channels, dms } => self.on_bootstrap(channels, dms, &mut fx),
            Action::BootstrapFailed(e) => {
                self.bootstrap_in_flight = false;
                // A late failure of an attempt overtaken by a successful one says nothing.
                if !self.bootstrapped {
                    self.notify_outage(format!("could not load conversations: {e}"));
                }
                self.bootstrap_after_failure(&mut fx);
            }
            Action::History {
                target,
                messages,
                has_more,
                kind,
            } => self.on_history(target, messages, has_more, kind, &mut fx),
            Action::HistoryFailed { target, error } => {
                if let Some(i) = self.find(&target) {
                    self.conversations[i].loading_older = false;
                }
                self.notify(format!("history of {target}: {error}"), true);
            }
            Action::Sent {
                target,
                nonce,
                result,
            } => self.on_sent(target, nonce, result),
            Action::Channels(list) => {
                if let Some(Popup::Channels(p)) = &mut self.popup {
                    *p = Picker::new(popup::channel_items(&list));
                }
            }
            Action::Users(list) => {
                if let Some(Popup::Users(p)) = &mut self.popup {
                    *p = Picker::new(popup::user_items(&list, &self.me));
                }
            }
            Action::Joined(info) => {
                let target = Target::Channel(info.name.clone());
                self.upsert_channel(&info, &mut fx);
                self.open(&target, &mut fx);
            }
            Action::Left(name) => {
                let target = Target::Channel(name);
                self.close(&target, &mut fx);
                self.notify(format!("left {target}"), false);
            }
            Action::Feed(FeedEvent::Message(m)) => self.on_incoming(m, true, &mut fx),
            Action::Feed(FeedEvent::ReadMarker { target, seq }) => {
                if let Some(i) = self.find(&target) {
                    let me = self.me.clone();
                    let c = &mut self.conversations[i];
                    if seq > c.read_seq {
                        c.read_seq = seq;
                        c.last_seq = c.last_seq.max(seq);
                        c.recount_unread(&me);
                    }
                }
            }
            Action::Feed(FeedEvent::Connection { connected, rtt }) => {
                let back = connected && !self.connected;
                self.connected = connected;
                if rtt.is_some() || !connected {
                    self.rtt = rtt;
                }
                if back {
                    self.clear_outage_notice();
                }
                if back && matches!(self.screen, Screen::Chat) {
                    // Back from an outage: refresh counts, backfill what was missed and
                    // retry what could not be sent. Sequence numbers make all of it
                    // idempotent.
                    self.bootstrap_on_recovery(&mut fx);
                    self.retry_unsent(&mut fx);
                }
                if !connected {
                    self.bootstrapped = false;
                }
            }
            Action::Failed(e) => self.notify(e, true),
            Action::Info(text) => self.notify(text, false),
        }
        self.maybe_mark_read(&mut fx);
        fx
    }
}
