//! The full-screen client's event loop: terminal setup and restore, one `select!` over
//! terminal input, network results, feed events and a clock tick, and the effects that
//! `App::update` asks for.
//!
//! Network calls never run on the loop: each is spawned as a task whose result comes back
//! as an [`Action`] on one channel, so drawing and typing never wait for the server.

use std::io::{stdout, Stdout, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyEventKind,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures::StreamExt;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;
use tokio::sync::mpsc;
use zchat_client::api::HistoryQuery;
use zchat_client::feed::{Feed, FeedEvent};
use zchat_client::{Client, ClientConfig, ClientError};
use zchat_protocol::{ChannelInfo, ErrorCode};

use crate::app::{Action, App, Effect, HistoryKind, SendFailure, HISTORY_PAGE};
use crate::session::Session;

/// Options for the full-screen client.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// Broker endpoint (requests).
    pub broker: String,
    /// Proxy endpoint (live events).
    pub proxy: String,
    /// Where the session is saved.
    pub home: PathBuf,
    /// Ring the terminal bell when mentioned.
    pub bell: bool,
}

/// Runs the client: the saved session if it is still valid, else the sign-in screen.
pub async fn run(opts: TuiOptions) -> Result<()> {
    // A session saved for another server is not used (the form opens instead).
    let session =
        Session::load(&opts.home).filter(|s| s.broker == opts.broker && s.proxy == opts.proxy);
    run_with_session(opts, session).await
}

/// Runs the client, signed in with `session` when given (demo mode, saved session).
pub async fn run_with_session(opts: TuiOptions, session: Option<Session>) -> Result<()> {
    install_panic_hook();
    let _guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    terminal.clear()?;
    let events = EventStream::new().filter_map(|e| async move {
        match e {
            Ok(ev) => terminal_action(ev),
            Err(_) => None,
        }
    });
    run_loop(&mut terminal, opts, session, Box::pin(events)).await
}

