//! App-state tests without a terminal: unread counts, read markers, mentions, scroll
//! anchoring, paging, reconnect and backfill, commands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod tui_fixture;

use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_fixture::*;
use zchat_client::feed::FeedEvent;
use zchat_protocol::{DmSummary, Target};
use zchat_tui::app::{Action, Effect, HistoryKind, SendFailure};

fn t(s: &str) -> Target {
    Target::parse(s).unwrap()
}

fn conv<'a>(app: &'a zchat_tui::app::App, target: &str) -> &'a zchat_tui::app::Conversation {
    &app.conversations[app.find(&t(target)).unwrap()]
}

#[test]
fn unread_counts_live_messages_once_and_not_mine() {
    let mut app = signed_in();
    assert_eq!(conv(&app, "#random").unread, 2);
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#random", 10, 3, "bob", "new",
    ))));
    assert_eq!(conv(&app, "#random").unread, 3);
    // The same message again (a replayed event): no change.
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#random", 10, 3, "bob", "new",
    ))));
    assert_eq!(conv(&app, "#random").unread, 3);
    // A message the server already counted (seq <= last_seq at bootstrap) does not count.
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#random", 9, 1, "bob", "old news",
    ))));
    assert_eq!(conv(&app, "#random").unread, 3);
    // My own message from another session: sending moved my read marker on the server.
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#random", 11, 4, "alice", "mine",
    ))));
    assert_eq!(conv(&app, "#random").unread, 0);
    assert_eq!(conv(&app, "#random").read_seq, 11);
    // Others' messages after it count again.
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#random", 12, 5, "bob", "reply",
    ))));
    assert_eq!(conv(&app, "#random").unread, 1);
    // The open conversation stays read, and its marker is persisted.
    let fx = app.update(Action::Feed(FeedEvent::Message(msg(
        "#general", 6, 4, "bob", "hi",
    ))));
    assert_eq!(conv(&app, "#general").unread, 0);
    assert!(fx.contains(&Effect::MarkRead {
        target: t("#general"),
        seq: 6
    }));
}

#[test]
fn opening_a_conversation_marks_it_read_and_places_the_marker() {
    let mut app = signed_in();
    let fx = open(&mut app, "#random");
    assert!(fx.iter().any(|f| matches!(
        f,
        Effect::LoadHistory {
            kind: HistoryKind::Latest,
            ..
        }
    )));
    assert_eq!(conv(&app, "#random").marker_seq, Some(7));
    let history = (1..=9)
        .map(|s| msg("#random", s, s as i64, "carol", &format!("m{s}")))
        .collect();
    let fx = app.update(Action::History {
        target: t("#random"),
        messages: history,
        has_more: false,
        kind: HistoryKind::Latest,
    });
    assert!(fx.contains(&Effect::MarkRead {
        target: t("#random"),
        seq: 9
    }));
    assert_eq!(conv(&app, "#random").unread, 0);
    assert_eq!(app.total_unread(), 1, "only the DM is left");
}

#[test]
fn a_partial_read_elsewhere_lowers_the_count_of_an_unloaded_conversation() {
    let mut app = signed_in();
    let before = conv(&app, "#random").clone();
    assert!(
        before.unread >= 2 && before.messages.is_empty(),
        "fixture: unread, nothing loaded"
    );
    // Another session read up to one message before the end.
    app.update(Action::Feed(FeedEvent::ReadMarker {
        target: t("#random"),
        seq: before.last_seq - 1,
    }));
    let after = conv(&app, "#random");
    assert_eq!(
        after.unread, 1,
        "at most one message is left after the marker"
    );
}

#[test]
fn read_marker_from_another_session_clears_unread() {
    let mut app = signed_in();
    app.update(Action::Feed(FeedEvent::ReadMarker {
        target: t("@bob"),
        seq: 3,
    }));
    assert_eq!(conv(&app, "@bob").unread, 0);
    assert!(!conv(&app, "@bob").mentioned);
}

#[test]
fn mentions_mark_the_conversation_and_ring_the_bell() {
    let mut app = signed_in();
    let fx = app.update(Action::Feed(FeedEvent::Message(msg(
        "#random",
        10,
        3,
        "bob",
        "ping @Alice: review?",
    ))));
    assert!(fx.contains(&Effect::Bell));
    assert!(conv(&app, "#random").mentioned);
    app.bell = false;
    let fx = app.update(Action::Feed(FeedEvent::Message(msg(
        "#random",
        11,
        3,
        "bob",
        "@alice again",
    ))));
    assert!(!fx.contains(&Effect::Bell), "bell is configurable");
    // Not a mention: a longer name.
    let fx = app.update(Action::Feed(FeedEvent::Message(msg(
        "#rust",
        1,
        3,
        "bob",
        "@alicex hi",
    ))));
    assert!(!fx.contains(&Effect::Bell));
}

