//! App-state tests without a terminal: unread counts, read markers, mentions, scroll
//! anchoring, paging, reconnect and backfill, commands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod tui_fixture;

use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_fixture::*;
use zchat_client::feed::FeedEvent;
use zchat_protocol::{DmSummary, Target};
use zchat_tui::app::popup::Popup;
use zchat_tui::app::{Action, Effect, HistoryKind, SendFailure, SidebarRow};

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
    // Sidebar order: Unread (@bob, a DM; then #random), then Channels (#general, #rust).
    app.update(key(KeyCode::Char('n'), KeyModifiers::CONTROL));
    assert_eq!(app.active().unwrap().target, t("#rust"));
    app.update(key(KeyCode::Up, KeyModifiers::ALT));
    assert_eq!(app.active().unwrap().target, t("#general"));
    app.update(key(KeyCode::Char('1'), KeyModifiers::ALT));
    assert_eq!(app.active().unwrap().target, t("@bob"));
    app.update(key(KeyCode::Char('p'), KeyModifiers::CONTROL));
    assert_eq!(app.active().unwrap().target, t("#rust"));
    // Click on the third sidebar row (#random, under "Unread" and @bob).
    render(&mut app, 80, 24);
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 3,
        row: 2,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.active().unwrap().target, t("#random"));
    // Help is F1; Esc closes popups.
    app.update(key(KeyCode::F(1), KeyModifiers::NONE));
    assert!(app.popup.is_some());
    app.update(key(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.popup.is_none());
}

