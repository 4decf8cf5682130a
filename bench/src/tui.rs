//! The full-screen client's frame costs, measured on the real `App` and view.
//!
//! Runs in a child process of the bench (`zchat-bench tui-frames …`, hidden) so that its
//! memory figures are the client's alone. The client's state is driven exactly as the event
//! loop drives it — `App::update` for each action, the effects it returns answered, then one
//! frame drawn into ratatui's `TestBackend` — with a synthetic server answering `history`
//! from memory, so the figures are the client's and not the network's. A frame's time is
//! update + answering its effects + drawing; the real loop adds only the terminal's own
//! output, which ratatui diffs.
//!
//! Measured with `messages` in the open conversation and 200 joined conversations:
//! - keystroke frames (a character typed into the input),
//! - incoming frames (a live message in the open conversation, view at the bottom),
//! - scroll frames (PgUp, older pages fetched as the view reaches the top),
//! - a scroll-through: PgUp from the newest message until the oldest is on screen (or a time
//!   budget runs out), then the process's RSS and peak RSS.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;
use zchat_client::feed::FeedEvent;
use zchat_protocol::{ChannelInfo, Message, Target};
use zchat_tui::app::{Action, App, Effect, HistoryKind, HISTORY_PAGE};

use crate::stats::{latency_histogram, quantile_ms, record_ns};

/// Sizes of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct FrameRun {
    /// Messages in the open conversation.
    pub messages: u64,
    /// Joined conversations (the open one included).
    pub conversations: usize,
    /// Terminal size.
    pub width: u16,
    /// Terminal size.
    pub height: u16,
    /// Frames measured per kind.
    pub frames: usize,
    /// Time budget of the scroll-through.
    pub scroll_budget: Duration,
}

const ME: &str = "me";
const BIG: &str = "big";
const AUTHORS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", ME,
];
/// Start of the synthetic history: 1 December 2026, one message every 3 s.
const T0_MS: i64 = 1_764_547_200_000;

/// The synthetic server: every conversation's messages, generated on demand.
struct Server {
    /// Newest seq per conversation key.
    last: HashMap<String, u64>,
}

impl Server {
    fn message(target: &Target, seq: u64) -> Message {
        let from = AUTHORS[(seq as usize * 7) % AUTHORS.len()];
        // Lengths vary so that wrapping varies: 20 to ~260 bytes, some with a mention,
        // some with non-ASCII text.
        let n = (seq * 37 % 12) as usize;
        let mut text = format!("message {seq}: ");
        for i in 0..=n {
            text.push_str(match (seq + i as u64) % 5 {
                0 => "the quick brown fox jumps over the lazy dog ",
                1 => "olá, tudo bem? ",
                2 => "日本語のテキスト ",
                3 => "@me look at this ",
                _ => "zchat 🎉 ",
            });
        }
        Message {
            target: target.clone(),
            seq,
            ts: T0_MS + seq as i64 * 3_000,
            from: from.to_string(),
            text: text.trim_end().to_string(),
        }
    }

    /// The page `history` would return, and `has_more`.
    fn page(
        &self,
        target: &Target,
        before: Option<u64>,
        after: Option<u64>,
    ) -> (Vec<Message>, bool) {
        let last = self.last.get(&target.key()).copied().unwrap_or(0);
        let limit = u64::from(HISTORY_PAGE);
        let (lo, hi, more) = match (after, before) {
            (Some(a), _) => {
                let hi = (a + limit).min(last);
                (a + 1, hi, hi < last)
            }
            (None, Some(b)) => {
                let hi = b.saturating_sub(1).min(last);
                let lo = hi.saturating_sub(limit - 1).max(1);
                (lo, hi, lo > 1)
            }
            (None, None) => {
                let lo = last.saturating_sub(limit - 1).max(1);
                (lo, last, lo > 1)
            }
        };
        let msgs = if lo == 0 || lo > hi {
            Vec::new()
        } else {
            (lo..=hi).map(|s| Self::message(target, s)).collect()
        };
        (msgs, more)
    }

