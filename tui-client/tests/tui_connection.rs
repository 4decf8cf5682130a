//! Connection-state transitions without a terminal: the server dies (`○ reconnecting…`), a
//! saved session whose server is down (`○ connecting…`, never an empty account), recovery
//! (outage notices cleared, others kept, bootstrap retried on its own).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod tui_fixture;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};
use tui_fixture::*;
use zchat_client::feed::FeedEvent;
use zchat_protocol::Target;
use zchat_tui::app::{Action, App, Effect, Link, SendFailure};

fn up() -> Action {
    Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: Some(Duration::from_micros(900)),
    })
}

fn down() -> Action {
    Action::Feed(FeedEvent::Connection {
        connected: false,
        rtt: None,
    })
}

fn screen(app: &mut App) -> String {
    screen_text(&render(app, 80, 24))
}

fn status_line(app: &mut App) -> String {
    screen(app).lines().last().unwrap_or_default().to_string()
}

#[test]
fn the_server_dying_shows_reconnecting_and_its_return_online() {
    let mut app = signed_in();
    assert_eq!(app.link(), Link::Online);
    assert!(status_line(&mut app).contains("● online 1.8 ms"));
    app.update(down());
    assert_eq!(app.link(), Link::Reconnecting);
    let s = screen(&mut app);
    assert!(s.lines().last().unwrap().contains("○ reconnecting…"), "{s}");
    // The conversations stay: an outage is not an empty account.
    assert!(
        s.contains("#general") && !s.contains("Welcome to zchat"),
        "{s}"
    );
    let fx = app.update(up());
    assert_eq!(app.link(), Link::Online);
    assert!(
        fx.contains(&Effect::Bootstrap),
        "catch up after the outage: {fx:?}"
    );
    assert!(status_line(&mut app).contains("● online 0.9 ms"));
}

#[test]
fn a_saved_session_with_the_server_down_is_connecting_never_empty() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "carol");
    app.now_ms = T0;
    // A saved session signs in without asking the server.
    let fx = app.update(Action::SignedIn {
        user: "carol".into(),
    });
    assert!(fx.contains(&Effect::Bootstrap));
    assert!(!app.loaded);
    assert_eq!(app.link(), Link::Connecting);
    let check = |app: &mut App, when: &str| {
        let s = screen(app);
        let status = s.lines().last().unwrap().to_string();
        assert!(
            status.contains("carol") && status.contains("○ connecting…"),
            "{when}:\n{s}"
        );
        assert!(
            s.contains("Waiting for the server at tcp://127.0.0.1:5555"),
            "{when}:\n{s}"
        );
        assert!(!s.contains("Welcome to zchat"), "{when}: looks empty:\n{s}");
        assert!(!s.contains("/join #channel"), "{when}: looks empty:\n{s}");
        assert!(!s.contains("online"), "{when}:\n{s}");
    };
    check(&mut app, "at start");
    // The heartbeat finds no server; the first bootstrap gives up.
    app.update(down());
    check(&mut app, "reported down");
    app.update(Action::BootstrapFailed(
        "server unreachable at tcp://127.0.0.1:5555".into(),
    ));
    assert_eq!(app.link(), Link::Connecting);
    check(&mut app, "bootstrap failed");
    // It keeps trying on its own.
    let fx = app.update(Action::Tick(T0 + 6_000));
    assert!(fx.contains(&Effect::Bootstrap), "{fx:?}");
    app.update(Action::BootstrapFailed(
        "server unreachable at tcp://127.0.0.1:5555".into(),
    ));
    // The server answers: online, the stale notice goes, the conversations are fetched.
    let fx = app.update(up());
    assert!(fx.contains(&Effect::Bootstrap), "{fx:?}");
    assert_eq!(app.link(), Link::Online);
    assert!(app.notice.is_none(), "{:?}", app.notice);
    let s = screen(&mut app);
    assert!(
        s.contains("Loading your conversations") && !s.contains("Welcome"),
        "{s}"
    );
    app.update(Action::Bootstrap {
        channels: vec![channel("plans", "carol's plans", 2, 2, 0)],
        dms: vec![],
    });
    assert!(app.loaded);
    assert!(screen(&mut app).contains("#plans"));
}