#[test]
fn a_message_can_start_with_a_question_mark() {
    let mut app = signed_in();
    type_text(&mut app, "?");
    assert!(
        app.popup.is_none(),
        "? on an empty line is just a character"
    );
    type_text(&mut app, " anyone around");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(fx
        .iter()
        .any(|f| matches!(f, Effect::Send { text, .. } if text == "? anyone around")));
    // Help stays on F1 and /help (and /?).
    for cmd in ["/help", "/?"] {
        type_text(&mut app, cmd);
        app.update(key(KeyCode::Enter, KeyModifiers::NONE));
        assert!(matches!(app.popup, Some(Popup::Help)), "{cmd}");
        app.update(key(KeyCode::Esc, KeyModifiers::NONE));
    }
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
    // Word deletion stops at punctuation (`al`, `bob`, `@`); one undo takes a completion
    // back to what was typed.
    for _ in 0..3 {
        app.update(key(KeyCode::Backspace, KeyModifiers::CONTROL));
    }
    assert_eq!(app.input.text(), "thanks @carol and ");
    type_text(&mut app, "👍🏽 b");
    app.update(key(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.input.text(), "thanks @carol and 👍🏽 @bob ");
    app.update(key(KeyCode::Char('z'), KeyModifiers::CONTROL));
    assert_eq!(app.input.text(), "thanks @carol and 👍🏽 b");
}

// --- Text as people type it: grapheme clusters and the growing input box ---

const FAMILY: &str = "👨\u{200d}👩\u{200d}👧";

/// Every cluster a user can type that is more than one `char` (and a wide CJK one).
const CLUSTERS: [&str; 5] = [FAMILY, "👍🏽", "🇧🇷", "e\u{301}", "日"];

#[test]
fn the_input_edits_grapheme_clusters_as_one_unit() {
    for cluster in CLUSTERS {
        let mut app = signed_in();
        // Typed one `char` at a time, as a terminal delivers it.
        type_text(&mut app, &format!("x{cluster}y"));
        assert_eq!(app.input.text(), format!("x{cluster}y"));
        // ← over `y`, ← over the whole cluster: the cursor is after `x`.
        app.update(key(KeyCode::Left, KeyModifiers::NONE));
        app.update(key(KeyCode::Left, KeyModifiers::NONE));
        assert_eq!(app.input.editor().cursor(), 1, "{cluster}");
        // Delete takes the whole cluster, and Ctrl+U (undo) brings it back.
        app.update(key(KeyCode::Delete, KeyModifiers::NONE));
        assert_eq!(app.input.text(), "xy", "{cluster}");
        app.update(key(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(app.input.text(), format!("x{cluster}y"), "{cluster}");
        // → steps over it again; Backspace removes it whole.
        app.update(key(KeyCode::Home, KeyModifiers::NONE));
        app.update(key(KeyCode::Right, KeyModifiers::NONE));
        app.update(key(KeyCode::Right, KeyModifiers::NONE));
        assert_eq!(app.input.editor().cursor(), 1 + cluster.len(), "{cluster}");
        app.update(key(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(app.input.text(), "xy", "{cluster}");
        // Ctrl+R redoes what was undone.
        app.update(key(KeyCode::Char('u'), KeyModifiers::CONTROL));
        app.update(key(KeyCode::Char('r'), KeyModifiers::CONTROL));
        assert_eq!(app.input.text(), "xy", "{cluster}");
    }
}

#[test]
fn the_input_draws_clusters_whole_with_the_cursor_on_them() {
    let mut app = signed_in();
    let text = format!("a{FAMILY}👍🏽🇧🇷e\u{301}日");
    app.update(Action::Paste(text.clone()));
    // The cursor on each cluster in turn: the row always reads the same.
    for _ in 0..=CLUSTERS.len() {
        let screen = screen_text(&render(&mut app, 80, 24));
        assert!(screen.contains(&format!("› {text}")), "{screen}");
        app.update(key(KeyCode::Left, KeyModifiers::NONE));
    }
    // Width in columns: a (1) + five clusters of 2, 2, 2, 1, 2.
    assert_eq!(app.input.editor().cursor_at(55), (0, 0));
    app.update(key(KeyCode::Right, KeyModifiers::NONE));
    assert_eq!(app.input.editor().cursor_at(55), (0, 1));
    app.update(key(KeyCode::End, KeyModifiers::NONE));
    assert_eq!(app.input.editor().cursor_at(55), (0, 10));
}

#[test]
fn word_deletion_and_word_jumps_respect_clusters() {
    let mut app = signed_in();
    type_text(&mut app, &format!("bonjour {FAMILY}👍🏽 café"));
    app.update(key(KeyCode::Char('w'), KeyModifiers::CONTROL));
    assert_eq!(app.input.text(), format!("bonjour {FAMILY}👍🏽 "));
    app.update(key(KeyCode::Backspace, KeyModifiers::ALT));
    assert_eq!(app.input.text(), "bonjour ");
    // Ctrl+Y puts back what the last word deletion took.
    app.update(key(KeyCode::Char('y'), KeyModifiers::CONTROL));
    assert_eq!(app.input.text(), format!("bonjour {FAMILY}👍🏽 "));
    app.update(key(KeyCode::Left, KeyModifiers::CONTROL));
    assert_eq!(app.input.editor().cursor(), "bonjour ".len());
}

/// The feed height and the editor rows as drawn: the prompt `›` starts the editor in the
/// right pane (x = `pane_x`), the rule is the row above it, the feed ends above the rule.
fn drawn_rows(app: &mut zchat_tui::app::App, w: u16, h: u16, pane_x: usize) -> (usize, usize) {
    let text = screen_text(&render(app, w, h));
    let prompt = text
        .lines()
        .position(|l| l.chars().nth(pane_x) == Some('›'))
        .unwrap_or_else(|| panic!("no prompt:\n{text}"));
    (prompt - 2, usize::from(h) - 1 - prompt)
}

#[test]
fn a_long_word_wraps_and_the_input_grows_then_scrolls() {
    let mut app = signed_in();
    let (_, feed_h) = app.feed_size();
    let word: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    app.update(Action::Paste(word.clone()));
    // 80 columns: the sidebar takes 22, the prompt 2, the cursor column 1: rows of 55.
    let rows = app.input.row_count(55);
    assert_eq!(rows, 6);
    let text = screen_text(&render(&mut app, 80, 24));
    // Capped at 5 rows, scrolled to the cursor: the tail is shown, the start is not.
    assert!(text.contains(&format!("  {}", &word[275..])), "{text}");
    assert!(text.contains(&format!("› {}", &word[55..110])), "{text}");
    assert!(!text.contains(&word[..55]), "{text}");
    assert!(text.contains("2–6 of 6 rows"), "{text}");
    assert_eq!(drawn_rows(&mut app, 80, 24, 22), (app.feed_size().1, 5));
    assert_eq!(app.feed_size().1, feed_h - 4);
    // Up moves through the wrapped rows before history: after 5 rows up, the first row
    // shows and the box has scrolled.
    for _ in 0..5 {
        app.update(key(KeyCode::Up, KeyModifiers::NONE));
    }
    assert_eq!(app.input.editor().cursor_at(55).0, 0);
    assert_eq!(app.input.text(), word);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains(&format!("› {}", &word[..55])), "{text}");
    assert!(text.contains("1–5 of 6 rows"), "{text}");
    // Sent: the box shrinks back and the feed gets its rows back.
    app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.input.is_empty());
    assert_eq!(app.feed_size().1, feed_h);
    assert_eq!(drawn_rows(&mut app, 80, 24, 22), (feed_h, 1));
}

#[test]
fn pasted_lines_show_as_lines_and_the_feed_size_matches_what_is_drawn() {
    let mut app = signed_in();
    app.update(Action::Paste("first line\r\nsecond line\nthird".into()));
    assert_eq!(app.input.text(), "first line\nsecond line\nthird");
    let text = screen_text(&render(&mut app, 80, 24));
    for l in ["› first line", "  second line", "  third"] {
        assert!(text.contains(l), "{l:?} in\n{text}");
    }
    // Every size, narrow to wide, short to tall: the app's feed size is the drawn one.
    for (w, h, pane_x) in [
        (80, 24, 22),
        (60, 20, 16),
        (40, 12, 0),
        (30, 8, 0),
        (120, 40, 22),
    ] {
        let (feed, editor) = drawn_rows(&mut app, w, h, pane_x);
        assert_eq!(app.feed_size(), (usize::from(w) - pane_x, feed), "{w}×{h}");
        assert!((1..=5).contains(&editor), "{w}×{h}: {editor}");
    }
    // Alt+Enter and Ctrl+J add lines; Enter sends all of them as one message.
    app.update(key(KeyCode::Enter, KeyModifiers::ALT));
    type_text(&mut app, "four");
    app.update(key(KeyCode::Char('j'), KeyModifiers::CONTROL));
    type_text(&mut app, "five");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert!(fx.iter().any(|f| matches!(f, Effect::Send { text, .. }
        if text == "first line\nsecond line\nthird\nfour\nfive")));
}

#[test]
fn only_changes_ask_for_a_frame() {
    let mut app = signed_in();
    let now = app.now_ms;
    assert!(app.take_redraw(), "a fresh state has never been drawn");
    assert!(!app.take_redraw(), "asking again without a change");
    // The clock alone changes nothing on screen: an idle client draws nothing.
    app.update(Action::Tick(now + 500));
    assert!(!app.take_redraw());
    // A key does.
    app.update(key(KeyCode::Char('x'), KeyModifiers::NONE));
    assert!(app.take_redraw());
    // A notice shown, then expired by the clock: the tick that removes it asks for a frame.
    app.update(Action::Failed("boom".into()));
    assert!(app.take_redraw());
    app.update(Action::Tick(now + 60_000));
    assert!(app.notice.is_none());
    assert!(app.take_redraw());
    app.update(Action::Tick(now + 60_500));
    assert!(!app.take_redraw());
}

#[test]
fn a_channel_joined_while_the_bootstrap_is_in_flight_survives_its_older_snapshot() {
    let mut app = signed_in();
    // A reconnect starts a bootstrap; before its answer, the user creates #new and leaves
    // #rust. The bootstrap's snapshot predates both and must not undo them.
    app.update(Action::Feed(FeedEvent::Connection {
        connected: false,
        rtt: None,
    }));
    let fx = app.update(Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: None,
    }));
    assert!(fx.contains(&Effect::Bootstrap));
    app.update(Action::Joined(tui_fixture::channel("new", "", 0, 0, 0)));
    app.update(Action::Left("rust".into()));
    app.update(Action::Bootstrap {
        channels: vec![
            tui_fixture::channel("general", "", 5, 5, 0),
            tui_fixture::channel("random", "", 9, 7, 2),
            tui_fixture::channel("rust", "", 0, 0, 0),
        ],
        dms: vec![],
    });
    assert!(app.find(&t("#new")).is_some(), "the new channel stays");
    assert_eq!(app.active().map(|c| c.target.clone()), Some(t("#new")));
    assert!(
        app.find(&t("#rust")).is_none(),
        "the channel left stays gone"
    );
    // The next bootstrap is authoritative again.
    app.update(Action::Feed(FeedEvent::Connection {
        connected: false,
        rtt: None,
    }));
    app.update(Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: None,
    }));
    app.update(Action::Bootstrap {
        channels: vec![tui_fixture::channel("general", "", 5, 5, 0)],
        dms: vec![],
    });
    assert!(app.find(&t("#new")).is_none());
}

