//! The real event loop (`tui::run_loop`) under ratatui's `TestBackend`, against the real
//! backend binaries: keys in, frames out. A user creates an account on the sign-in form,
//! creates a channel with a command, sends a message, and quits; the last frame shows it.
//! Each step waits on something observable outside the loop (the saved session, the
//! server's state, the frames the loop has drawn), never on time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod tui_fixture;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::Terminal;
use tokio::sync::mpsc;
use tui_fixture::{key, screen_text};
use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_client::Client;
use zchat_protocol::Target;
use zchat_tui::app::Action;
use zchat_tui::tui::{run_loop, TuiOptions};

const PASSWORD: &str = "correct horse battery";
const DEADLINE: Duration = Duration::from_secs(30);

fn typed(text: &str) -> Vec<Action> {
    text.chars()
        .map(|c| key(KeyCode::Char(c), KeyModifiers::NONE))
        .collect()
}

/// Polls `check` until it holds, for at most [`DEADLINE`].
async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await; // poll interval, not a wait
    }
}

/// A `TestBackend` whose latest flushed frame the test can read while the loop owns it.
struct Mirrored {
    inner: TestBackend,
    last_frame: Arc<Mutex<String>>,
}

impl Backend for Mirrored {
    type Error = <TestBackend as Backend>::Error;
    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        *self.last_frame.lock().unwrap() = screen_text(&self.inner);
        self.inner.flush()
    }
}

fn session_saved(home: &Path) -> bool {
    home.join("session.json").exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_in_frames_out_through_the_real_loop() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start().expect("cluster"))
        .await
        .expect("join");
    let (broker, proxy) = (cluster.broker_endpoint(), cluster.proxy_endpoint());
    let home = tempfile::tempdir().expect("home");
    let opts = TuiOptions {
        broker: broker.clone(),
        proxy: proxy.clone(),
        home: home.path().to_path_buf(),
        bell: false,
        notice: None,
        server_key: cluster.public_key(),
        plaintext: false,
    };
    let (keys, rx) = mpsc::unbounded_channel::<Action>();
    let input = Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|a| (a, rx))
    }));
    let last_frame = Arc::new(Mutex::new(String::new()));
    let frame = Arc::clone(&last_frame);
    let running = tokio::spawn(async move {
        let backend = Mirrored {
            inner: TestBackend::new(80, 24),
            last_frame: frame,
        };
        let mut terminal = Terminal::new(backend).expect("terminal");
        run_loop(&mut terminal, opts, None, input)
            .await
            .expect("the loop ends cleanly");
        terminal
    });
    let send = |actions: Vec<Action>| {
        for a in actions {
            keys.send(a).expect("loop running");
        }
    };

    // The sign-in form: switch to "create account", fill it in, submit.
    send(vec![key(KeyCode::Char('r'), KeyModifiers::CONTROL)]);
    send(typed("dora"));
    send(vec![key(KeyCode::Tab, KeyModifiers::NONE)]);
    send(typed(PASSWORD));
    send(vec![key(KeyCode::Enter, KeyModifiers::NONE)]);
    wait_until("the session to be saved", || async {
        session_saved(home.path())
    })
    .await;

    // A command, then a message.
    send(typed("/create #loop made by keys"));
    send(vec![key(KeyCode::Enter, KeyModifiers::NONE)]);
    let observer = Client::start(cluster.client_config()).expect("client");
    observer.register("obs", PASSWORD).await.expect("register");
    observer.login("obs", PASSWORD).await.expect("login");
    wait_until("#loop to exist", || async {
        observer
            .channels()
            .await
            .is_ok_and(|cs| cs.iter().any(|c| c.name == "loop"))
    })
    .await;
    // The channel exists on the server; the message goes where the client has it open, so
    // wait for the frame that shows #loop open (its title line) before typing.
    let opened = Instant::now();
    while !last_frame
        .lock()
        .unwrap()
        .lines()
        .next()
        .unwrap_or("")
        .contains("#loop")
    {
        assert!(
            opened.elapsed() < DEADLINE,
            "timed out waiting for #loop to be open on screen; last frame:\n{}",
            last_frame.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await; // poll interval, not a wait
    }
    send(typed("hello from the loop"));
    send(vec![key(KeyCode::Enter, KeyModifiers::NONE)]);
    let target = Target::Channel("loop".into());
    wait_until("the message to be stored", || async {
        observer
            .history(&target, HistoryQuery::latest(10))
            .await
            .is_ok_and(|p| p.messages.iter().any(|m| m.text == "hello from the loop"))
    })
    .await;

    // Quit: the loop returns, and its last frame shows the channel and the message.
    send(vec![key(KeyCode::Char('q'), KeyModifiers::CONTROL)]);
    let terminal = tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the loop quits on Ctrl+Q")
        .expect("loop task");
    let screen = screen_text(&terminal.backend().inner);
    assert!(screen.contains("#loop"), "{screen}");
    assert!(screen.contains("hello from the loop"), "{screen}");
    assert!(screen.contains("dora"), "{screen}");
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .expect("stop cluster");
}

