//! The full-screen client's state and its `update` function: no I/O, no terminal.
//!
//! The shape is the Elm architecture: the event loop (`crate::tui`) turns key presses,
//! mouse events, network replies and feed events into [`Action`]s, calls
//! [`App::update`], performs the [`Effect`]s it returns (network calls run as tasks whose
//! results come back as actions), and draws the [`App`] (`crate::ui`). Tests drive `update`
//! directly and read the state, or render it into a `TestBackend`.

pub mod command;
pub mod conversation;
pub mod input;
pub mod login;
pub mod popup;

use std::collections::HashSet;
use std::time::Duration;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use zchat_client::feed::FeedEvent;
use zchat_protocol::{validate, ChannelInfo, DmSummary, Message, Target, UserInfo};

use crate::layout::feed::row_count;
use crate::layout::text;
use command::Command;
pub use conversation::{Conversation, Pending};
use input::InputLine;
use login::{FormOutcome, LoginForm, Mode};
use popup::{PickItem, Picker, Popup};

/// Page size asked for when opening a conversation and when scrolling back.
pub const HISTORY_PAGE: u32 = 50;
/// How long a notice stays in the status line.
const NOTICE_MS: i64 = 8_000;

/// Which screen is shown.
#[derive(Debug, Clone)]
pub enum Screen {
    /// Sign in / register.
    Login(Box<LoginForm>),
    /// Signed in.
    Chat,
}

/// A one-line message in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Shown in red.
    pub error: bool,
    /// When it was posted (ms), to expire it.
    pub at: i64,
}

/// Which page of history a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    /// The newest page, when a conversation is first opened.
    Latest,
    /// A page before the oldest loaded message (scrolling up).
    Older,
    /// Messages after the newest loaded one (catching up after a reconnect).
    After,
}

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Action {
    /// A key press (releases and repeats are filtered out by the loop or ignored here).
    Key(KeyEvent),
    /// Bracketed paste.
    Paste(String),
    /// Mouse click or wheel.
    Mouse(MouseEvent),
    /// The terminal's new size.
    Resize(u16, u16),
    /// Clock tick (ms since the epoch).
    Tick(i64),
    /// Signed in (by the form, or with a saved session) as this user.
    SignedIn {
        /// Canonical user name.
        user: String,
    },
    /// Sign-in failed; shown on the form.
    SignInFailed(String),
    /// The saved session was refused by the server: back to the form.
    SessionRejected(String),
    /// Joined channels and DM conversations, from `whoami` + `list_dms`.
    Bootstrap {
        /// Joined channels.
        channels: Vec<ChannelInfo>,
        /// DM conversations.
        dms: Vec<DmSummary>,
    },
    /// Bootstrap failed (retried on reconnect or after a while).
    BootstrapFailed(String),
    /// A page of history.
    History {
        /// The conversation.
        target: Target,
        /// Messages, oldest first.
        messages: Vec<Message>,
        /// More exist in the direction asked.
        has_more: bool,
        /// Which page.
        kind: HistoryKind,
    },
    /// A history request failed.
    HistoryFailed {
        /// The conversation.
        target: Target,
        /// Why.
        error: String,
    },
    /// The answer to a `send`.
    Sent {
        /// Where it went.
        target: Target,
        /// The pending message's nonce.
        nonce: u64,
        /// The stored message, or why it failed.
        result: Result<Message, SendFailure>,
    },
    /// All channels (for the browser).
    Channels(Vec<ChannelInfo>),
    /// All users (for the picker).
    Users(Vec<UserInfo>),
    /// Joined or created a channel.
    Joined(ChannelInfo),
    /// Left a channel.
    Left(String),
    /// Something from the live feed (a message, a read marker, the connection state),
    /// straight from the loop's `select!`.
    Feed(FeedEvent),
    /// A request failed: shown in the status line.
    Failed(String),
}

/// Why a `send` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// No answer: kept, marked unsent, and sent again (same nonce) on reconnect.
    Offline(String),
    /// The server refused it (no such user, not a member…): dropped, with the reason shown.
    Rejected(String),
}

