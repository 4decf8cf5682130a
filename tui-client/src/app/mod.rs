//! The full-screen client's state and its `update` function: no I/O, no terminal.
//!
//! The shape is the Elm architecture: the event loop (`crate::tui`) turns key presses,
//! mouse events, network replies and feed events into [`Action`]s, calls
//! [`App::update`], performs the [`Effect`]s it returns (network calls run as tasks whose
//! results come back as actions), and draws the [`App`] (`crate::ui`). Tests drive `update`
//! directly and read the state, or render it into a `TestBackend`.

mod actions;
pub mod command;
mod compose;
pub mod conversation;
pub mod editor;
pub mod help;
pub mod input;
mod keys;
mod link;
pub mod login;
pub mod popup;
mod scroll;
mod sidebar;
mod sync;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use zchat_client::feed::FeedEvent;
use zchat_protocol::{validate, ChannelInfo, DmSummary, Message, Target, UserInfo};

use crate::layout::text;
use command::Command;
pub use conversation::{Conversation, Jump, Pending, INACTIVE_MESSAGES, WINDOW_MESSAGES};
use input::InputLine;
pub use link::Link;
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
    /// Messages after the newest loaded one (catching up after a reconnect, scrolling
    /// down towards evicted or not yet loaded newer messages).
    After,
    /// The page right after the read marker, when a conversation opens at its first
    /// unread message.
    FirstUnread,
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
        /// The server says the user or channel does not exist (an empty DM opened by
        /// `/dm @nobody` is then removed again).
        not_found: bool,
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
    /// Something to tell the user in the status line (not an error).
    Info(String),
}

/// Why a `send` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// No answer: kept, marked unsent, and sent again (same nonce) on reconnect.
    Offline(String),
    /// The server answered but could not store it now (`unavailable`, `internal`: it may
    /// even have been stored): kept, marked unsent, and sent again with the same nonce (which
    /// never stores twice) a few seconds later, connection or not.
    NotNow(String),
    /// The server refused it (not a member, invalid text…): dropped, with the reason shown.
    Rejected(String),
    /// The user or channel does not exist: dropped like `Rejected`, and a DM conversation
    /// that holds nothing else is removed (no ghost `@nobody` in the sidebar).
    NotFound(String),
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
        /// The server's CURVE key (`None`: `--plaintext`).
        server_key: Option<String>,
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
        /// `after` for newer pages (catching up, scrolling down, the page after the read
        /// marker).
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
    /// Set the terminal (window/tab) title: it carries the unread total, so it is seen
    /// from other windows and tabs too.
    SetTitle(String),
    /// Clear the terminal and draw everything again (Ctrl+L, after another program wrote
    /// over the screen).
    Repaint,
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
    /// The server key for the form (flag, environment, saved, or as last typed).
    pub server_key: String,
    /// `--plaintext`: the form asks for no key and the client uses none.
    pub plaintext: bool,
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
    /// The heartbeat's last handshake failure (naming the server key), until the server
    /// answers again: the status bar says so instead of "reconnecting".
    pub handshake_error: Option<String>,
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
    /// Whether they have been fetched at all since signing in: until then the account is
    /// "not yet loaded", never "empty" (see [`App::link`]).
    pub loaded: bool,
    /// The notice is about the outage (see `link.rs`) and goes when the server answers.
    outage_notice: bool,
    /// The server came back while a bootstrap was in flight: start another one if that one
    /// fails (see `link.rs`).
    bootstrap_again: bool,
    bootstrap_in_flight: bool,
    last_bootstrap_try: i64,
    /// When to send again messages the server could not store for now (`unavailable`: its
    /// database is away) while the connection itself stays up; `None`: nothing waits so.
    retry_unsent_at: Option<i64>,
    watched: HashSet<String>,
    /// Channels joined or left here while a bootstrap was in flight: its snapshot of the
    /// joined channels predates them, so it must neither drop nor bring back those.
    changed_during_bootstrap: HashSet<String>,
    next_nonce: u64,
    /// Whether the screen may differ from the last frame drawn (see [`App::take_redraw`]).
    redraw: bool,
    /// The sidebar's first row when scrolled by hand (wheel, Alt+PgUp/PgDn); `None`: it
    /// follows the open conversation. Opening a conversation goes back to following.
    pub sidebar_scroll: Option<usize>,
    /// The open conversation keeps its place in the Unread section while it is open (key,
    /// rank), so the list does not jump under the pointer when it is read.
    pinned_unread: Option<(Target, u8)>,
    /// Newest message time (ms) known per conversation key, from sources other than the
    /// loaded messages (DM summaries): orders the quick switcher by recent activity.
    activity: HashMap<String, i64>,
    /// The conversation open before the current one (to go back to when a ghost DM is
    /// removed).
    previous: Option<String>,
    /// First line of the help popup shown (it scrolls on small terminals).
    pub help_scroll: usize,
    /// The terminal title last asked for (set again only when it changes).
    title: String,
}

