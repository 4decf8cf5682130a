//! Shared fixtures for the TUI tests: an `App` signed in as alice with a few conversations
//! and fixed timestamps (UTC), and a renderer into ratatui's `TestBackend`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use zchat_client::feed::FeedEvent;
use zchat_protocol::{ChannelInfo, DmSummary, Message, Target};
use zchat_tui::app::{Action, App, Effect, HistoryKind};

/// 2026-11-23 09:00:00 UTC, in ms.
pub const T0: i64 = 1_795_424_400_000;
pub const MIN: i64 = 60_000;

pub fn msg(target: &str, seq: u64, minutes: i64, from: &str, text: &str) -> Message {
    Message {
        target: Target::parse(target).unwrap(),
        seq,
        ts: T0 + minutes * MIN,
        from: from.into(),
        text: text.into(),
    }
}

pub fn channel(name: &str, desc: &str, last_seq: u64, read_seq: u64, unread: u64) -> ChannelInfo {
    ChannelInfo {
        name: name.into(),
        description: desc.into(),
        members: 3,
        last_seq,
        joined: true,
        read_seq,
        unread,
    }
}

pub fn general_history() -> Vec<Message> {
    vec![
        msg("#general", 1, -1500, "bob", "Bonjour à tous ! Café ☕ anyone?"),
        msg("#general", 2, -1490, "carol", "こんにちは 世界 — wide characters must align 🎉"),
        msg("#general", 3, 0, "alice", "Morning! Shipping the release today 🚀"),
        msg("#general", 4, 1, "bob", "@alice the build is green, go ahead"),
        msg(
            "#general",
            5,
            2,
            "carol",
            "A longer message that has to wrap over several lines of the feed, so that the continuation lines are indented under the text column and never under the author.",
        ),
    ]
}

/// alice, signed in, with #general open (history loaded), #random unread and a DM from bob.
pub fn signed_in() -> App {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "");
    app.offset_secs = 0;
    app.now_ms = T0 + 3 * MIN;
    app.size = (80, 24);
    app.update(Action::SignedIn {
        user: "alice".into(),
    });
    app.update(Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: Some(std::time::Duration::from_micros(1_800)),
    }));
    let fx = app.update(Action::Bootstrap {
        channels: vec![
            channel("general", "Everything and nothing · café ☕", 5, 5, 0),
            channel("random", "Off-topic", 9, 7, 2),
            channel("rust", "Rust talk 🦀", 0, 0, 0),
        ],
        dms: vec![DmSummary {
            peer: "bob".into(),
            last: Some(msg("@alice", 3, 2, "bob", "lunch?")),
            last_seq: 3,
            read_seq: 2,
            unread: 1,
        }],
    });
    assert!(fx.iter().any(|f| matches!(f, Effect::Watch { .. })));
    open(&mut app, "#general");
    app.update(Action::History {
        target: Target::parse("#general").unwrap(),
        messages: general_history(),
        has_more: false,
        kind: HistoryKind::Latest,
    });
    app
}

/// Opens a conversation through the quick switcher (as a user would).
pub fn open(app: &mut App, target: &str) -> Vec<Effect> {
    let mut fx = app.update(key(KeyCode::Char('k'), KeyModifiers::CONTROL));
    for c in target.chars() {
        fx.extend(app.update(key(KeyCode::Char(c), KeyModifiers::NONE)));
    }
    fx.extend(app.update(key(KeyCode::Enter, KeyModifiers::NONE)));
    fx
}

pub fn key(code: KeyCode, mods: KeyModifiers) -> Action {
    Action::Key(KeyEvent::new(code, mods))
}

pub fn type_text(app: &mut App, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(app.update(key(KeyCode::Char(c), KeyModifiers::NONE)));
    }
    fx
}

pub fn render(app: &mut App, w: u16, h: u16) -> TestBackend {
    app.update(Action::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(&*app, f.area())).unwrap();
    t.backend().clone()
}

/// The screen as plain text lines (no quotes), for assertions.
pub fn screen_text(b: &TestBackend) -> String {
    let buf = b.buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let s = buf[(x, y)].symbol();
            out.push_str(s);
            skip = unicode_width::UnicodeWidthStr::width(s).saturating_sub(1);
        }
        out.push('\n');
    }
    out
}