/// Maps a terminal event to an action (key releases and repeats are dropped).
pub fn terminal_action(ev: Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press => Some(Action::Key(k)),
        Event::Paste(s) => Some(Action::Paste(s)),
        Event::Mouse(m) => Some(Action::Mouse(m)),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

/// What arrives on the loop's channel.
enum Msg {
    Action(Action),
    /// A signed-in client, ready for the feed.
    Ready(Client, Session),
}

/// The network side: the client, the feed, and the channel results come back on.
struct Net {
    client: Option<Client>,
    feed: Option<Feed>,
    tx: mpsc::UnboundedSender<Msg>,
    home: PathBuf,
}

/// The loop, generic over the backend and the input stream so it can run under
/// `TestBackend`.
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    opts: TuiOptions,
    session: Option<Session>,
    mut input: S,
) -> Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: futures::Stream<Item = Action> + Unpin,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut app = App::new(
        &opts.broker,
        &opts.proxy,
        session.as_ref().map_or("", |s| s.user.as_str()),
    );
    app.bell = opts.bell;
    app.offset_secs = chrono::Local::now().offset().local_minus_utc();
    app.now_ms = zchat_protocol::now_millis();
    app.seed_nonces(rand::random::<u64>());
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    let mut net = Net {
        client: None,
        feed: None,
        tx: tx.clone(),
        home: opts.home.clone(),
    };
    if let Some(s) = session {
        // A saved session skips the form; a rejected token brings it back.
        app.broker.clone_from(&s.broker);
        app.proxy.clone_from(&s.proxy);
        match Client::start(ClientConfig::new(&s.broker, &s.proxy)) {
            Ok(client) => {
                client.set_token(Some(s.token.clone()));
                let _ = tx.send(Msg::Ready(client, s));
            }
            Err(e) => app.update(Action::SessionRejected(e.to_string())).clear(),
        }
    }
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        terminal.draw(|f| f.render_widget(&app, f.area()))?;
        let first = tokio::select! {
            a = input.next() => match a {
                Some(a) => Msg::Action(a),
                None => break,
            },
            m = rx.recv() => match m {
                Some(m) => m,
                None => break,
            },
            _ = tick.tick() => Msg::Action(Action::Tick(zchat_protocol::now_millis())),
        };
        // Apply everything already waiting before drawing again.
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
            if batch.len() > 256 {
                break;
            }
        }
        for msg in batch {
            let effects = match msg {
                Msg::Action(a) => app.update(a),
                Msg::Ready(client, session) => {
                    let user = session.user.clone();
                    net.ready(client, session);
                    app.update(Action::SignedIn { user })
                }
            };
            for fx in effects {
                net.perform(fx);
            }
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

impl Net {
    fn ready(&mut self, client: Client, session: Session) {
        if let Err(e) = session.save(&self.home) {
            tracing::warn!("could not save the session: {e:#}");
        }
        let (feed, mut events) =
            Feed::start(client.clone(), session.user.clone(), session.inbox.clone());
        let tx = self.tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                let action = match ev {
                    FeedEvent::Message(m) => Action::Incoming(m),
                    FeedEvent::ReadMarker { target, seq } => Action::ReadMarker { target, seq },
                    FeedEvent::Connection { connected, rtt } => {
                        Action::Connection { connected, rtt }
                    }
                };
                if tx.send(Msg::Action(action)).is_err() {
                    break;
                }
            }
        });
        self.client = Some(client);
        self.feed = Some(feed);
    }

    /// Runs `f` with the client on a task, sending its action back.
    fn spawn<F, Fut>(&self, f: F)
    where
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Option<Action>> + Send + 'static,
    {
        let Some(client) = self.client.clone() else {
            return;
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(a) = f(client).await {
                let _ = tx.send(Msg::Action(a));
            }
        });
    }

    fn perform(&mut self, fx: Effect) {
        match fx {
            Effect::SignIn {
                register,
                user,
                password,
                broker,
                proxy,
            } => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let msg = match sign_in(register, user, password, broker, proxy).await {
                        Ok((client, session)) => Msg::Ready(client, session),
                        Err(e) => Msg::Action(Action::SignInFailed(e)),
                    };
                    let _ = tx.send(msg);
                });
            }
            Effect::Bootstrap => self.spawn(|c| async move {
                let channels = match c.whoami().await {
                    Ok(me) => me.channels,
                    Err(e) => return Some(rejected_or(e, Action::BootstrapFailed)),
                };
                let dms = match c.dms().await {
                    Ok(conversations) => conversations,
                    Err(e) => return Some(rejected_or(e, Action::BootstrapFailed)),
                };
                Some(Action::Bootstrap { channels, dms })
            }),
            Effect::LoadHistory {
                target,
                kind,
                before,
                after,
            } => self.spawn(move |c| async move {
                let limit = if kind == HistoryKind::After {
                    zchat_protocol::MAX_HISTORY_LIMIT
                } else {
                    HISTORY_PAGE
                };
                let query = HistoryQuery {
                    after,
                    before,
                    limit: Some(limit),
                };
                Some(match c.history(&target, query).await {
                    Ok(page) => Action::History {
                        target,
                        messages: page.messages,
                        has_more: page.has_more,
                        kind,
                    },
                    Err(e) => Action::HistoryFailed {
                        target,
                        error: e.to_string(),
                    },
                })
            }),
            Effect::Send {
                target,
                text,
                nonce,
            } => self.spawn(move |c| async move {
                let result = match c.send(&target, &text, Some(nonce)).await {
                    Ok(message) => Ok(message),
                    Err(ClientError::Server { message, .. }) => Err(SendFailure::Rejected(message)),
                    Err(e @ ClientError::UnexpectedReply { .. }) => {
                        Err(SendFailure::Rejected(e.to_string()))
                    }
                    Err(e) => Err(SendFailure::Offline(e.to_string())),
                };
                Some(Action::Sent {
                    target,
                    nonce,
                    result,
                })
            }),
            Effect::MarkRead { target, seq } => self.spawn(move |c| async move {
                // Best effort: the next mark (or the server on reconnect) catches up.
                let _ = c.mark_read(&target, seq).await;
                None
            }),
            Effect::Join(channel) => {
                self.spawn(move |c| async move { Some(channel_reply(c.join(&channel).await)) })
            }
            Effect::Create {
                channel,
                description,
            } => self.spawn(move |c| async move {
                Some(channel_reply(
                    c.create_channel(&channel, &description).await,
                ))
            }),
            Effect::Leave(channel) => self.spawn(move |c| async move {
                Some(match c.leave(&channel).await {
                    Ok(_) => Action::Left(channel),
                    Err(e) => Action::Failed(format!("leave #{channel}: {e}")),
                })
            }),
            Effect::ListChannels => self.spawn(|c| async move {
                Some(match c.channels().await {
                    Ok(channels) => Action::Channels(channels),
                    Err(e) => Action::Failed(format!("channels: {e}")),
                })
            }),
            Effect::ListUsers => self.spawn(|c| async move {
                Some(match c.users().await {
                    Ok(users) => Action::Users(users),
                    Err(e) => Action::Failed(format!("users: {e}")),
                })
            }),
            Effect::Watch { target, last_seen } => {
                if let Some(feed) = &self.feed {
                    feed.watch(target, last_seen);
                }
            }
            Effect::Unwatch(target) => {
                if let Some(feed) = &self.feed {
                    feed.unwatch(&target);
                }
            }
            Effect::Bell => {
                let mut out = stdout();
                let _ = out.write_all(b"\x07");
                let _ = out.flush();
            }
            Effect::Logout => {
                if let Err(e) = Session::clear(&self.home) {
                    tracing::warn!("could not remove the session: {e:#}");
                }
                if let Some(c) = self.client.clone() {
                    // Give the server a moment to revoke the token; quitting does not wait long.
                    let _ = std::thread::spawn(move || {
                        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            let _ = rt.block_on(async {
                                tokio::time::timeout(Duration::from_secs(2), c.logout()).await
                            });
                        }
                    })
                    .join();
                }
            }
            Effect::Quit => {}
        }
    }
}

