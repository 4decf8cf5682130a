//! The message being written: submitting it as a message or a `/command`, Tab completion
//! of user names, and keeping the editor's cursor on screen.

use super::*;

impl App {
    pub(super) fn submit(&mut self, fx: &mut Vec<Effect>) {
        let text = self.input.take();
        if text.trim().is_empty() {
            return;
        }
        match command::parse(&text) {
            None => self.send_to_active(text, fx),
            Some(Err(e)) => self.notify(e, true),
            Some(Ok(cmd)) => self.run_command(cmd, fx),
        }
    }

    pub(super) fn run_command(&mut self, cmd: Command, fx: &mut Vec<Effect>) {
        match cmd {
            Command::Join(c) => {
                let t = Target::Channel(c.clone());
                if self.find(&t).is_some() {
                    self.open(&t, fx);
                } else {
                    fx.push(Effect::Join(c));
                }
            }
            Command::Leave(name) => {
                let target = match name {
                    Some(n) => Some(Target::Channel(n)),
                    None => self.active().map(|c| c.target.clone()),
                };
                match target {
                    Some(Target::Channel(n)) => fx.push(Effect::Leave(n)),
                    Some(t @ Target::User(_)) => self.close(&t, fx),
                    None => self.notify("nothing to leave", true),
                }
            }
            Command::Create {
                channel,
                description,
            } => fx.push(Effect::Create {
                channel,
                description,
            }),
            Command::Dm { user, text } => {
                if user.eq_ignore_ascii_case(&self.me) {
                    self.notify("that is you", true);
                    return;
                }
                let t = Target::User(user);
                if self.find(&t).is_none() {
                    self.add_conversation(Conversation::new(t.clone()));
                }
                self.open(&t, fx);
                if let Some(text) = text {
                    self.send_to_active(text, fx);
                }
            }
            Command::Channels => {
                self.popup = Some(Popup::Channels(Picker::loading()));
                fx.push(Effect::ListChannels);
            }
            Command::Users => {
                self.popup = Some(Popup::Users(Picker::loading()));
                fx.push(Effect::ListUsers);
            }
            Command::Help => self.popup = Some(Popup::Help),
            Command::Quit => self.quit(fx),
            Command::Logout => {
                fx.push(Effect::Logout);
                self.quit(fx);
            }
            Command::Say(text) => self.send_to_active(text, fx),
        }
    }

    pub(super) fn send_to_active(&mut self, text: String, fx: &mut Vec<Effect>) {
        if let Err(e) = validate::text(&text) {
            self.notify(e.to_string(), true);
            return;
        }
        let Some(i) = self.active_index() else {
            self.notify(
                "open a conversation first: /join #channel or /dm @user",
                true,
            );
            return;
        };
        let nonce = self.next_nonce;
        self.next_nonce = self.next_nonce.wrapping_add(1).max(1);
        self.show_newest(i, fx);
        let c = &mut self.conversations[i];
        c.pending.push(Pending {
            nonce,
            text: text.clone(),
            failed: !self.connected,
        });
        if self.connected {
            fx.push(Effect::Send {
                target: c.target.clone(),
                text,
                nonce,
            });
        } else {
            self.notify(
                "offline: the message will be sent when the server is back",
                true,
            );
        }
    }

    /// Scrolls the editor so its cursor's row is shown (after every update: a key, a paste,
    /// a resize).
    pub(super) fn keep_input_cursor_visible(&mut self) {
        let areas = self.layout(self.screen_rect());
        let visible = usize::from(areas.input.height.saturating_sub(1));
        self.input.keep_visible(self.editor_width(), visible);
    }

    /// User names worth completing: DM peers and the authors of the open conversation.
    pub(super) fn known_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .conversations
            .iter()
            .filter_map(|c| match &c.target {
                Target::User(n) => Some(n.clone()),
                Target::Channel(_) => None,
            })
            .collect();
        if let Some(i) = self.active_index() {
            names.extend(
                self.conversations[i]
                    .messages
                    .iter()
                    .map(|m| m.from.clone()),
            );
        }
        names.retain(|n| !n.eq_ignore_ascii_case(&self.me));
        names.sort_unstable_by_key(|n| n.to_lowercase());
        names.dedup_by_key(|n| n.to_lowercase());
        names
    }
}