impl App {
    /// A signed-out app showing the login form.
    pub fn new(broker: &str, proxy: &str, user: &str) -> Self {
        App {
            screen: Screen::Login(Box::new(LoginForm::new(broker, proxy, user))),
            me: String::new(),
            broker: broker.to_string(),
            proxy: proxy.to_string(),
            server_key: String::new(),
            plaintext: false,
            conversations: Vec::new(),
            selected: None,
            input: InputLine::new(),
            popup: None,
            connected: false,
            rtt: None,
            handshake_error: None,
            notice: None,
            bell: true,
            offset_secs: 0,
            now_ms: 0,
            size: (80, 24),
            quit: false,
            bootstrapped: false,
            loaded: false,
            outage_notice: false,
            bootstrap_again: false,
            bootstrap_in_flight: false,
            last_bootstrap_try: 0,
            retry_unsent_at: None,
            watched: HashSet::new(),
            changed_during_bootstrap: HashSet::new(),
            next_nonce: 1,
            redraw: true,
            sidebar_scroll: None,
            pinned_unread: None,
            activity: HashMap::new(),
            previous: None,
            help_scroll: 0,
            title: String::new(),
        }
    }

    /// The server key to prefill the sign-in form with, and whether `--plaintext` was
    /// given (then the form asks for no key).
    pub fn set_server_key(&mut self, key: &str, plaintext: bool) {
        self.server_key = key.trim().to_string();
        self.plaintext = plaintext;
        if let Screen::Login(form) = &mut self.screen {
            form.set_server_key(&self.server_key, plaintext);
        }
        self.redraw = true;
    }

    /// A fresh sign-in form with what this app knows (endpoints, key, user).
    pub(crate) fn login_form(&self) -> LoginForm {
        let mut form = LoginForm::new(&self.broker, &self.proxy, &self.me);
        form.set_server_key(&self.server_key, self.plaintext);
        form
    }

    /// Whether a frame must be drawn, and resets the answer: true after anything that can
    /// change what is on screen, false after a clock tick that changed nothing shown. The
    /// loop draws only then, so an idle client draws nothing.
    pub fn take_redraw(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
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
        // An error while the server does not answer is the outage's (see `link.rs`).
        self.outage_notice = error && !self.connected;
    }

    /// Width and height of the feed pane at the current size.
    pub fn feed_size(&self) -> (usize, usize) {
        let areas = self.layout(self.screen_rect());
        (areas.feed.width as usize, areas.feed.height as usize)
    }

    /// Where each part of the chat screen goes in `area`: the editor as tall as its wrapped
    /// text needs (capped), the status area grown by the lines a notice needs (so an error
    /// is shown whole). The view draws there, and the state maps mouse events and page sizes
    /// with the same answer.
    pub fn layout(&self, area: ratatui::layout::Rect) -> crate::layout::screen::Areas {
        use crate::layout::{screen, status};
        let a = screen::areas(area, self.input.row_count(screen::editor_width(area)));
        let lines = self
            .notice
            .as_ref()
            .map_or(0, |n| status::notice_lines(&n.text, area.width).len());
        status::with_notice(a, lines)
    }

    fn screen_rect(&self) -> ratatui::layout::Rect {
        ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// Columns the editor wraps at, at the current size.
    fn editor_width(&self) -> usize {
        crate::layout::screen::editor_width(self.screen_rect())
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
    /// Shown on the top row when the sidebar is scrolled past this many unread
    /// conversations; a click scrolls back to them.
    UnreadAbove(usize),
    /// Spacing.
    Blank,
}