/// A wrong server key on the sign-in form: the form says so, naming the key, within the
/// probe's timeout; nothing is saved and the form stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_key_is_refused_on_the_form() {
    const WRONG: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    let cluster = tokio::task::spawn_blocking(|| Cluster::start().expect("cluster"))
        .await
        .expect("join");
    let home = tempfile::tempdir().expect("home");
    let opts = TuiOptions {
        broker: cluster.broker_endpoint(),
        proxy: cluster.proxy_endpoint(),
        home: home.path().to_path_buf(),
        bell: false,
        notice: None,
        server_key: Some(WRONG.into()),
        plaintext: false,
    };
    let (keys, rx) = mpsc::unbounded_channel::<Action>();
    let input = Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|a| (a, rx))
    }));
    let last_frame = Arc::new(Mutex::new(String::new()));
    let frame = Arc::clone(&last_frame);
    let running = tokio::spawn(async move {
        let backend = Mirrored {
            inner: TestBackend::new(100, 30),
            last_frame: frame,
        };
        let mut terminal = Terminal::new(backend).expect("terminal");
        run_loop(&mut terminal, opts, None, input)
            .await
            .expect("the loop ends cleanly");
    });
    let mut actions = typed("dora");
    actions.push(key(KeyCode::Tab, KeyModifiers::NONE));
    actions.extend(typed(PASSWORD));
    actions.push(key(KeyCode::Enter, KeyModifiers::NONE));
    for a in actions {
        keys.send(a).expect("loop running");
    }
    let started = Instant::now();
    wait_until("the form to name the wrong key", || async {
        let frame = last_frame.lock().unwrap().clone();
        frame.contains("✗") && frame.contains("server key")
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(!session_saved(home.path()));
    keys.send(key(KeyCode::Esc, KeyModifiers::NONE))
        .expect("loop");
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("Esc quits the form")
        .expect("loop task");
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .expect("stop cluster");
}

/// A saved session used with a wrong server key (`--server-key` differs from the saved
/// one): the status bar says the handshake failed and the notice names the key, instead of
/// an endless "reconnecting".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_key_is_named_in_the_chat() {
    const WRONG: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    let cluster = tokio::task::spawn_blocking(|| Cluster::start().expect("cluster"))
        .await
        .expect("join");
    let client = Client::start(cluster.client_config()).expect("client");
    client.register("erin", PASSWORD).await.expect("register");
    let login = client.login("erin", PASSWORD).await.expect("login");
    let session = zchat_tui::session::Session {
        server_key: Some(WRONG.into()),
        ..zchat_tui::session::Session::from_login(&client, login)
    };
    let home = tempfile::tempdir().expect("home");
    let opts = TuiOptions {
        broker: cluster.broker_endpoint(),
        proxy: cluster.proxy_endpoint(),
        home: home.path().to_path_buf(),
        bell: false,
        notice: None,
        server_key: Some(WRONG.into()),
        plaintext: false,
    };
    let (keys, rx) = mpsc::unbounded_channel::<Action>();
    let input = Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|a| (a, rx))
    }));
    let last_frame = Arc::new(Mutex::new(String::new()));
    let frame = Arc::clone(&last_frame);
    let running = tokio::spawn(async move {
        let backend = Mirrored {
            inner: TestBackend::new(120, 30),
            last_frame: frame,
        };
        let mut terminal = Terminal::new(backend).expect("terminal");
        run_loop(&mut terminal, opts, Some(session), input)
            .await
            .expect("the loop ends cleanly");
    });
    wait_until("the status bar to say the handshake failed", || async {
        let frame = last_frame.lock().unwrap().clone();
        frame.contains("handshake failed") && frame.contains("server key")
    })
    .await;
    let frame = last_frame.lock().unwrap().clone();
    assert!(!frame.contains("reconnecting"), "{frame}");
    keys.send(key(KeyCode::Char('q'), KeyModifiers::CONTROL))
        .expect("loop");
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("Ctrl+Q quits")
        .expect("loop task");
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .expect("stop cluster");
}

