//! Keys and the mouse: what each press or click does, in the chat and in popups.

use super::*;

/// Rows Alt+PgUp / Alt+PgDn scroll the sidebar by.
const SIDEBAR_PAGE: isize = 10;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if ctrl && key.code == KeyCode::Char('q') {
            self.quit(fx);
            return;
        }
        if let Screen::Login(form) = &mut self.screen {
            if ctrl && key.code == KeyCode::Char('c') || key.code == KeyCode::Esc {
                self.quit(fx);
                return;
            }
            if form.key(key) == FormOutcome::Submit {
                form.busy = true;
                form.info = Some(match form.mode {
                    Mode::Login => "signing in…".to_string(),
                    Mode::Register => "creating account…".to_string(),
                });
                self.broker = form.value(login::Field::Broker).trim().to_string();
                self.proxy = form.value(login::Field::Proxy).trim().to_string();
                self.server_key = form.value(login::Field::ServerKey).trim().to_string();
                let server_key = form.server_key();
                fx.push(Effect::SignIn {
                    register: form.mode == Mode::Register,
                    user: form.value(login::Field::User),
                    password: form.value(login::Field::Password),
                    broker: self.broker.clone(),
                    proxy: self.proxy.clone(),
                    server_key,
                });
            }
            return;
        }
        if self.popup.is_some() {
            self.on_popup_key(key, fx);
            return;
        }
        match key.code {
            KeyCode::Char('c') if ctrl => {
                if self.input.is_empty() {
                    self.quit(fx);
                } else {
                    self.input.clear();
                }
            }
            // Help is F1 or /help; `?` is an ordinary character (a message may start with it).
            KeyCode::F(1) => self.popup = Some(Popup::Help),
            KeyCode::Char('a') if alt && !ctrl => self.next_unread(fx),
            KeyCode::PageUp if alt => self.scroll_sidebar(-SIDEBAR_PAGE),
            KeyCode::PageDown if alt => self.scroll_sidebar(SIDEBAR_PAGE),
            KeyCode::Char('n') if ctrl => self.step_conversation(1, fx),
            KeyCode::Char('p') if ctrl => self.step_conversation(-1, fx),
            KeyCode::Down if alt => self.step_conversation(1, fx),
            KeyCode::Up if alt => self.step_conversation(-1, fx),
            KeyCode::Char(c @ '1'..='9') if alt => {
                let n = (c as usize) - ('1' as usize);
                if let Some(t) = self
                    .sidebar_order()
                    .get(n)
                    .map(|&i| self.conversations[i].target.clone())
                {
                    self.open(&t, fx);
                }
            }
            KeyCode::Char('k') if ctrl => self.open_switcher(),
            KeyCode::Char('l') if ctrl => fx.push(Effect::Repaint),
            KeyCode::PageUp => {
                let page = self.feed_size().1.saturating_sub(2).max(1);
                self.scroll_by(page as isize, fx);
            }
            KeyCode::PageDown => {
                let page = self.feed_size().1.saturating_sub(2).max(1);
                self.scroll_by(-(page as isize), fx);
            }
            // Home/End move the cursor while something is typed; Ctrl+Home/End always scroll.
            KeyCode::End if ctrl || self.input.is_empty() => self.jump_to_newest(fx),
            KeyCode::Home if ctrl || self.input.is_empty() => self.jump_to_oldest(fx),
            KeyCode::Char('u') if alt => self.jump_to_first_unread(fx),
            KeyCode::Esc => {
                if self
                    .active()
                    .is_some_and(|c| c.scroll > 0 || c.has_more_after)
                {
                    self.jump_to_newest(fx);
                }
                self.notice = None;
            }
            // Shift+Enter only where the terminal reports it (kitty keyboard protocol);
            // Alt+Enter and Ctrl+J work in every terminal, tmux included.
            KeyCode::Enter if alt || key.modifiers.contains(KeyModifiers::SHIFT) => {
                self.input.newline();
            }
            KeyCode::Char('j') if ctrl => self.input.newline(),
            KeyCode::Enter => self.submit(fx),
            KeyCode::Up if !ctrl => self.input.up(self.editor_width()),
            KeyCode::Down if !ctrl => self.input.down(self.editor_width()),
            KeyCode::Tab => {
                let names = self.known_names();
                self.input.complete(&names);
            }
            _ => self.input.key(key),
        }
    }

    pub(super) fn on_popup_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(popup) = self.popup.as_mut() else {
            return;
        };
        if key.code == KeyCode::Esc || (ctrl && key.code == KeyCode::Char('c')) {
            self.popup = None;
            self.help_scroll = 0;
            return;
        }
        let picker = match popup {
            Popup::Help => {
                self.help_key(key);
                return;
            }
            Popup::Channels(p) | Popup::Users(p) | Popup::Switcher(p) => p,
        };
        match key.code {
            KeyCode::Up => picker.step(-1),
            KeyCode::Down | KeyCode::Tab => picker.step(1),
            KeyCode::Char('p') if ctrl => picker.step(-1),
            KeyCode::Char('n') if ctrl => picker.step(1),
            KeyCode::Char('k') if ctrl => picker.step(-1),
            KeyCode::Char('j') if ctrl => picker.step(1),
            KeyCode::Backspace => picker.pop(),
            KeyCode::Char(c) if !ctrl => picker.push(c),
            KeyCode::Enter => {
                let chosen = picker.current().cloned();
                let kind = std::mem::discriminant(popup);
                self.popup = None;
                if let Some(item) = chosen {
                    self.choose(kind, item, fx);
                }
            }
            _ => {}
        }
    }

    pub(super) fn choose(
        &mut self,
        kind: std::mem::Discriminant<Popup>,
        item: PickItem,
        fx: &mut Vec<Effect>,
    ) {
        let is_channels = kind == std::mem::discriminant(&Popup::Channels(Picker::default()));
        match &item.target {
            Target::Channel(name) if is_channels && self.find(&item.target).is_none() => {
                fx.push(Effect::Join(name.clone()));
            }
            Target::User(_) if self.find(&item.target).is_none() => {
                self.add_conversation(Conversation::new(item.target.clone()));
                self.open(&item.target, fx);
            }
            _ => self.open(&item.target, fx),
        }
    }

    /// Help popup keys: ↑/↓ (k/j), PgUp/PgDn, Home/End scroll it; any other key closes it.
    fn help_key(&mut self, key: KeyEvent) {
        let page = self.help_page() as isize;
        let delta = match key.code {
            KeyCode::Up | KeyCode::Char('k') => -1,
            KeyCode::Down | KeyCode::Char('j') => 1,
            KeyCode::PageUp => -page.max(1),
            KeyCode::PageDown | KeyCode::Char(' ') => page.max(1),
            KeyCode::Home => isize::MIN / 2,
            KeyCode::End => isize::MAX / 2,
            _ => {
                self.popup = None;
                self.help_scroll = 0;
                return;
            }
        };
        self.scroll_help(delta);
    }

    /// Scrolls the help popup, within its length at the current size.
    pub(super) fn scroll_help(&mut self, delta: isize) {
        let max = self.help_len().saturating_sub(self.help_page());
        self.help_scroll = (self.help_scroll as isize)
            .saturating_add(delta)
            .clamp(0, max as isize) as usize;
    }

    /// Lines of the help at the current size.
    fn help_len(&self) -> usize {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        crate::layout::help::lines(&help::groups(), crate::layout::help::inner_width(area)).len()
    }

    /// Lines of the help shown at once at the current size.
    fn help_page(&self) -> usize {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        let r = crate::layout::help::popup_rect(area, self.help_len());
        usize::from(r.height.saturating_sub(2))
    }

    pub(super) fn open_switcher(&mut self) {
        let items = self
            .switcher_order()
            .into_iter()
            .map(|i| {
                let c = &self.conversations[i];
                let mut detail = match c.unread {
                    0 => String::new(),
                    n => format!("{n} unread"),
                };
                if c.unread > 0 && c.mentioned {
                    detail.push_str(" · mentions you");
                }
                PickItem {
                    target: c.target.clone(),
                    label: c.label(),
                    detail,
                }
            })
            .collect();
        self.popup = Some(Popup::Switcher(Picker::new(items)));
    }

    pub(super) fn quit(&mut self, fx: &mut Vec<Effect>) {
        self.quit = true;
        fx.push(Effect::Quit);
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent, fx: &mut Vec<Effect>) {
        if !matches!(self.screen, Screen::Chat) {
            return;
        }
        if matches!(self.popup, Some(Popup::Help)) {
            match m.kind {
                MouseEventKind::ScrollUp => self.scroll_help(-3),
                MouseEventKind::ScrollDown => self.scroll_help(3),
                _ => {}
            }
            return;
        }
        if self.popup.is_some() {
            return;
        }
        let areas = self.layout(ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1));
        let inside = |r: ratatui::layout::Rect| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        };
        // The wheel scrolls what is under the pointer.
        match m.kind {
            MouseEventKind::ScrollUp if inside(areas.sidebar) => self.scroll_sidebar(-3),
            MouseEventKind::ScrollDown if inside(areas.sidebar) => self.scroll_sidebar(3),
            MouseEventKind::ScrollUp => self.scroll_by(3, fx),
            MouseEventKind::ScrollDown => self.scroll_by(-3, fx),
            MouseEventKind::Down(MouseButton::Left) if inside(areas.sidebar) => {
                let row = usize::from(m.row - areas.sidebar.y);
                let view = self.sidebar_view(usize::from(areas.sidebar.height));
                match view.get(row) {
                    Some(SidebarRow::Conv(i)) => {
                        let t = self.conversations[*i].target.clone();
                        self.open(&t, fx);
                    }
                    Some(SidebarRow::UnreadAbove(_)) => self.sidebar_scroll = Some(0),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}
