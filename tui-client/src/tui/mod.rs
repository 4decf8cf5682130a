//! The full-screen client's event loop: one `select!` over terminal input, network results,
//! the live feed and a clock tick; `App::update` for each, then the effects it asks for.
//!
//! - [`terminal`]: full-screen mode on and off, terminal events to actions.
//! - [`net`]: the client and its feed; effects run as tasks whose results come back as
//!   actions, so drawing and typing never wait for the server.

mod explain;
mod net;
mod terminal;

use std::io::stdout;
use std::path::PathBuf;
use std::task::Poll;
use std::time::Duration;

use anyhow::Result;
use crossterm::event::EventStream;
use futures::StreamExt;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;
use tokio::sync::mpsc;
use zchat_client::{Client, ClientConfig};

use crate::app::{Action, App, Effect};
use crate::session::Session;
use net::{Msg, Net};
use terminal::{install_panic_hook, TerminalGuard};
pub use terminal::{restore_terminal, terminal_action};

/// Most actions applied between two frames (a bound on the time one frame can wait).
const MAX_BATCH: usize = 256;

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
    /// A first line for the status bar (the demo says how a second terminal joins it).
    pub notice: Option<String>,
    /// The server key (flag, environment or saved): the sign-in form's prefill, and the key
    /// a saved session connects with.
    pub server_key: Option<String>,
    /// `--plaintext`: no CURVE, explicitly.
    pub plaintext: bool,
}

/// Runs the client: the saved session if it is still valid, else the sign-in screen.
pub async fn run(opts: TuiOptions) -> Result<()> {
    // A session saved for another server is not used (the form opens instead), nor one
    // without a key to connect with (the form asks for it). The key given now wins.
    let session = Session::load(&opts.home)
        .filter(|s| s.is_for(&opts.broker, &opts.proxy))
        .filter(|_| opts.plaintext || opts.server_key.is_some())
        .map(|s| Session {
            server_key: if opts.plaintext {
                None
            } else {
                opts.server_key.clone()
            },
            ..s
        });
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
    app.set_server_key(opts.server_key.as_deref().unwrap_or(""), opts.plaintext);
    app.offset_secs = chrono::Local::now().offset().local_minus_utc();
    app.now_ms = zchat_protocol::now_millis();
    if let Some(notice) = &opts.notice {
        app.update(Action::Info(notice.clone())).clear();
    }
    app.seed_nonces(rand::random::<u64>());
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    let mut net = Net::new(tx.clone(), opts.home.clone());
    if let Some(s) = session {
        // A saved session skips the form; a rejected token brings it back.
        app.broker.clone_from(&s.broker);
        app.proxy.clone_from(&s.proxy);
        let config = ClientConfig::new(&s.broker, &s.proxy).with_server_key(s.server_key.clone());
        match Client::start(config) {
            Ok(client) => {
                client.set_token(Some(s.token.clone()));
                let _ = tx.send(Msg::Ready(client, s));
            }
            Err(e) => app.update(Action::SessionRejected(e.to_string())).clear(),
        }
    }
    // The clock only expires notices and paces retries: nothing on screen follows it.
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut input_done = false;
    while !input_done {
        // Draw only when something changed since the last frame: an idle client draws
        // nothing, and a burst of events or queued keys costs one frame.
        if app.take_redraw() {
            terminal.draw(|f| f.render_widget(&app, f.area()))?;
        }
        let first = tokio::select! {
            a = input.next() => match a {
                Some(a) => Msg::Action(a),
                None => break,
            },
            m = rx.recv() => match m {
                Some(m) => m,
                None => break,
            },
            ev = net.next_feed_event() => Msg::Action(Action::Feed(ev)),
            _ = tick.tick() => Msg::Action(Action::Tick(zchat_protocol::now_millis())),
        };
        // Apply everything already waiting — replies, live events and keys typed (or
        // repeated) meanwhile — before drawing again, so a held key never queues frames.
        let mut batch = vec![first];
        while batch.len() <= MAX_BATCH {
            if let Ok(m) = rx.try_recv() {
                batch.push(m);
            } else if let Some(ev) = net.try_feed_event() {
                batch.push(Msg::Action(Action::Feed(ev)));
            } else {
                // Polled with this task's own waker (never `now_or_never`'s no-op one):
                // crossterm's EventStream keeps the first waker it is polled with until an
                // event comes, so a no-op waker would leave the loop deaf to keys until the
                // next clock tick.
                match std::future::poll_fn(|cx| Poll::Ready(input.poll_next_unpin(cx))).await {
                    Poll::Ready(Some(a)) => batch.push(Msg::Action(a)),
                    Poll::Ready(None) => {
                        input_done = true;
                        break;
                    }
                    Poll::Pending => break,
                }
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
                match fx {
                    // Ctrl+L: forget what is on screen; the next draw paints every cell.
                    Effect::Repaint => terminal.clear()?,
                    Effect::SetTitle(title) => terminal::set_title(&title),
                    fx => net.perform(fx),
                }
            }
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}