fn live(
    app: &mut zchat_tui::app::App,
    target: &str,
    seq: u64,
    minutes: i64,
    from: &str,
    text: &str,
) -> Vec<Effect> {
    app.update(Action::Feed(FeedEvent::Message(msg(
        target, seq, minutes, from, text,
    ))))
}

fn order(app: &zchat_tui::app::App) -> Vec<String> {
    app.sidebar_order()
        .into_iter()
        .map(|i| app.conversations[i].target.key())
        .collect()
}

#[test]
fn sidebar_puts_mentions_and_dms_first_then_other_unread_then_the_rest() {
    let mut app = signed_in();
    // bob's DM (unread, 09:02), #random (unread, no mention).
    assert_eq!(order(&app), ["@bob", "#random", "#general", "#rust"]);
    // A mention in #rust and a DM from a stranger, newest last.
    live(&mut app, "#rust", 1, 4, "carol", "@alice can you review?");
    let fx = live(&mut app, "@alice", 1, 5, "dave", "hello there");
    assert_eq!(
        order(&app),
        ["@dave", "#rust", "@bob", "#random", "#general"],
        "mentions and DMs by recent activity, then other unread, then read ones"
    );
    // The unread total goes to the terminal title too.
    assert!(
        fx.contains(&Effect::SetTitle("(5) zchat · alice".into())),
        "{fx:?}"
    );
    // The rows: an Unread section first; Channels holds what is left; no empty sections.
    let rows = app.sidebar_rows();
    assert_eq!(rows[0], SidebarRow::Header("Unread"));
    assert!(rows.contains(&SidebarRow::Header("Channels")));
    assert!(!rows.contains(&SidebarRow::Header("Direct messages")));
    // Alt+1 opens what is drawn first.
    app.update(key(KeyCode::Char('1'), KeyModifiers::ALT));
    assert_eq!(app.active().unwrap().target, t("@dave"));
    // Read, it keeps its place while it is open (the list does not jump under the reader)…
    app.update(Action::History {
        target: t("@dave"),
        messages: vec![msg("@alice", 1, 5, "dave", "hello there")],
        has_more: false,
        kind: HistoryKind::Latest,
    });
    assert_eq!(conv(&app, "@dave").unread, 0);
    assert_eq!(order(&app)[0], "@dave");
    // …and goes to its section when another one is opened.
    open(&mut app, "#general");
    assert_eq!(
        order(&app),
        ["#rust", "@bob", "#random", "#general", "@dave"]
    );
    // Every width shows the unread total; big counts say so.
    let text = screen_text(&render(&mut app, 40, 12));
    assert!(text.contains("4 unread"), "{text}");
    app.update(Action::Bootstrap {
        channels: vec![
            channel("general", "", 5, 5, 0),
            channel("random", "", 2000, 7, 1993),
            channel("rust", "", 1, 0, 1),
        ],
        dms: vec![],
    });
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains(" 999+ "), "{text}");
}