#[test]
fn new_dm_from_a_stranger_appears_in_the_sidebar() {
    let mut app = signed_in();
    app.update(Action::Feed(FeedEvent::Message(msg(
        "@alice",
        1,
        3,
        "dave",
        "hello 👋",
    ))));
    assert_eq!(conv(&app, "@dave").unread, 1);
    let b = render(&mut app, 80, 24);
    assert!(screen_text(&b).contains("@dave"));
}

fn feed_rows(app: &mut zchat_tui::app::App) -> Vec<String> {
    let b = render(app, 80, 24);
    screen_text(&b)
        .lines()
        .skip(1)
        .take(20)
        .map(|l| l.chars().skip(22).collect())
        .collect()
}

#[test]
fn scrolled_view_is_not_yanked_by_new_messages_and_pages_older_in() {
    let mut app = signed_in();
    // Read elsewhere: it opens at the newest message (not at a first unread).
    app.update(Action::Feed(FeedEvent::ReadMarker {
        target: t("#random"),
        seq: 9,
    }));
    open(&mut app, "#random");
    let history = (50..=99)
        .map(|s| {
            msg(
                "#random",
                s,
                s as i64,
                "carol",
                &format!("message number {s}"),
            )
        })
        .collect();
    app.update(Action::History {
        target: t("#random"),
        messages: history,
        has_more: true,
        kind: HistoryKind::Latest,
    });
    app.update(key(KeyCode::PageUp, KeyModifiers::NONE));
    let before = feed_rows(&mut app);
    assert!(conv(&app, "#random").scroll > 0);
    // New messages arrive while scrolled: the view stays put, and they count as unread.
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#random",
        100,
        101,
        "bob",
        "a new one",
    ))));
    app.update(Action::Feed(FeedEvent::Message(msg("#random", 101, 102, "bob", "and a very long one that wraps over more than a single line of the feed pane for sure, twice even"))));
    assert_eq!(feed_rows(&mut app), before);
    assert_eq!(conv(&app, "#random").unread, 2);
    // Scrolling to the top asks for the previous page exactly once.
    let mut fx = Vec::new();
    for _ in 0..10 {
        fx.extend(app.update(key(KeyCode::PageUp, KeyModifiers::NONE)));
    }
    let older: Vec<_> = fx
        .iter()
        .filter(|f| {
            matches!(
                f,
                Effect::LoadHistory {
                    kind: HistoryKind::Older,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(older.len(), 1);
    assert!(matches!(
        older[0],
        Effect::LoadHistory {
            before: Some(50),
            ..
        }
    ));
    let at_top = feed_rows(&mut app);
    app.update(Action::History {
        target: t("#random"),
        messages: (1..50)
            .map(|s| {
                msg(
                    "#random",
                    s,
                    s as i64,
                    "carol",
                    &format!("message number {s}"),
                )
            })
            .collect(),
        has_more: false,
        kind: HistoryKind::Older,
    });
    // The page lands above: the messages on screen stay where they were; only the
    // "loading" and separator rows at the top give way to older messages.
    assert!(at_top[0].contains("loading older"));
    let now = feed_rows(&mut app);
    assert!(at_top[2].contains("message number 50"), "{at_top:?}");
    assert_eq!(now[2..], at_top[2..]);
    assert!(now[0].contains("message number 48"), "{now:?}");
    // End jumps back to the newest, which marks everything read.
    let fx = app.update(key(KeyCode::End, KeyModifiers::CONTROL));
    assert_eq!(conv(&app, "#random").scroll, 0);
    assert!(fx.contains(&Effect::MarkRead {
        target: t("#random"),
        seq: 101
    }));
    assert_eq!(conv(&app, "#random").messages.len(), 101);
}

#[test]
fn reconnect_retries_unsent_and_backfills_without_duplicates() {
    let mut app = signed_in();
    // Sent while online but the server went away before answering.
    type_text(&mut app, "first");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    let Some(Effect::Send { nonce, .. }) = fx
        .iter()
        .find(|f| matches!(f, Effect::Send { .. }))
        .cloned()
    else {
        panic!("no send: {fx:?}");
    };
    app.update(Action::Sent {
        target: t("#general"),
        nonce,
        result: Err(SendFailure::Offline("server unreachable".into())),
    });
    app.update(Action::Feed(FeedEvent::Connection {
        connected: false,
        rtt: None,
    }));
    // Typed while offline: kept, marked unsent, nothing sent.
    type_text(&mut app, "second");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(!fx.iter().any(|f| matches!(f, Effect::Send { .. })));
    assert_eq!(conv(&app, "#general").pending.len(), 2);
    assert!(conv(&app, "#general").pending.iter().all(|p| p.failed));
    assert!(screen_text(&render(&mut app, 80, 24)).contains("reconnecting"));

    // Back: refresh, and both are sent again with their original nonces.
    let fx = app.update(Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: Some(std::time::Duration::from_millis(2)),
    }));
    assert!(fx.contains(&Effect::Bootstrap));
    let sends: Vec<u64> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Send { nonce, .. } => Some(*nonce),
            _ => None,
        })
        .collect();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0], nonce);

    // The server moved on while we were away: backfill after what is loaded.
    let fx = app.update(Action::Bootstrap {
        channels: vec![
            channel("general", "", 9, 5, 2),
            channel("random", "Off-topic", 9, 7, 2),
            channel("rust", "Rust talk 🦀", 0, 0, 0),
        ],
        dms: vec![DmSummary {
            peer: "bob".into(),
            last: None,
            last_seq: 3,
            read_seq: 2,
            unread: 1,
        }],
    });
    assert!(fx.contains(&Effect::LoadHistory {
        target: t("#general"),
        kind: HistoryKind::After,
        before: None,
        after: Some(5),
    }));
    // The feed delivers 6 live while the backfill page (6..=9) is in flight: no duplicates.
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#general", 6, 10, "bob", "missed 1",
    ))));
    app.update(Action::History {
        target: t("#general"),
        messages: (6..=9)
            .map(|s| msg("#general", s, 10, "bob", &format!("missed {}", s - 5)))
            .collect(),
        has_more: false,
        kind: HistoryKind::After,
    });
    let seqs: Vec<u64> = conv(&app, "#general")
        .messages
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<_>>());
    // The retried sends are acknowledged: pending lines become real messages.
    for (n, nonce) in sends.iter().enumerate() {
        let seq = 10 + n as u64;
        app.update(Action::Sent {
            target: t("#general"),
            nonce: *nonce,
            result: Ok(msg(
                "#general",
                seq,
                11,
                "alice",
                if n == 0 { "first" } else { "second" },
            )),
        });
    }
    // ... and their echo from the feed is not shown twice.
    app.update(Action::Feed(FeedEvent::Message(msg(
        "#general", 10, 11, "alice", "first",
    ))));
    let c = conv(&app, "#general");
    assert!(c.pending.is_empty());
    assert_eq!(c.messages.len(), 11);
    assert_eq!(c.unread, 0);
}

