//! Rendering snapshots on ratatui's `TestBackend`: each screen and popup, wide characters,
//! a narrow and a tiny terminal. Times are UTC (the offset is injected).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod tui_fixture;

use crossterm::event::{KeyCode, KeyModifiers};
use insta::assert_snapshot;
use tui_fixture::*;
use zchat_client::feed::FeedEvent;
use zchat_tui::app::{Action, App};

#[test]
fn chat_80x24() {
    let mut app = signed_in();
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn chat_narrow_40x12() {
    let mut app = signed_in();
    assert_snapshot!(render(&mut app, 40, 12));
}

#[test]
fn tiny_terminal_notice() {
    let mut app = signed_in();
    assert_snapshot!(render(&mut app, 20, 5));
}

/// A well-formed server key (ZeroMQ RFC 26's example).
const SERVER_KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

#[test]
fn login_screen() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "");
    app.set_server_key(SERVER_KEY, false);
    type_text(&mut app, "alice");
    app.update(key(KeyCode::Tab, KeyModifiers::NONE));
    type_text(&mut app, "secret-pw");
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn login_error_register_mode() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "");
    app.set_server_key(SERVER_KEY, false);
    app.update(key(KeyCode::Char('r'), KeyModifiers::CONTROL));
    type_text(&mut app, "alice");
    app.update(key(KeyCode::Tab, KeyModifiers::NONE));
    type_text(&mut app, "password1");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(fx.len(), 1, "submits once");
    app.update(Action::SignInFailed("the name alice is taken".into()));
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn login_without_a_server_key() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "alice");
    type_text(&mut app, "secret-pw");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(fx.is_empty(), "nothing is sent without a key");
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn login_in_plaintext() {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "alice");
    app.set_server_key("", true);
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn help_popup() {
    let mut app = signed_in();
    app.update(key(KeyCode::F(1), KeyModifiers::NONE));
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn help_popup_60x20() {
    let mut app = signed_in();
    app.update(Action::Resize(60, 20));
    app.update(key(KeyCode::F(1), KeyModifiers::NONE));
    assert_snapshot!(render(&mut app, 60, 20));
}

#[test]
fn help_popup_30x8() {
    let mut app = signed_in();
    app.update(Action::Resize(30, 8));
    app.update(key(KeyCode::F(1), KeyModifiers::NONE));
    assert_snapshot!(render(&mut app, 30, 8));
}

#[test]
fn help_popup_30x8_scrolled_to_the_end() {
    let mut app = signed_in();
    app.update(Action::Resize(30, 8));
    app.update(key(KeyCode::F(1), KeyModifiers::NONE));
    app.update(key(KeyCode::End, KeyModifiers::NONE));
    assert_snapshot!(render(&mut app, 30, 8));
}

#[test]
fn channels_popup() {
    let mut app = signed_in();
    type_text(&mut app, "/channels");
    app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    app.update(Action::Channels(vec![
        channel("general", "Everything and nothing · café ☕", 5, 5, 0),
        tui_fixture::channel("jobs", "Hiring and looking", 0, 0, 0),
        channel("random", "Off-topic", 9, 7, 2),
    ]));
    app.update(key(KeyCode::Down, KeyModifiers::NONE));
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn users_popup_filtered() {
    let mut app = signed_in();
    type_text(&mut app, "/users");
    app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    let users = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|n| zchat_protocol::UserInfo {
            name: n.to_string(),
            created_at: T0,
        })
        .collect();
    app.update(Action::Users(users));
    type_text(&mut app, "ca");
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn quick_switcher() {
    let mut app = signed_in();
    app.update(key(KeyCode::Char('k'), KeyModifiers::CONTROL));
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn reconnecting_with_unsent_message() {
    let mut app = signed_in();
    app.update(Action::Feed(FeedEvent::Connection {
        connected: false,
        rtt: None,
    }));
    type_text(&mut app, "are you there? 你好");
    app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    type_text(&mut app, "draft kept");
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn dm_with_new_marker_and_day_separator() {
    let mut app = signed_in();
    open(&mut app, "@bob");
    app.update(Action::History {
        target: zchat_protocol::Target::parse("@bob").unwrap(),
        messages: vec![
            msg("@bob", 1, -2000, "alice", "hey bob"),
            msg("@alice", 2, -1990, "bob", "hey! 👋"),
            msg("@alice", 3, 2, "bob", "lunch?"),
        ],
        has_more: false,
        kind: zchat_tui::app::HistoryKind::Latest,
    });
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn grown_multi_line_input() {
    // A pasted multi-line message with a line longer than the box, ZWJ/skin-tone/flag
    // emoji, a combining accent and CJK: every row shown before it is sent, clusters whole.
    let mut app = signed_in();
    app.update(Action::Paste(
        "Release notes:\n- the input grows with what is typed and wraps long lines \
         👨\u{200d}👩\u{200d}👧 👍🏽 🇧🇷 cafe\u{301}\n- "
            .into(),
    ));
    type_text(&mut app, "日本語も");
    assert_snapshot!(render(&mut app, 60, 20));
}

#[test]
fn input_scrolled_to_the_cursor() {
    // More rows than the box holds: the rows around the cursor, and which ones they are.
    let mut app = signed_in();
    app.update(Action::Paste(
        (1..=8)
            .map(|n| format!("line {n}"))
            .collect::<Vec<_>>()
            .join("\n"),
    ));
    for _ in 0..5 {
        app.update(key(KeyCode::Up, KeyModifiers::NONE));
    }
    assert_snapshot!(render(&mut app, 60, 20));
}

#[test]
fn help_lists_every_key_and_command_whole_at_60x20() {
    let mut app = signed_in();
    app.update(Action::Resize(60, 20));
    app.update(key(KeyCode::F(1), KeyModifiers::NONE));
    let mut seen = String::new();
    for _ in 0..20 {
        seen.push_str(&screen_text(&render(&mut app, 60, 20)));
        app.update(key(KeyCode::PageDown, KeyModifiers::NONE));
    }
    // Words as drawn (wrapping only ever breaks between words at this width).
    let words: std::collections::HashSet<&str> = seen
        .split(|c: char| c.is_whitespace() || c == '│')
        .collect();
    for group in zchat_tui::app::help::groups() {
        for (k, d) in group {
            for w in k.split_whitespace().chain(d.split_whitespace()) {
                assert!(words.contains(w), "{w:?} of {k:?} missing:\n{seen}");
            }
        }
    }
    for cmd in [
        "/users", "/help", "/logout", "/quit", "Tab", "Ctrl+Q", "wheel",
    ] {
        assert!(words.contains(cmd), "{cmd}");
    }
}