/// What a saved session looks like while its server is down, at 80×24 and 40×12.
#[test]
fn connecting_snapshots() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "carol");
    app.update(Action::SignedIn {
        user: "carol".into(),
    });
    app.update(down());
    insta::assert_snapshot!("connecting_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("connecting_40x12", render(&mut app, 40, 12));
}

#[test]
fn loaded_and_empty_is_not_the_same_as_not_loaded() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "");
    app.update(Action::SignedIn { user: "dan".into() });
    app.update(up());
    assert!(screen(&mut app).contains("Loading your conversations"));
    app.update(Action::Bootstrap {
        channels: vec![],
        dms: vec![],
    });
    let s = screen(&mut app);
    assert!(
        s.contains("Welcome to zchat") && s.contains("/join #channel"),
        "{s}"
    );
    // An outage now: still a (loaded, empty) account, reconnecting.
    app.update(down());
    assert_eq!(app.link(), Link::Reconnecting);
    assert!(screen(&mut app).contains("Welcome to zchat"));
}

#[test]
fn recovery_clears_outage_notices_and_keeps_the_others() {
    let mut app = signed_in();
    // A send that got no answer: its notice is about the outage.
    type_text(&mut app, "hello?");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    let Some(Effect::Send { nonce, .. }) = fx
        .iter()
        .find(|f| matches!(f, Effect::Send { .. }))
        .cloned()
    else {
        panic!("no send: {fx:?}");
    };
    app.update(down());
    app.update(Action::Sent {
        target: Target::parse("#general").unwrap(),
        nonce,
        result: Err(SendFailure::Offline(
            "server unreachable at tcp://127.0.0.1:5555".into(),
        )),
    });
    assert!(app.notice.as_ref().unwrap().text.contains("not sent"));
    app.update(up());
    assert!(app.notice.is_none(), "stale: {:?}", app.notice);
    assert!(!status_line(&mut app).contains("unreachable"));

    // Any error posted while the server does not answer goes the same way.
    app.update(down());
    app.update(Action::Failed("users: server unreachable".into()));
    app.update(up());
    assert!(app.notice.is_none(), "stale: {:?}", app.notice);

    // A refusal by the server stays (until it expires), across an outage too.
    app.update(Action::Sent {
        target: Target::parse("#general").unwrap(),
        nonce: 999_999,
        result: Err(SendFailure::Rejected("no such user".into())),
    });
    app.update(down());
    app.update(up());
    assert!(app.notice.as_ref().unwrap().text.contains("no such user"));
}

#[test]
fn one_bootstrap_at_a_time_and_a_prompt_retry_when_it_fails_after_recovery() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "");
    let fx = app.update(Action::SignedIn { user: "eve".into() });
    assert_eq!(fx.iter().filter(|f| **f == Effect::Bootstrap).count(), 1);
    // The first heartbeat answers while the sign-in's bootstrap is still out: no second one
    // (it could overtake a channel joined meanwhile).
    let fx = app.update(up());
    assert!(!fx.contains(&Effect::Bootstrap), "{fx:?}");
    // That one fails after all: the next starts at once, the server being back, and the
    // failure, already overtaken, is not reported.
    let fx = app.update(Action::BootstrapFailed("server unreachable".into()));
    assert!(fx.contains(&Effect::Bootstrap), "{fx:?}");
    assert!(app.notice.is_none(), "{:?}", app.notice);
    // A failure while the server is away waits for the periodic retry or the recovery.
    app.update(down());
    let fx = app.update(Action::BootstrapFailed("server unreachable".into()));
    assert!(!fx.contains(&Effect::Bootstrap), "{fx:?}");
    let fx = app.update(up());
    assert!(fx.contains(&Effect::Bootstrap), "{fx:?}");
    // Once one succeeds, a later failure is reported as usual.
    app.update(Action::Bootstrap {
        channels: vec![],
        dms: vec![],
    });
    app.update(down());
    app.update(up());
    let fx = app.update(Action::BootstrapFailed("server unreachable".into()));
    assert!(!fx.contains(&Effect::Bootstrap), "{fx:?}");
    assert!(app.notice.is_some());
}