#[test]
fn commands_join_leave_dm() {
    let mut app = signed_in();
    type_text(&mut app, "/join #Jobs");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(fx, vec![Effect::Join("jobs".into())]);
    let fx = app.update(Action::Joined(channel("jobs", "Hiring", 0, 0, 0)));
    assert!(fx.contains(&Effect::Watch {
        target: t("#jobs"),
        last_seen: 0
    }));
    assert_eq!(app.active().unwrap().target, t("#jobs"));

    type_text(&mut app, "/leave");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(fx, vec![Effect::Leave("jobs".into())]);
    let fx = app.update(Action::Left("jobs".into()));
    assert!(fx.contains(&Effect::Unwatch(t("#jobs"))));
    assert!(app.find(&t("#jobs")).is_none());

    type_text(&mut app, "/dm @carol salut 🙂");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(fx.iter().any(|f| matches!(f, Effect::Send { target, text, .. } if *target == t("@carol") && text == "salut 🙂")));
    assert_eq!(app.active().unwrap().target, t("@carol"));

    type_text(&mut app, "/bogus");
    app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.notice.as_ref().unwrap().error);

    type_text(&mut app, "/quit");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(fx.contains(&Effect::Quit));
    assert!(app.quit);
}

#[test]
fn keys_move_between_conversations_and_mouse_selects() {
    let mut app = signed_in();
    app.update(key(KeyCode::Char('n'), KeyModifiers::CONTROL));
    assert_eq!(app.active().unwrap().target, t("#random"));
    app.update(key(KeyCode::Up, KeyModifiers::ALT));
    assert_eq!(app.active().unwrap().target, t("#general"));
    app.update(key(KeyCode::Char('4'), KeyModifiers::ALT));
    assert_eq!(app.active().unwrap().target, t("@bob"));
    app.update(key(KeyCode::Char('p'), KeyModifiers::CONTROL));
    assert_eq!(app.active().unwrap().target, t("#rust"));
    // Click on the third sidebar row (#random).
    render(&mut app, 80, 24);
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 3,
        row: 2,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.active().unwrap().target, t("#random"));
    // Esc closes popups; ? opens help only when the input is empty.
    app.update(key(KeyCode::Char('?'), KeyModifiers::NONE));
    assert!(app.popup.is_some());
    app.update(key(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.popup.is_none());
    type_text(&mut app, "why?");
    assert!(app.popup.is_none());
    assert_eq!(app.input.text(), "why?");
}