/// alice in 200 channels, the last one open.
fn two_hundred_channels() -> zchat_tui::app::App {
    let mut app = signed_in();
    let channels = (0..200)
        .map(|n| channel(&format!("ch{n:03}"), "", 1, 1, 0))
        .collect();
    app.update(Action::Bootstrap {
        channels,
        dms: vec![DmSummary {
            peer: "bob".into(),
            last: None,
            last_seq: 3,
            read_seq: 3,
            unread: 0,
        }],
    });
    open(&mut app, "#ch199");
    assert_eq!(app.total_unread(), 0);
    app
}

#[test]
fn sidebar_scrolls_by_wheel_and_keys_and_points_at_unread_above() {
    let mut app = two_hundred_channels();
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("›#ch199"),
        "follows the open conversation: {text}"
    );
    // A DM arrives: it goes to the top, out of view; the sidebar says so, so does the bar.
    live(&mut app, "@alice", 1, 5, "zed", "psst");
    let text = screen_text(&render(&mut app, 80, 24));
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("↑ 1 unread"), "{text}");
    assert!(text.lines().last().unwrap().contains("1 unread"), "{text}");
    // The wheel over the sidebar scrolls the sidebar, not the feed.
    let feed_scroll = app.active().unwrap().scroll;
    let before = app.sidebar_first_row(23);
    let wheel = |kind, column| {
        Action::Mouse(MouseEvent {
            kind,
            column,
            row: 5,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(wheel(MouseEventKind::ScrollUp, 3));
    assert_eq!(app.sidebar_first_row(23), before - 3);
    assert_eq!(app.active().unwrap().scroll, feed_scroll);
    // Over the feed it scrolls the feed.
    app.update(wheel(MouseEventKind::ScrollUp, 40));
    assert_eq!(app.sidebar_first_row(23), before - 3);
    // Alt+PgUp / Alt+PgDn page the sidebar.
    app.update(key(KeyCode::PageUp, KeyModifiers::ALT));
    assert_eq!(app.sidebar_first_row(23), before - 13);
    app.update(key(KeyCode::PageDown, KeyModifiers::ALT));
    assert_eq!(app.sidebar_first_row(23), before - 3);
    // A click on "↑ 1 unread" scrolls to the top, where the DM is.
    app.update(Action::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 3,
        row: 0,
        modifiers: KeyModifiers::NONE,
    }));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.lines().nth(1).unwrap().contains("@zed"), "{text}");
    // The quick switcher lists it first.
    app.update(key(KeyCode::Char('k'), KeyModifiers::CONTROL));
    match &app.popup {
        Some(Popup::Switcher(p)) => assert_eq!(p.visible()[0].label, "@zed"),
        other => panic!("{other:?}"),
    }
    app.update(key(KeyCode::Esc, KeyModifiers::NONE));
    // Opening a conversation goes back to following it.
    app.update(key(KeyCode::Char('a'), KeyModifiers::ALT));
    assert_eq!(app.active().unwrap().target, t("@zed"));
    assert_eq!(app.sidebar_scroll, None);
}

