//! The feed at real sizes: opening at the first unread message, the read marker moving
//! only over what was on screen, the bounded message window (eviction while scrolling
//! back, reloading on the way down), and a view that stays still while messages arrive.
//!
//! A small in-test history store answers the app's `LoadHistory` effects the way the
//! server does (same page sizes as the event loop), so the app runs through real paging.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod tui_fixture;

use crossterm::event::{KeyCode, KeyModifiers};
use tui_fixture::*;
use zchat_client::feed::FeedEvent;
use zchat_protocol::{Message, Target};
use zchat_tui::app::{Action, App, Effect, HistoryKind, HISTORY_PAGE, WINDOW_MESSAGES};

fn t(s: &str) -> Target {
    Target::parse(s).unwrap()
}

/// One conversation's stored history, answering history queries like the server.
struct Store {
    target: Target,
    messages: Vec<Message>,
}

impl Store {
    /// `n` messages by bob (one every 10 s, so days change now and then in long ones).
    fn new(target: &str, n: u64) -> Store {
        let messages = (1..=n).map(|s| big_msg(target, s)).collect();
        Store {
            target: t(target),
            messages,
        }
    }

    fn push(&mut self) -> Message {
        let m = big_msg(&self.target.key(), self.messages.len() as u64 + 1);
        self.messages.push(m.clone());
        m
    }

    fn answer(&self, kind: HistoryKind, before: Option<u64>, after: Option<u64>) -> Action {
        // The event loop's page sizes (tui/net.rs).
        let limit = if kind == HistoryKind::After {
            500
        } else {
            HISTORY_PAGE as usize
        };
        let (messages, has_more) = if let Some(a) = after {
            let from = self.messages.partition_point(|m| m.seq <= a);
            let to = (from + limit).min(self.messages.len());
            (self.messages[from..to].to_vec(), to < self.messages.len())
        } else {
            let to = before.map_or(self.messages.len(), |b| {
                self.messages.partition_point(|m| m.seq < b)
            });
            let from = to.saturating_sub(limit);
            (self.messages[from..to].to_vec(), from > 0)
        };
        Action::History {
            target: self.target.clone(),
            messages,
            has_more,
            kind,
        }
    }
}

fn big_msg(target: &str, seq: u64) -> Message {
    let mut m = msg(target, seq, 0, "bob", &format!("message {seq}"));
    m.ts += seq as i64 * 10_000;
    m
}

/// Applies `action`, then answers every history request (and the requests those answers
/// cause) from `store`. Returns every effect, answered ones included.
fn pump(app: &mut App, store: &Store, action: Action) -> Vec<Effect> {
    let mut all = Vec::new();
    let mut queue = app.update(action);
    for _ in 0..100 {
        if queue.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for fx in queue {
            if let Effect::LoadHistory {
                target,
                kind,
                before,
                after,
            } = &fx
            {
                if *target == store.target {
                    next.extend(app.update(store.answer(*kind, *before, *after)));
                }
            }
            all.push(fx);
        }
        queue = next;
    }
    all
}

/// alice, signed in with one channel `#big` holding `store`, read up to `read`.
fn with_big_channel(store: &Store, read: u64, size: (u16, u16)) -> (App, Vec<Effect>) {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "");
    app.size = size;
    app.update(Action::SignedIn {
        user: "alice".into(),
    });
    app.update(Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: None,
    }));
    let last = store.messages.len() as u64;
    let fx = pump(
        &mut app,
        store,
        Action::Bootstrap {
            channels: vec![
                channel("big", "", last, read, last - read),
                channel("general", "", 0, 0, 0),
            ],
            dms: vec![],
        },
    );
    assert_eq!(
        app.active().unwrap().target,
        t("#big"),
        "opens the unread one"
    );
    (app, fx)
}