#[test]
fn alt_enter_makes_one_multi_line_message() {
    let mut app = signed_in();
    type_text(&mut app, "line one");
    app.update(key(KeyCode::Enter, KeyModifiers::ALT));
    type_text(&mut app, "line two");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(fx
        .iter()
        .any(|f| matches!(f, Effect::Send { text, .. } if text == "line one\nline two")));
    // Up recalls it.
    app.update(key(KeyCode::Up, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "line one\nline two");
}

#[test]
fn session_rejected_returns_to_the_form() {
    let mut app = signed_in();
    app.update(Action::SessionRejected(
        "session expired: please sign in again".into(),
    ));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("session expired"), "{text}");
    assert!(app.conversations.is_empty());
}

#[test]
fn a_refused_message_is_dropped_and_given_back() {
    let mut app = signed_in();
    type_text(&mut app, "/dm @nobody hello?");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    let Some(Effect::Send { nonce, .. }) = fx
        .iter()
        .find(|f| matches!(f, Effect::Send { .. }))
        .cloned()
    else {
        panic!("no send: {fx:?}");
    };
    app.update(Action::Sent {
        target: t("@nobody"),
        nonce,
        result: Err(SendFailure::Rejected("no such user".into())),
    });
    assert!(conv(&app, "@nobody").pending.is_empty());
    assert_eq!(app.input.text(), "hello?");
    assert!(app.notice.as_ref().unwrap().text.contains("no such user"));
}

#[test]
fn bootstrap_does_not_resurrect_counts_read_here() {
    let mut app = signed_in();
    open(&mut app, "#random");
    app.update(Action::History {
        target: t("#random"),
        messages: (1..=9).map(|s| msg("#random", s, 0, "bob", "x")).collect(),
        has_more: false,
        kind: HistoryKind::Latest,
    });
    assert_eq!(conv(&app, "#random").unread, 0);
    // A refresh that raced our mark_read still reports the old marker.
    app.update(Action::Bootstrap {
        channels: vec![
            channel("general", "", 5, 5, 0),
            channel("random", "", 9, 7, 2),
        ],
        dms: vec![],
    });
    assert_eq!(conv(&app, "#random").unread, 0);
    assert_eq!(conv(&app, "#random").read_seq, 9);
}

#[test]
fn sidebar_scrolls_to_keep_the_open_conversation_visible() {
    let mut app = signed_in();
    for n in 0..30 {
        app.update(Action::Feed(FeedEvent::Message(msg(
            "@alice",
            1,
            0,
            &format!("user{n:02}"),
            "hi",
        ))));
    }
    open(&mut app, "@user29");
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("›@user29"), "{text}");
    // A click maps to what is drawn on that row.
    let row = text.lines().position(|l| l.contains("@user28")).unwrap() as u16;
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 3,
        row,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.active().unwrap().target, t("@user28"));
}

#[test]
fn tab_completes_user_names() {
    let mut app = signed_in();
    // #general is open: its authors (bob, carol) and DM peers complete; not me.
    type_text(&mut app, "thanks Ca");
    app.update(key(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "thanks @carol ");
    type_text(&mut app, "and @b");
    app.update(key(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "thanks @carol and @bob ");
    // Nothing to complete: nothing changes.
    type_text(&mut app, "al");
    app.update(key(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "thanks @carol and @bob al");
}
