//! `App::update`: every action, dispatched to the part of the state it concerns.

use super::*;

impl App {
    /// Applies an action; returns the work the loop must do.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let mut fx = Vec::new();
        // A tick changes the screen only when it expires the notice; everything else may.
        if !matches!(action, Action::Tick(_)) {
            self.redraw = true;
        }
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
            Action::Resize(w, h) => {
                self.resize(w, h);
                self.scroll_help(0); // keep the help's scroll within its new length
            }
            Action::Tick(now) => {
                self.now_ms = now;
                self.retry_unsent_when_due(&mut fx);
                if self.notice.as_ref().is_some_and(|n| now - n.at > NOTICE_MS) {
                    self.notice = None;
                    self.redraw = true;
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
                let mut form = self.login_form();
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
                // Said only when no fresh attempt starts at once (the server being back).
                if !self.bootstrap_after_failure(&mut fx) {
                    self.notify_outage(format!("could not load conversations: {e}"));
                }
            }
            Action::History {
                target,
                messages,
                has_more,
                kind,
            } => self.on_history(target, messages, has_more, kind, &mut fx),
            Action::HistoryFailed {
                target,
                error,
                not_found,
            } => {
                if let Some(i) = self.find(&target) {
                    let c = &mut self.conversations[i];
                    c.loading_older = false;
                    c.loading_newer = false;
                    c.jump = None;
                }
                if not_found && self.drop_ghost_dm(&target, &mut fx) {
                    self.notify(error, true);
                } else if not_found && self.find(&target).is_none() {
                    // Already removed (a refused first message): said once is enough.
                } else {
                    self.notify(format!("could not load {target}: {error}"), true);
                }
            }
            Action::Sent {
                target,
                nonce,
                result,
            } => {
                // A message to someone who does not exist: refused like any other, and the
                // DM conversation it opened goes away with it (no ghost in the sidebar).
                let missing = matches!(result, Err(SendFailure::NotFound(_)));
                let text = self.find(&target).and_then(|i| {
                    let c = &self.conversations[i];
                    c.pending
                        .iter()
                        .find(|p| p.nonce == nonce)
                        .map(|p| p.text.clone())
                });
                self.on_sent(target.clone(), nonce, result);
                if missing && self.drop_ghost_dm(&target, &mut fx) {
                    // The text came back into the input: make it the command again, so
                    // fixing the name and pressing Enter sends it where it was meant to go.
                    if let Some(text) = text.filter(|t| self.input.text() == *t) {
                        self.input.set_text(&format!("/dm {target} {text}"));
                    }
                }
            }
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
                if self.bootstrap_in_flight {
                    self.changed_during_bootstrap.insert(target.key());
                }
                self.upsert_channel(&info, &mut fx);
                self.open(&target, &mut fx);
            }
            Action::Left(name) => {
                let target = Target::Channel(name);
                if self.bootstrap_in_flight {
                    self.changed_during_bootstrap.insert(target.key());
                }
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
            Action::Feed(FeedEvent::HandshakeFailed(reason)) => {
                self.handshake_error = Some(reason.clone());
                self.notify_outage(reason);
            }
            Action::Feed(FeedEvent::Connection { connected, rtt }) => {
                let back = connected && !self.connected;
                self.connected = connected;
                if connected {
                    self.handshake_error = None;
                }
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
        self.keep_input_cursor_visible();
        self.refresh_title(&mut fx);
        fx
    }
}