fn mark_reads(fx: &[Effect]) -> Vec<u64> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::MarkRead { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

/// The feed's lines as drawn (title and sidebar cut off).
fn feed_lines(app: &mut App) -> Vec<String> {
    let (w, h) = app.size;
    let text = screen_text(&render(app, w, h));
    let feed_h = app.feed_size().1;
    text.lines()
        .skip(1)
        .take(feed_h)
        .map(|l| l.chars().skip(22).collect())
        .collect()
}

/// Sequence numbers of the messages whose line is on screen.
fn shown_seqs(app: &mut App) -> Vec<u64> {
    feed_lines(app)
        .iter()
        .filter_map(|l| {
            let (_, rest) = l.split_once("message ")?;
            rest.trim().parse().ok()
        })
        .collect()
}

#[test]
fn opens_at_the_first_of_2000_unread_and_marks_only_what_is_shown() {
    let store = Store::new("#big", 2_100);
    let (mut app, fx) = with_big_channel(&store, 100, (80, 24));
    assert!(
        fx.iter().any(|f| matches!(
            f,
            Effect::LoadHistory {
                kind: HistoryKind::FirstUnread,
                after: Some(100),
                ..
            }
        )),
        "{fx:?}"
    );
    let lines = feed_lines(&mut app);
    assert!(lines[0].contains("new messages"), "{lines:#?}");
    assert!(lines[1].contains("message 101"), "{lines:#?}");
    let shown = shown_seqs(&mut app);
    let newest_shown = *shown.iter().max().unwrap();
    let marks = mark_reads(&fx);
    assert_eq!(marks.iter().max(), Some(&newest_shown), "{marks:?}");
    let c = app.active().unwrap();
    assert_eq!(c.read_seq, newest_shown);
    assert_eq!(c.unread, 2_100 - newest_shown);
    // A little context above the marker is loaded too, and only a page after it.
    assert_eq!(c.first_loaded(), Some(51));
    assert!(c.messages.len() <= 2 * HISTORY_PAGE as usize);
    assert!(c.has_more_after);
}

#[test]
fn the_read_marker_follows_page_down_to_the_newest() {
    let mut store = Store::new("#big", 2_100);
    let (mut app, _) = with_big_channel(&store, 100, (80, 24));
    let mut last_mark = app.active().unwrap().read_seq;
    let mut presses = 0;
    while app.active().unwrap().read_seq < 2_100 {
        presses += 1;
        assert!(presses < 400, "never reached the newest");
        let fx = pump(&mut app, &store, key(KeyCode::PageDown, KeyModifiers::NONE));
        let newest_shown = shown_seqs(&mut app).into_iter().max().unwrap();
        for seq in mark_reads(&fx) {
            assert!(
                seq <= newest_shown,
                "marked {seq}, showing up to {newest_shown}"
            );
            assert!(seq > last_mark);
            last_mark = seq;
        }
        let c = app.active().unwrap();
        assert!(c.messages.len() <= WINDOW_MESSAGES);
    }
    let c = app.active().unwrap();
    assert_eq!(c.unread, 0);
    assert!(!c.has_more_after);
    assert_eq!(c.scroll, 0);
    // At the newest, live messages are shown and read at once again.
    let m = store.push();
    let fx = pump(&mut app, &store, Action::Feed(FeedEvent::Message(m)));
    assert_eq!(mark_reads(&fx), vec![2_101]);
}

#[test]
fn the_window_stays_bounded_through_20000_messages_and_end_brings_the_newest_back() {
    let mut store = Store::new("#big", 20_000);
    // Everything read: opens at the newest. A tall terminal so pages go quickly.
    let (mut app, _) = with_big_channel(&store, 20_000, (100, 200));
    assert_eq!(app.active().unwrap().last_loaded(), 20_000);
    let mut steps = 0;
    while app.active().unwrap().has_more_before {
        steps += 1;
        assert!(steps < 1_000, "never reached the oldest");
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
        let c = app.active().unwrap();
        assert!(c.messages.len() <= WINDOW_MESSAGES, "{}", c.messages.len());
    }
    // The last page landed above the view, which stayed put: once more to the top.
    pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    let c = app.active().unwrap();
    assert_eq!(c.first_loaded(), Some(1));
    assert!(c.has_more_after, "the newest end was evicted");
    assert!(c.last_loaded() < 20_000);
    let lines = feed_lines(&mut app);
    assert!(
        lines[0].contains("beginning of the conversation"),
        "{lines:#?}"
    );

    // A live message while the newest end is not loaded: counted, not inserted, and the
    // view does not move.
    let before = feed_lines(&mut app);
    let n = app.active().unwrap().messages.len();
    let m = store.push();
    pump(&mut app, &store, Action::Feed(FeedEvent::Message(m)));
    let c = app.active().unwrap();
    assert_eq!(c.messages.len(), n);
    assert_eq!(c.last_seq, 20_001);
    assert_eq!(c.unread, 1);
    assert_eq!(feed_lines(&mut app), before);

    // End: the newest page again, at the bottom, and everything read.
    let fx = pump(&mut app, &store, key(KeyCode::End, KeyModifiers::NONE));
    assert!(fx.iter().any(|f| matches!(
        f,
        Effect::LoadHistory {
            kind: HistoryKind::Latest,
            ..
        }
    )));
    let c = app.active().unwrap();
    assert_eq!(c.last_loaded(), 20_001);
    assert!(!c.has_more_after);
    assert_eq!(c.scroll, 0);
    assert_eq!(c.unread, 0);
    assert_eq!(mark_reads(&fx), vec![20_001]);
    assert!(feed_lines(&mut app)
        .last()
        .unwrap()
        .contains("message 20001"));
}

#[test]
fn scrolling_back_down_reloads_evicted_messages_in_order() {
    let store = Store::new("#big", 8_000);
    let (mut app, _) = with_big_channel(&store, 8_000, (100, 200));
    // Home repeatedly: to the oldest loaded message, which pages older ones in.
    while app.active().unwrap().has_more_before {
        pump(&mut app, &store, key(KeyCode::Home, KeyModifiers::NONE));
    }
    pump(&mut app, &store, key(KeyCode::Home, KeyModifiers::NONE));
    assert!(app.active().unwrap().has_more_after);
    // Page down to the newest: every message is shown once on the way, in order.
    let mut max_seen = 0;
    let mut presses = 0;
    loop {
        let shown = shown_seqs(&mut app);
        assert!(shown.windows(2).all(|w| w[1] == w[0] + 1), "{shown:?}");
        if let (Some(&first), Some(&last)) = (shown.first(), shown.last()) {
            assert!(first <= max_seen + 1, "skipped {max_seen}..{first}");
            max_seen = max_seen.max(last);
        }
        let c = app.active().unwrap();
        if !c.has_more_after && c.scroll == 0 {
            break;
        }
        presses += 1;
        assert!(presses < 1_000, "never reached the newest");
        pump(&mut app, &store, key(KeyCode::PageDown, KeyModifiers::NONE));
        let c = app.active().unwrap();
        assert!(c.messages.len() <= WINDOW_MESSAGES);
        // No gap in the window.
        assert!(c.messages.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    }
    assert_eq!(max_seen, 8_000);
}

#[test]
fn the_view_stays_put_while_messages_arrive_scrolled_up() {
    let mut store = Store::new("#big", 5_000);
    let (mut app, _) = with_big_channel(&store, 5_000, (80, 24));
    // Scroll back a few pages (older pages load on the way).
    for _ in 0..40 {
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    let before = feed_lines(&mut app);
    assert!(app.active().unwrap().scroll > 0);
    for n in 0..30 {
        let mut m = store.push();
        if n % 3 == 0 {
            m.text = format!("{} and a long tail that wraps over several lines of the feed pane for sure, twice even, thrice maybe", m.text);
        }
        pump(&mut app, &store, Action::Feed(FeedEvent::Message(m)));
        assert_eq!(feed_lines(&mut app), before, "after message {n}");
    }
    assert_eq!(app.active().unwrap().unread, 30);
    // Sending jumps to the newest (reloading it if it was evicted).
    type_text(&mut app, "hello");
    pump(&mut app, &store, key(KeyCode::Enter, KeyModifiers::NONE));
    let c = app.active().unwrap();
    assert_eq!(c.scroll, 0);
    assert_eq!(c.last_loaded(), 5_030);
}

#[test]
fn alt_u_jumps_back_to_the_first_unread_and_home_end_scroll_only_on_an_empty_input() {
    let store = Store::new("#big", 2_100);
    let (mut app, _) = with_big_channel(&store, 100, (80, 24));
    // Read a few screens, then go to the newest: the marker follows.
    for _ in 0..3 {
        pump(&mut app, &store, key(KeyCode::PageDown, KeyModifiers::NONE));
    }
    let read = app.active().unwrap().read_seq;
    assert!(read > 150 && read < 2_100, "{read}");
    pump(&mut app, &store, key(KeyCode::End, KeyModifiers::NONE));
    assert_eq!(app.active().unwrap().read_seq, 2_100);
    // Everything is read and the "new messages" line of this visit was evicted: Alt+U
    // says so and stays.
    let fx = pump(&mut app, &store, key(KeyCode::Char('u'), KeyModifiers::ALT));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(app.active().unwrap().scroll, 0);
    assert!(app.notice.as_ref().unwrap().text.contains("no unread"));
    let mut store = store;
    for _ in 0..3 {
        let m = store.push();
        app.update(Action::Feed(FeedEvent::Message(m)));
    }
    // (At the newest and following: they were read at once.)
    assert_eq!(app.active().unwrap().unread, 0);

    // Home with text typed moves the cursor, not the feed.
    pump(&mut app, &store, key(KeyCode::End, KeyModifiers::NONE));
    type_text(&mut app, "draft");
    let fx = pump(&mut app, &store, key(KeyCode::Home, KeyModifiers::NONE));
    assert_eq!(app.active().unwrap().scroll, 0);
    assert!(fx.is_empty(), "{fx:?}");
    // Ctrl+Home scrolls whatever is typed.
    pump(&mut app, &store, key(KeyCode::Home, KeyModifiers::CONTROL));
    assert!(app.active().unwrap().scroll > 0);
    assert_eq!(app.input.text(), "draft");
}

#[test]
fn alt_u_reloads_around_the_marker_when_it_was_evicted() {
    let store = Store::new("#big", 9_000);
    let (mut app, _) = with_big_channel(&store, 5_000, (100, 200));
    let first_view = shown_seqs(&mut app);
    assert_eq!(
        first_view.first(),
        Some(&5_001),
        "the marker line is at the top"
    );
    let read = app.active().unwrap().read_seq;
    assert_eq!(read, *first_view.last().unwrap());
    // Back into older history until the marker's part is evicted.
    while app.active().unwrap().last_loaded() > read {
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    let fx = pump(&mut app, &store, key(KeyCode::Char('u'), KeyModifiers::ALT));
    let lines = feed_lines(&mut app);
    assert!(lines[0].contains("new messages"), "{lines:#?}");
    assert_eq!(
        shown_seqs(&mut app).first(),
        Some(&(read + 1)),
        "{lines:#?}"
    );
    // What was shown is read, nothing more. (The first page after the marker is shorter
    // than this tall feed: it was shown whole, at the bottom, before the next one came.)
    let newest_shown = *shown_seqs(&mut app).last().unwrap();
    let marks = mark_reads(&fx);
    assert_eq!(marks.last(), Some(&newest_shown), "{marks:?}");
    assert!(marks.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_resize_keeps_the_reading_position() {
    let store = Store::new("#big", 3_000);
    let (mut app, _) = with_big_channel(&store, 3_000, (80, 24));
    for _ in 0..5 {
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    let top = shown_seqs(&mut app)[0];
    app.update(Action::Resize(60, 30));
    assert_eq!(shown_seqs(&mut app)[0], top);
    app.update(Action::Resize(120, 16));
    assert_eq!(shown_seqs(&mut app)[0], top);
}

#[test]
fn conversations_left_shrink_back_to_their_newest_messages() {
    let store = Store::new("#big", 20_000);
    let (mut app, _) = with_big_channel(&store, 20_000, (100, 200));
    for _ in 0..30 {
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    assert!(app.active().unwrap().messages.len() > 1_000);
    // Switch away: the one left keeps only its newest messages.
    app.update(key(KeyCode::Char('n'), KeyModifiers::CONTROL));
    assert_eq!(app.active().unwrap().target, t("#general"));
    let big = &app.conversations[app.find(&t("#big")).unwrap()];
    assert!(big.messages.len() <= zchat_tui::app::INACTIVE_MESSAGES);
    assert_eq!(big.last_loaded(), 20_000);
    // Live messages into it while it is not open stay bounded too.
    let mut store = store;
    for _ in 0..1_000 {
        let m = store.push();
        app.update(Action::Feed(FeedEvent::Message(m)));
    }
    let big = &app.conversations[app.find(&t("#big")).unwrap()];
    assert!(big.messages.len() <= zchat_tui::app::INACTIVE_MESSAGES + HISTORY_PAGE as usize);
    assert_eq!(big.unread, 1_000);
    // Back: it opens at the first of those unread.
    pump(
        &mut app,
        &store,
        key(KeyCode::Char('p'), KeyModifiers::CONTROL),
    );
    let lines = feed_lines(&mut app);
    assert!(lines[0].contains("new messages"), "{lines:#?}");
    assert!(lines[1].contains("message 20001"), "{lines:#?}");
}

#[test]
fn live_messages_at_the_bound_evict_the_oldest_and_are_read_at_the_bottom() {
    let mut store = Store::new("#big", 10_000);
    let (mut app, _) = with_big_channel(&store, 10_000, (100, 200));
    while app.active().unwrap().messages.len() < WINDOW_MESSAGES - HISTORY_PAGE as usize {
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    assert!(!app.active().unwrap().has_more_after);
    pump(&mut app, &store, key(KeyCode::End, KeyModifiers::CONTROL));
    for _ in 0..500 {
        let m = store.push();
        let fx = pump(
            &mut app,
            &store,
            Action::Feed(FeedEvent::Message(m.clone())),
        );
        assert_eq!(mark_reads(&fx), vec![m.seq]);
        let c = app.active().unwrap();
        assert!(c.messages.len() <= WINDOW_MESSAGES);
        assert_eq!(c.last_loaded(), m.seq);
        assert_eq!(c.scroll, 0);
    }
    assert!(app.active().unwrap().has_more_before);
    assert!(feed_lines(&mut app)
        .last()
        .unwrap()
        .contains("message 10500"));
}

#[test]
fn a_replaced_message_is_wrapped_again() {
    let store = Store::new("#big", 200);
    let (mut app, _) = with_big_channel(&store, 200, (80, 24));
    assert!(feed_lines(&mut app).last().unwrap().contains("message 200"));
    let i = app.find(&t("#big")).unwrap();
    let mut m = store.messages[199].clone();
    m.text = "edited: a much longer text that now wraps over two lines of this feed pane".into();
    assert!(app.conversations[i].replace(m));
    let lines = feed_lines(&mut app);
    let n = lines.len();
    assert!(lines[n - 2].contains("edited: a much longer"), "{lines:#?}");
    assert!(lines[n - 1].contains("feed pane"), "{lines:#?}");
}

/// Opens `#big` (2,100 messages, read up to 100) without answering anything: the effects the
/// opening asked for, for the test to answer when it chooses.
fn opening_unanswered(store: &Store) -> (App, Vec<Effect>) {
    let mut app = App::new("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "");
    app.size = (80, 24);
    app.update(Action::SignedIn {
        user: "alice".into(),
    });
    app.update(Action::Feed(FeedEvent::Connection {
        connected: true,
        rtt: None,
    }));
    let last = store.messages.len() as u64;
    let fx = app.update(Action::Bootstrap {
        channels: vec![channel("big", "", last, 100, last - 100)],
        dms: vec![],
    });
    (app, fx)
}

#[test]
fn a_scroll_before_the_first_unread_page_lands_does_not_strand_the_window() {
    let store = Store::new("#big", 2_100);
    let (mut app, fx) = opening_unanswered(&store);
    // The reader turns the wheel before the pages arrive.
    app.update(key(KeyCode::PageUp, KeyModifiers::NONE));
    for f in fx {
        if let Effect::LoadHistory {
            kind,
            before,
            after,
            ..
        } = f
        {
            pump(&mut app, &store, store.answer(kind, before, after));
        }
    }
    let c = app.active().unwrap();
    assert!(c.loaded, "the first-unread page was kept");
    assert!(
        c.messages.iter().any(|m| m.seq == 101),
        "the first unread message is loaded"
    );
    // And the window works: PgDn reaches the newest, marking as it goes.
    let mut presses = 0;
    while app.active().unwrap().read_seq < 2_100 {
        presses += 1;
        assert!(presses < 400, "never reached the newest");
        pump(&mut app, &store, key(KeyCode::PageDown, KeyModifiers::NONE));
    }
}

#[test]
fn nothing_is_marked_read_while_a_popup_covers_the_feed() {
    let mut store = Store::new("#big", 300);
    let (mut app, _) = with_big_channel(&store, 300, (80, 24));
    assert_eq!(app.active().unwrap().read_seq, 300);
    // Help open: a live message arrives; it is not read yet.
    pump(&mut app, &store, key(KeyCode::F(1), KeyModifiers::NONE));
    let m = store.push();
    let fx = pump(&mut app, &store, Action::Feed(FeedEvent::Message(m)));
    assert!(mark_reads(&fx).is_empty(), "{fx:?}");
    assert_eq!(app.active().unwrap().unread, 1);
    // Closed: now it is on screen, and read.
    let fx = pump(&mut app, &store, key(KeyCode::Esc, KeyModifiers::NONE));
    assert_eq!(mark_reads(&fx), vec![301]);
    // Too small to show the feed: the same.
    app.update(Action::Resize(20, 6));
    let m = store.push();
    let fx = pump(&mut app, &store, Action::Feed(FeedEvent::Message(m)));
    assert!(mark_reads(&fx).is_empty(), "{fx:?}");
    let fx = pump(&mut app, &store, Action::Resize(80, 24));
    assert_eq!(mark_reads(&fx), vec![302]);
}

/// Presses `code` (nothing answered) until the app asks for a page of `kind`; returns that
/// request's `before` and `after`, for the test to answer when it chooses.
fn press_until_asked(
    app: &mut App,
    code: KeyCode,
    kind: HistoryKind,
) -> (Option<u64>, Option<u64>) {
    for _ in 0..2_000 {
        let asked = app
            .update(key(code, KeyModifiers::NONE))
            .into_iter()
            .find_map(|f| match f {
                Effect::LoadHistory {
                    kind: k,
                    before,
                    after,
                    ..
                } if k == kind => Some((before, after)),
                _ => None,
            });
        if let Some(asked) = asked {
            return asked;
        }
    }
    panic!("no {kind:?} page was asked for");
}

fn contiguous(app: &App) -> bool {
    app.active()
        .unwrap()
        .messages
        .windows(2)
        .all(|w| w[1].seq == w[0].seq + 1)
}

#[test]
fn a_page_asked_for_before_end_that_lands_after_it_leaves_no_gap() {
    let store = Store::new("#big", 20_000);
    let (mut app, _) = with_big_channel(&store, 20_000, (80, 24));
    // Far back: the newest end is evicted.
    while !app.active().unwrap().has_more_after {
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    for _ in 0..200 {
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    // Down to the bottom of the window until a newer page is asked for; it is not
    // answered yet.
    let (_, newer) = press_until_asked(&mut app, KeyCode::PageDown, HistoryKind::After);
    // End: the newest page is asked for and lands first; the older request lands after.
    let fx = app.update(key(KeyCode::End, KeyModifiers::NONE));
    assert!(fx.iter().any(|f| matches!(
        f,
        Effect::LoadHistory {
            kind: HistoryKind::Latest,
            ..
        }
    )));
    pump(
        &mut app,
        &store,
        store.answer(HistoryKind::Latest, None, None),
    );
    pump(
        &mut app,
        &store,
        store.answer(HistoryKind::After, None, newer),
    );
    let c = app.active().unwrap();
    assert_eq!(c.last_loaded(), 20_000);
    assert!(contiguous(&app), "a gap in the window");
    assert!(!c.has_more_after);
}

#[test]
fn an_older_page_in_flight_when_alt_u_reloads_is_not_spliced_in() {
    let store = Store::new("#big", 10_000);
    let (mut app, _) = with_big_channel(&store, 4_000, (80, 24));
    // Far above the marker: the part around it is evicted from the window.
    let mut presses = 0;
    while app.active().unwrap().last_loaded() >= 4_000 {
        presses += 1;
        assert!(presses < 5_000, "the marker never left the window");
        pump(&mut app, &store, key(KeyCode::PageUp, KeyModifiers::NONE));
    }
    // Up until an older page is asked for; it is not answered yet.
    let (older, _) = press_until_asked(&mut app, KeyCode::PageUp, HistoryKind::Older);
    // Alt+U reloads around the marker while that page is on its way; it lands last.
    let first_unread = app.active().unwrap().read_seq + 1;
    let fx = app.update(Action::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::ALT,
    )));
    assert!(
        fx.iter().any(|f| matches!(
            f,
            Effect::LoadHistory {
                kind: HistoryKind::FirstUnread,
                ..
            }
        )),
        "{fx:?}"
    );
    for f in fx {
        if let Effect::LoadHistory {
            kind,
            before,
            after,
            ..
        } = f
        {
            pump(&mut app, &store, store.answer(kind, before, after));
        }
    }
    pump(
        &mut app,
        &store,
        store.answer(HistoryKind::Older, older, None),
    );
    assert!(contiguous(&app), "a gap in the window");
    let c = app.active().unwrap();
    assert!(
        c.messages.iter().any(|m| m.seq == first_unread),
        "the first unread is loaded: {:?}..{:?} ({}), older {older:?}",
        c.first_loaded(),
        c.last_loaded(),
        c.messages.len()
    );
}