/// Work for the event loop: network calls and terminal side effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Log in (after registering, when `register`).
    SignIn {
        /// Register first.
        register: bool,
        /// User name.
        user: String,
        /// Password.
        password: String,
        /// Broker endpoint.
        broker: String,
        /// Proxy endpoint.
        proxy: String,
    },
    /// Fetch joined channels and DMs → [`Action::Bootstrap`].
    Bootstrap,
    /// Fetch history → [`Action::History`].
    LoadHistory {
        /// The conversation.
        target: Target,
        /// Which page.
        kind: HistoryKind,
        /// `before` for older pages.
        before: Option<u64>,
        /// `after` for catching up.
        after: Option<u64>,
    },
    /// Send a message → [`Action::Sent`].
    Send {
        /// Where.
        target: Target,
        /// What.
        text: String,
        /// Idempotency key.
        nonce: u64,
    },
    /// Persist the read marker.
    MarkRead {
        /// The conversation.
        target: Target,
        /// The marker.
        seq: u64,
    },
    /// Join a channel → [`Action::Joined`].
    Join(String),
    /// Leave a channel → [`Action::Left`].
    Leave(String),
    /// Create a channel → [`Action::Joined`].
    Create {
        /// Name.
        channel: String,
        /// Description.
        description: String,
    },
    /// List channels → [`Action::Channels`].
    ListChannels,
    /// List users → [`Action::Users`].
    ListUsers,
    /// Follow a channel live, delivering messages after `last_seen`.
    Watch {
        /// The channel.
        target: Target,
        /// Newest seq already known.
        last_seen: u64,
    },
    /// Stop following a channel.
    Unwatch(Target),
    /// Ring the terminal bell.
    Bell,
    /// Forget the saved session.
    Logout,
    /// Leave the program.
    Quit,
}

/// The whole client state.
#[derive(Debug, Clone)]
pub struct App {
    /// Which screen.
    pub screen: Screen,
    /// Me (empty until signed in).
    pub me: String,
    /// Broker endpoint shown in the status bar and the form.
    pub broker: String,
    /// Proxy endpoint.
    pub proxy: String,
    /// Channels (sorted by name) then DMs (sorted by name).
    pub conversations: Vec<Conversation>,
    /// Key of the open conversation.
    pub selected: Option<String>,
    /// The message editor.
    pub input: InputLine,
    /// The open popup.
    pub popup: Option<Popup>,
    /// Whether the server answers.
    pub connected: bool,
    /// Last round-trip time.
    pub rtt: Option<Duration>,
    /// The status-line notice.
    pub notice: Option<Notice>,
    /// Ring the bell on mentions.
    pub bell: bool,
    /// Local time zone offset in seconds (injected so tests are stable).
    pub offset_secs: i32,
    /// The clock, from ticks.
    pub now_ms: i64,
    /// Terminal size.
    pub size: (u16, u16),
    /// Set when the loop should exit.
    pub quit: bool,
    /// Whether joined channels and DMs have been fetched since the last (re)connect.
    pub bootstrapped: bool,
    bootstrap_in_flight: bool,
    last_bootstrap_try: i64,
    watched: HashSet<String>,
    next_nonce: u64,
}

impl App {
    /// A signed-out app showing the login form.
    pub fn new(broker: &str, proxy: &str, user: &str) -> Self {
        App {
            screen: Screen::Login(Box::new(LoginForm::new(broker, proxy, user))),
            me: String::new(),
            broker: broker.to_string(),
            proxy: proxy.to_string(),
            conversations: Vec::new(),
            selected: None,
            input: InputLine::new(),
            popup: None,
            connected: false,
            rtt: None,
            notice: None,
            bell: true,
            offset_secs: 0,
            now_ms: 0,
            size: (80, 24),
            quit: false,
            bootstrapped: false,
            bootstrap_in_flight: false,
            last_bootstrap_try: 0,
            watched: HashSet::new(),
            next_nonce: 1,
        }
    }

    /// Seeds the nonce counter (the loop uses a random start so that nonces of two runs
    /// never collide on the server).
    pub fn seed_nonces(&mut self, start: u64) {
        self.next_nonce = start.max(1);
    }

    /// The open conversation.
    pub fn active(&self) -> Option<&Conversation> {
        let key = self.selected.as_ref()?;
        self.conversations.iter().find(|c| &c.target.key() == key)
    }