#[test]
fn alt_a_walks_through_unread_mentions_first() {
    let mut app = signed_in();
    live(&mut app, "#rust", 1, 4, "carol", "@alice ping");
    for expected in ["#rust", "@bob", "#random"] {
        app.update(key(KeyCode::Char('a'), KeyModifiers::ALT));
        let target = app.active().unwrap().target.clone();
        assert_eq!(target, t(expected));
        let last = conv(&app, expected).last_seq;
        let peer = if expected == "@bob" {
            "@alice"
        } else {
            expected
        };
        app.update(Action::History {
            target,
            messages: (1..=last).map(|s| msg(peer, s, 0, "carol", "x")).collect(),
            has_more: false,
            kind: HistoryKind::Latest,
        });
        assert_eq!(conv(&app, expected).unread, 0);
    }
    app.update(key(KeyCode::Char('a'), KeyModifiers::ALT));
    assert_eq!(app.active().unwrap().target, t("#random"), "nothing left");
    assert!(app.notice.as_ref().unwrap().text.contains("nothing unread"));
}

#[test]
fn quick_switcher_orders_by_unread_then_recent_activity() {
    let mut app = signed_in();
    live(&mut app, "#rust", 1, 9, "carol", "release notes");
    live(&mut app, "#random", 10, 4, "carol", "@alice hi");
    app.update(key(KeyCode::Char('k'), KeyModifiers::CONTROL));
    let Some(Popup::Switcher(p)) = &app.popup else {
        panic!("no switcher");
    };
    let labels: Vec<&str> = p.visible().iter().map(|i| i.label.as_str()).collect();
    // Mentions and DMs (by activity), other unread, then the open one last.
    assert_eq!(labels, ["#random", "@bob", "#rust", "#general"]);
}