    /// Answers the effects the app asked for, as the network task would (immediately).
    fn answer(&self, app: &mut App, effects: Vec<Effect>) {
        let mut queue = effects;
        // Bounded: an app that keeps asking is answered at most this many times per frame.
        for _ in 0..64 {
            let mut next = Vec::new();
            for fx in queue {
                if let Effect::LoadHistory {
                    target,
                    kind,
                    before,
                    after,
                    ..
                } = fx
                {
                    let (messages, has_more) = self.page(&target, before, after);
                    next.extend(app.update(Action::History {
                        target,
                        messages,
                        has_more,
                        kind,
                    }));
                }
            }
            if next.is_empty() {
                return;
            }
            queue = next;
        }
    }
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Runs one measurement and returns its figures as JSON.
pub fn run(r: FrameRun) -> Result<serde_json::Value> {
    let mut server = Server {
        last: HashMap::new(),
    };
    let big = Target::Channel(BIG.into());
    server.last.insert(big.key(), r.messages);
    let mut channels = vec![ChannelInfo {
        name: BIG.into(),
        description: "the big one".into(),
        members: 8,
        last_seq: r.messages,
        joined: true,
        read_seq: r.messages,
        unread: 0,
    }];
    for i in 1..r.conversations {
        let name = format!("team-{i:03}");
        server.last.insert(format!("#{name}"), 200);
        channels.push(ChannelInfo {
            name,
            description: String::new(),
            members: 5,
            last_seq: 200,
            joined: true,
            read_seq: 200,
            unread: 0,
        });
    }
    let mut terminal = Terminal::new(TestBackend::new(r.width, r.height))?;
    let mut app = App::new("tcp://bench:1", "tcp://bench:2", ME);
    app.size = (r.width, r.height);
    app.now_ms = T0_MS + r.messages as i64 * 3_000;
    let fx = app.update(Action::SignedIn { user: ME.into() });
    server.answer(&mut app, fx);
    let fx = app.update(Action::Bootstrap {
        channels,
        dms: Vec::new(),
    });
    server.answer(&mut app, fx);
    // Open the big conversation the way a user would: Ctrl+K, its name, Enter.
    for a in std::iter::once(Action::Key(KeyEvent::new(
        KeyCode::Char('k'),
        KeyModifiers::CONTROL,
    )))
    .chain(BIG.chars().map(|c| key(KeyCode::Char(c))))
    .chain(std::iter::once(key(KeyCode::Enter)))
    {
        let fx = app.update(a);
        server.answer(&mut app, fx);
    }
    if app.active().map(|c| c.target.clone()) != Some(big.clone()) {
        return Err(anyhow!("could not open #{BIG} through Ctrl+K"));
    }
    // Load the whole conversation, as if the reader had scrolled through it before: one
    // history page holding every message (the client keeps what it chooses to keep).
    let all: Vec<Message> = (1..=r.messages).map(|s| Server::message(&big, s)).collect();
    let fx = app.update(Action::History {
        target: big.clone(),
        messages: all,
        has_more: false,
        kind: HistoryKind::Latest,
    });
    server.answer(&mut app, fx);
    terminal.draw(|f| f.render_widget(&app, f.area()))?;

    let frame = |app: &mut App, terminal: &mut Terminal<TestBackend>, a: Action| -> Result<u64> {
        let t = Instant::now();
        let fx = app.update(a);
        server.answer(app, fx);
        terminal.draw(|f| f.render_widget(&*app, f.area()))?;
        Ok(t.elapsed().as_nanos() as u64)
    };

    let mut typing = latency_histogram();
    for i in 0..r.frames {
        let c = char::from(b'a' + (i % 26) as u8);
        record_ns(
            &mut typing,
            frame(&mut app, &mut terminal, key(KeyCode::Char(c)))?,
        );
    }
    let mut incoming = latency_histogram();
    for i in 0..r.frames as u64 {
        let m = Server::message(&big, r.messages + 1 + i);
        record_ns(
            &mut incoming,
            frame(&mut app, &mut terminal, Action::Feed(FeedEvent::Message(m)))?,
        );
    }
    let mut scroll = latency_histogram();
    for _ in 0..r.frames {
        record_ns(
            &mut scroll,
            frame(&mut app, &mut terminal, key(KeyCode::PageUp))?,
        );
    }
    let loaded = app.active().map_or(0, |c| c.messages.len());
    // Scroll-through: PgUp until the oldest message is loaded and on screen, or the budget.
    let started = Instant::now();
    let mut presses = 0u64;
    let mut reached_top = false;
    while started.elapsed() < r.scroll_budget {
        frame(&mut app, &mut terminal, key(KeyCode::PageUp))?;
        presses += 1;
        let at_top = app
            .active()
            .is_some_and(|c| c.first_loaded() == Some(1) && !c.has_more_before);
        if at_top
            && format!("{:?}", terminal.backend().buffer())
                .contains("beginning of the conversation")
        {
            reached_top = true;
            break;
        }
    }
    let through_secs = started.elapsed().as_secs_f64();
    let (rss, hwm) = crate::procs::rss_mib(std::process::id()).unwrap_or((0.0, 0.0));
    Ok(json!({
        "messages": r.messages,
        "held_after_load": loaded,
        "held_at_end": app.active().map_or(0, |c| c.messages.len()),
        "typing_p50_ms": quantile_ms(&typing, 0.5),
        "typing_p99_ms": quantile_ms(&typing, 0.99),
        "incoming_p50_ms": quantile_ms(&incoming, 0.5),
        "incoming_p99_ms": quantile_ms(&incoming, 0.99),
        "scroll_p50_ms": quantile_ms(&scroll, 0.5),
        "scroll_p99_ms": quantile_ms(&scroll, 0.99),
        "scroll_through_presses": presses,
        "scroll_through_secs": through_secs,
        "scroll_through_complete": u8::from(reached_top),
        "rss_mib": rss,
        "peak_rss_mib": hwm,
    }))
}