    fn active_index(&self) -> Option<usize> {
        let key = self.selected.as_ref()?;
        self.conversations
            .iter()
            .position(|c| &c.target.key() == key)
    }

    /// Index of a conversation by target.
    pub fn find(&self, target: &Target) -> Option<usize> {
        let key = target.key();
        self.conversations
            .iter()
            .position(|c| c.target.key() == key)
    }

    /// Total unread over every conversation.
    pub fn total_unread(&self) -> u64 {
        self.conversations.iter().map(|c| c.unread).sum()
    }

    fn notify(&mut self, text: impl Into<String>, error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            error,
            at: self.now_ms,
        });
    }

    /// Width and height of the feed pane at the current size.
    pub fn feed_size(&self) -> (usize, usize) {
        let areas = crate::layout::screen::areas(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.input.line_count(),
        );
        (areas.feed.width as usize, areas.feed.height as usize)
    }

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
                self.connected = true;
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
                self.bootstrap_in_flight = false;
            }
            Action::Bootstrap { channels, dms } => self.on_bootstrap(channels, dms, &mut fx),
            Action::BootstrapFailed(e) => {
                self.bootstrap_in_flight = false;
                self.notify(format!("could not load conversations: {e}"), true);
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
                if back && matches!(self.screen, Screen::Chat) {
                    // Back from an outage: refresh counts, backfill what was missed and
                    // retry what could not be sent. Sequence numbers make all of it
                    // idempotent.
                    self.start_bootstrap(&mut fx);
                    self.retry_unsent(&mut fx);
                }
                if !connected {
                    self.bootstrapped = false;
                }
            }
            Action::Failed(e) => self.notify(e, true),
        }
        self.maybe_mark_read(&mut fx);
        fx
    }

    // ----- keys -------------------------------------------------------------------------

    fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
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
                fx.push(Effect::SignIn {
                    register: form.mode == Mode::Register,
                    user: form.value(login::Field::User),
                    password: form.value(login::Field::Password),
                    broker: self.broker.clone(),
                    proxy: self.proxy.clone(),
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
            KeyCode::F(1) => self.popup = Some(Popup::Help),
            KeyCode::Char('?') if self.input.is_empty() && !ctrl && !alt => {
                self.popup = Some(Popup::Help)
            }
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
            KeyCode::Char('l') if ctrl => {} // the loop redraws anyway
            KeyCode::PageUp => {
                let page = self.feed_size().1.saturating_sub(2).max(1);
                self.scroll_by(page as isize, fx);
            }
            KeyCode::PageDown => {
                let page = self.feed_size().1.saturating_sub(2).max(1);
                self.scroll_by(-(page as isize), fx);
            }
            KeyCode::End if ctrl => self.scroll_by(isize::MIN / 2, fx),
            KeyCode::Home if ctrl => self.scroll_by(isize::MAX / 2, fx),
            KeyCode::Esc => {
                if self.active().is_some_and(|c| c.scroll > 0) {
                    self.scroll_by(isize::MIN / 2, fx);
                }
                self.notice = None;
            }
            KeyCode::Enter if alt || key.modifiers.contains(KeyModifiers::SHIFT) => {
                self.input.newline()
            }
            KeyCode::Enter => self.submit(fx),
            KeyCode::Up if !ctrl => self.input.up(),
            KeyCode::Down if !ctrl => self.input.down(),
            KeyCode::Tab => {
                let names = self.known_names();
                self.input.complete(&names);
            }
            _ => self.input.key(key),
        }
    }

    fn on_popup_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(popup) = self.popup.as_mut() else {
            return;
        };
        if key.code == KeyCode::Esc || (ctrl && key.code == KeyCode::Char('c')) {
            self.popup = None;
            return;
        }
        let picker = match popup {
            Popup::Help => {
                // Any key closes the help.
                self.popup = None;
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

    fn choose(
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

    fn open_switcher(&mut self) {
        let items = self
            .sidebar_order()
            .into_iter()
            .map(|i| {
                let c = &self.conversations[i];
                PickItem {
                    target: c.target.clone(),
                    label: c.label(),
                    detail: if c.unread > 0 {
                        format!("{} unread", c.unread)
                    } else {
                        String::new()
                    },
                }
            })
            .collect();
        self.popup = Some(Popup::Switcher(Picker::new(items)));
    }

    fn quit(&mut self, fx: &mut Vec<Effect>) {
        self.quit = true;
        fx.push(Effect::Quit);
    }

    // ----- mouse ------------------------------------------------------------------------

    fn on_mouse(&mut self, m: MouseEvent, fx: &mut Vec<Effect>) {
        if !matches!(self.screen, Screen::Chat) || self.popup.is_some() {
            return;
        }
        let areas = crate::layout::screen::areas(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.input.line_count(),
        );
        let inside = |r: ratatui::layout::Rect| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        };
        match m.kind {
            MouseEventKind::ScrollUp => self.scroll_by(3, fx),
            MouseEventKind::ScrollDown => self.scroll_by(-3, fx),
            MouseEventKind::Down(MouseButton::Left) if inside(areas.sidebar) => {
                let row = usize::from(m.row - areas.sidebar.y);
                let first = self.sidebar_first_row(usize::from(areas.sidebar.height));
                if let Some(SidebarRow::Conv(i)) = self.sidebar_rows().get(first + row) {
                    let t = self.conversations[*i].target.clone();
                    self.open(&t, fx);
                }
            }
            _ => {}
        }
    }

    // ----- conversations ----------------------------------------------------------------

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

    fn step_conversation(&mut self, delta: isize, fx: &mut Vec<Effect>) {
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

    fn add_conversation(&mut self, c: Conversation) -> usize {
        self.conversations.push(c);
        self.conversations.len() - 1
    }

    /// Opens a conversation: selects it, places the "new" line, loads history if needed.
    fn open(&mut self, target: &Target, fx: &mut Vec<Effect>) {
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

    fn close(&mut self, target: &Target, fx: &mut Vec<Effect>) {
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

    fn upsert_channel(&mut self, info: &ChannelInfo, fx: &mut Vec<Effect>) {
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

    fn upsert_dm(&mut self, dm: &DmSummary) {
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

    fn start_bootstrap(&mut self, fx: &mut Vec<Effect>) {
        self.bootstrap_in_flight = true;
        self.last_bootstrap_try = self.now_ms;
        fx.push(Effect::Bootstrap);
    }

    fn on_bootstrap(
        &mut self,
        channels: Vec<ChannelInfo>,
        dms: Vec<DmSummary>,
        fx: &mut Vec<Effect>,
    ) {
        self.bootstrap_in_flight = false;
        self.bootstrapped = true;
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

    fn on_history(
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

    fn on_sent(&mut self, target: Target, nonce: u64, result: Result<Message, SendFailure>) {
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
                self.notify(
                    format!("not sent ({e}); it will be retried when the server is back"),
                    true,
                );
            }
        }
    }

    fn retry_unsent(&mut self, fx: &mut Vec<Effect>) {
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
    fn on_incoming(&mut self, m: Message, live: bool, fx: &mut Vec<Effect>) {
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

    /// User names worth completing: DM peers and the authors of the open conversation.
    fn known_names(&self) -> Vec<String> {
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

    /// Inserts a message, keeping the view still when the reader has scrolled up.
    fn insert_anchored(&mut self, i: usize, m: Message) -> bool {
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

    // ----- scrolling --------------------------------------------------------------------

    /// Scrolls the open feed by `delta` rows (positive: up, towards older messages).
    fn scroll_by(&mut self, delta: isize, fx: &mut Vec<Effect>) {
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
    fn check_load_older(&mut self, fx: &mut Vec<Effect>) {
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
    fn maybe_mark_read(&mut self, fx: &mut Vec<Effect>) {
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

    // ----- input ------------------------------------------------------------------------

    fn submit(&mut self, fx: &mut Vec<Effect>) {
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

    fn run_command(&mut self, cmd: Command, fx: &mut Vec<Effect>) {
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

    fn send_to_active(&mut self, text: String, fx: &mut Vec<Effect>) {
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
        let c = &mut self.conversations[i];
        c.scroll = 0;
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
}

/// One row of the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidebarRow {
    /// A section title.
    Header(&'static str),
    /// What to type when a section is empty.
    Hint(&'static str),
    /// A conversation (index into `App::conversations`).
    Conv(usize),
    /// Spacing.
    Blank,
}