#[test]
fn a_dm_to_nobody_leaves_no_ghost_conversation() {
    let mut app = signed_in();
    type_text(&mut app, "/dm @nobody hello");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(app.active().unwrap().target, t("@nobody"));
    let Some(Effect::Send { nonce, .. }) = fx
        .iter()
        .find(|f| matches!(f, Effect::Send { .. }))
        .cloned()
    else {
        panic!("no send: {fx:?}");
    };
    // The history answer may come first: the conversation still holds the message.
    app.update(Action::HistoryFailed {
        target: t("@nobody"),
        error: "no user named \"nobody\"".into(),
        not_found: true,
    });
    assert!(app.find(&t("@nobody")).is_some());
    app.update(Action::Sent {
        target: t("@nobody"),
        nonce,
        result: Err(SendFailure::NotFound("no user named \"nobody\"".into())),
    });
    assert!(app.find(&t("@nobody")).is_none(), "no ghost in the sidebar");
    assert_eq!(
        app.active().unwrap().target,
        t("#general"),
        "back where I was"
    );
    assert_eq!(
        app.input.text(),
        "/dm @nobody hello",
        "fix the name, press Enter"
    );
    assert!(app.notice.as_ref().unwrap().text.contains("no user named"));
    let text = screen_text(&render(&mut app, 80, 24));
    let sidebar: String = text
        .lines()
        .map(|l| l.chars().take(21).collect::<String>())
        .collect();
    assert!(!sidebar.contains("@nobody"), "{text}");

    // Without a message: the failed history load removes it.
    app.input.clear();
    type_text(&mut app, "/dm @ghost");
    app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    app.update(Action::HistoryFailed {
        target: t("@ghost"),
        error: "no user named \"ghost\"".into(),
        not_found: true,
    });
    assert!(app.find(&t("@ghost")).is_none());
    assert_eq!(app.active().unwrap().target, t("#general"));

    // A conversation with history is never removed.
    app.update(Action::HistoryFailed {
        target: t("@bob"),
        error: "no user named \"bob\"".into(),
        not_found: true,
    });
    assert!(app.find(&t("@bob")).is_some());
}

#[test]
fn help_scrolls_on_a_small_terminal_and_other_keys_close_it() {
    let mut app = signed_in();
    app.update(Action::Resize(30, 8));
    app.update(key(KeyCode::F(1), KeyModifiers::NONE));
    app.update(key(KeyCode::Down, KeyModifiers::NONE));
    app.update(key(KeyCode::Down, KeyModifiers::NONE));
    assert_eq!(app.help_scroll, 2);
    app.update(key(KeyCode::End, KeyModifiers::NONE));
    let end = app.help_scroll;
    assert!(end > 20, "{end}");
    app.update(key(KeyCode::PageDown, KeyModifiers::NONE));
    assert_eq!(app.help_scroll, end, "bounded");
    let text = screen_text(&render(&mut app, 30, 8));
    assert!(
        text.contains("//text"),
        "the last command is reachable: {text}"
    );
    app.update(key(KeyCode::Char('x'), KeyModifiers::NONE));
    assert!(app.popup.is_none());
    assert!(app.input.is_empty(), "the closing key is not typed");
}

#[test]
fn ctrl_l_repaints() {
    let mut app = signed_in();
    let fx = app.update(key(KeyCode::Char('l'), KeyModifiers::CONTROL));
    assert_eq!(fx, vec![Effect::Repaint]);
}

#[test]
fn a_long_error_is_shown_whole() {
    let mut app = signed_in();
    let error = "could not load conversations: the server does not answer; zchat keeps trying and the list comes back by itself";
    app.update(Action::BootstrapFailed(
        "the server does not answer; zchat keeps trying and the list comes back by itself".into(),
    ));
    let text = screen_text(&render(&mut app, 60, 20));
    let shown: Vec<&str> = text.lines().rev().skip(1).take(3).map(str::trim).collect();
    let joined = shown.into_iter().rev().collect::<Vec<_>>().join(" ");
    assert!(joined.ends_with(error), "{text}");
    // The bar is still on the bottom row.
    assert!(text.lines().last().unwrap().contains("alice"), "{text}");
}