/// Input like crossterm's `EventStream`: it keeps the waker of the first poll that found
/// nothing and wakes only that one when a key comes. A loop that ever polls it with another
/// waker (a no-op one, say) stops hearing keys until something else wakes it.
struct FirstWakerInput {
    keys: std::sync::mpsc::Receiver<Action>,
    waker: Arc<Mutex<Option<std::task::Waker>>>,
}

impl futures::Stream for FirstWakerInput {
    type Item = Action;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Action>> {
        if let Ok(a) = self.keys.try_recv() {
            return std::task::Poll::Ready(Some(a));
        }
        let mut slot = self.waker.lock().unwrap();
        if slot.is_none() {
            *slot = Some(cx.waker().clone());
        }
        std::task::Poll::Pending
    }
}

#[tokio::test(start_paused = true)]
async fn keys_show_at_once_not_at_the_next_clock_tick() {
    let home = tempfile::tempdir().expect("home");
    let opts = TuiOptions {
        broker: "tcp://127.0.0.1:9".into(),
        proxy: "tcp://127.0.0.1:9".into(),
        home: home.path().to_path_buf(),
        bell: false,
        notice: None,
        server_key: None,
        plaintext: true,
    };
    let (tx, keys) = std::sync::mpsc::channel();
    let waker = Arc::new(Mutex::new(None::<std::task::Waker>));
    let input = FirstWakerInput {
        keys,
        waker: Arc::clone(&waker),
    };
    let last_frame = Arc::new(Mutex::new(String::new()));
    let frame = Arc::clone(&last_frame);
    let running = tokio::spawn(async move {
        let backend = Mirrored {
            inner: TestBackend::new(80, 24),
            last_frame: frame,
        };
        let mut terminal = Terminal::new(backend).expect("terminal");
        run_loop(&mut terminal, opts, None, input).await
    });
    // Type a name one key at a time, as a person does. On the paused clock, time moves only
    // when every task waits for a timer: a key the loop did not hear at once would show only
    // after the loop's next clock tick (500 ms of that clock).
    let mut typed = String::new();
    for c in "zed".chars() {
        typed.push(c);
        tx.send(key(KeyCode::Char(c), KeyModifiers::NONE)).unwrap();
        if let Some(w) = waker.lock().unwrap().take() {
            w.wake();
        }
        let sent = tokio::time::Instant::now();
        while !last_frame.lock().unwrap().contains(&typed) {
            assert!(
                sent.elapsed() < Duration::from_millis(400),
                "{typed:?} not shown until a clock tick; last frame:\n{}",
                last_frame.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    tx.send(key(KeyCode::Char('q'), KeyModifiers::CONTROL))
        .unwrap();
    if let Some(w) = waker.lock().unwrap().take() {
        w.wake();
    }
    running
        .await
        .expect("loop task")
        .expect("the loop ends cleanly");
}