fn channel_reply(r: Result<ChannelInfo, ClientError>) -> Action {
    match r {
        Ok(channel) => Action::Joined(channel),
        Err(e) => Action::Failed(e.to_string()),
    }
}

/// An expired or revoked token sends the user back to the form; anything else is reported.
fn rejected_or(e: ClientError, other: fn(String) -> Action) -> Action {
    match e.code() {
        Some(ErrorCode::Unauthorized) => {
            Action::SessionRejected("session expired: please sign in again".into())
        }
        _ => other(e.to_string()),
    }
}

/// Registers (optionally) and logs in; the error is a sentence for the form.
async fn sign_in(
    register: bool,
    user: String,
    password: String,
    broker: String,
    proxy: String,
) -> Result<(Client, Session), String> {
    // A quick ping first, so an unreachable server is reported in seconds rather than after
    // the long login timeouts.
    let mut probe = ClientConfig::new(&broker, &proxy);
    probe.request_timeout = Duration::from_millis(1500);
    probe.attempts = 2;
    let probe = Client::start(probe).map_err(|e| e.to_string())?;
    if let Err(ClientError::Unreachable(_)) = probe.ping().await {
        return Err(format!("server unreachable at {broker}"));
    }
    drop(probe);
    let config = ClientConfig::new(&broker, &proxy);
    let client = Client::start(config).map_err(|e| e.to_string())?;
    let explain = |e: ClientError| match &e {
        ClientError::Unreachable(_) => format!("server unreachable at {broker}"),
        ClientError::Server { code, message } => match code {
            ErrorCode::WrongCredentials => "wrong user name or password".to_string(),
            ErrorCode::AlreadyExists => format!("the name {user} is taken"),
            _ => message.clone(),
        },
        ClientError::Local(m) => m.clone(),
        other @ ClientError::UnexpectedReply { .. } => other.to_string(),
    };
    if register {
        client.register(&user, &password).await.map_err(explain)?;
    }
    let session = client.login(&user, &password).await.map_err(explain)?;
    Ok((client, Session::from_login(&broker, &proxy, session)))
}

/// Puts the terminal in full-screen mode and restores it when dropped (error paths too).
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard> {
        enable_raw_mode().context("enabling raw mode (is this a terminal?)")?;
        let guard = TerminalGuard;
        crossterm::execute!(
            stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Leaves full-screen mode. Safe to call twice.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out: Stdout = stdout();
    let _ = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic restores the terminal before the message is printed, so it is readable.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}