/// The sign-in form's Server key field: prefilled from flag/env/saved key, sent with the
/// sign-in; an empty or malformed key refused on the form (never a silent plaintext
/// attempt); `--plaintext` sends none; a failed handshake on the heartbeat is said in the
/// status, not as "reconnecting".
#[test]
fn the_sign_in_form_carries_the_server_key() {
    use zchat_tui::app::login::{Field, LoginForm};
    use zchat_tui::app::{App, Screen};
    const KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    let form = |app: &App| -> LoginForm {
        match &app.screen {
            Screen::Login(f) => (**f).clone(),
            _ => panic!("not on the form"),
        }
    };
    let submit = |app: &mut App| {
        for c in "secret-pw".chars() {
            app.update(key(KeyCode::Char(c), KeyModifiers::NONE));
        }
        app.update(key(KeyCode::Enter, KeyModifiers::NONE))
    };

    // Prefilled, and sent with the sign-in.
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "alice");
    app.set_server_key(KEY, false);
    assert_eq!(form(&app).value(Field::ServerKey), KEY);
    let fx = submit(&mut app);
    assert!(
        matches!(&fx[..], [Effect::SignIn { server_key: Some(k), .. }] if k == KEY),
        "{fx:?}"
    );

    // Empty: refused on the form, saying where the key comes from.
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "alice");
    assert!(submit(&mut app).is_empty());
    let error = form(&app).error.expect("an error on the form");
    assert!(
        error.contains("server key") && error.contains("zchat-server public-key"),
        "{error}"
    );

    // Malformed: refused, naming the field.
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "alice");
    app.set_server_key("not-a-key", false);
    assert!(submit(&mut app).is_empty());
    let error = form(&app).error.expect("an error on the form");
    assert!(
        error.contains("server key") && error.contains("40"),
        "{error}"
    );

    // --plaintext: no key needed, none sent.
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "alice");
    app.set_server_key("", true);
    let fx = submit(&mut app);
    assert!(
        matches!(
            &fx[..],
            [Effect::SignIn {
                server_key: None,
                ..
            }]
        ),
        "{fx:?}"
    );

    // A rejected session brings the form back with the key still there.
    let mut app = signed_in();
    app.set_server_key(KEY, false);
    app.update(Action::SessionRejected("your session has expired".into()));
    assert_eq!(form(&app).value(Field::ServerKey), KEY);

    // A handshake failure on the heartbeat: the status says so until the server answers.
    let mut app = signed_in();
    app.update(Action::Feed(FeedEvent::HandshakeFailed(format!(
        "the server at tcp://127.0.0.1:5555 did not accept the handshake with server key {KEY}"
    ))));
    app.update(Action::Feed(FeedEvent::Connection {
        connected: false,
        rtt: None,
    }));
    assert_eq!(app.link(), zchat_tui::app::Link::Refused);
    assert!(app.notice.as_ref().is_some_and(|n| n.text.contains(KEY)));
    app.update(Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: Some(std::time::Duration::from_millis(1)),
    }));
    assert_eq!(app.link(), zchat_tui::app::Link::Online);
}

#[test]
fn a_send_the_server_could_not_store_for_now_is_kept_and_sent_again_with_its_nonce() {
    let mut app = signed_in();
    app.update(Action::Tick(1_000_000));
    type_text(&mut app, "while the database restarts");
    let fx = app.update(key(KeyCode::Enter, KeyModifiers::NONE));
    let Some(Effect::Send { nonce, .. }) = fx
        .iter()
        .find(|f| matches!(f, Effect::Send { .. }))
        .cloned()
    else {
        panic!("no send: {fx:?}");
    };
    // `unavailable`: the connection is fine, the server's database is not (and the message
    // may even have been stored): nothing is given back to the input, nothing dropped.
    app.update(Action::Sent {
        target: t("#general"),
        nonce,
        result: Err(SendFailure::NotNow(
            "the server cannot reach its database".into(),
        )),
    });
    assert_eq!(conv(&app, "#general").pending.len(), 1);
    assert!(conv(&app, "#general").pending[0].failed);
    assert!(
        app.input.is_empty(),
        "the text stays in the feed, not back in the input"
    );
    // Not at once, and not waiting for a reconnect that will not come: on the clock.
    let fx = app.update(Action::Tick(1_001_000));
    assert!(!fx.iter().any(|f| matches!(f, Effect::Send { .. })));
    let fx = app.update(Action::Tick(1_003_500));
    let again: Vec<u64> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Send { nonce, .. } => Some(*nonce),
            _ => None,
        })
        .collect();
    assert_eq!(again, vec![nonce], "sent again once, with the same nonce");
    let fx = app.update(Action::Tick(1_010_000));
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::Send { .. })),
        "only once per refusal"
    );
}
