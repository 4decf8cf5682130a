//! The status area: the status bar (me, connection state, round-trip time, unsent, the
//! unread total at every width) on the bottom row, and a notice above it, wrapped whole over
//! as many lines as `App::layout` gave it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::{ellipsize, theme};
use crate::app::{App, Link};

/// The status bar widget.
pub struct StatusBar<'a>(pub &'a App);

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        buf.set_style(area, theme::BAR);
        // The notice: every line `App::layout` made room for, above the bar.
        let bar_y = area.bottom().saturating_sub(1);
        if let Some(n) = &app.notice {
            let style = if n.error {
                theme::BAR.fg(Color::LightRed)
            } else {
                theme::BAR.fg(Color::White)
            };
            let lines = crate::layout::status::notice_lines(&n.text, area.width);
            for (y, text) in (area.y..bar_y).zip(lines) {
                Span::styled(format!(" {text}"), style)
                    .render(Rect::new(area.x, y, area.width, 1), buf);
            }
        }
        let area = Rect::new(area.x, bar_y, area.width, 1);
        let mut spans = vec![Span::styled(
            format!(" {} ", app.me),
            theme::BAR.fg(Color::Cyan).add_modifier(Modifier::BOLD),
        )];
        match app.link() {
            Link::Online => {
                spans.push(Span::styled("● online", theme::BAR.fg(Color::Green)));
                if let Some(rtt) = app.rtt {
                    spans.push(Span::styled(
                        format!(" {:.1} ms", rtt.as_secs_f64() * 1000.0),
                        theme::BAR,
                    ));
                }
            }
            Link::Connecting => spans.push(Span::styled(
                "○ connecting…",
                theme::BAR.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )),
            Link::Reconnecting => spans.push(Span::styled(
                "○ reconnecting…",
                theme::BAR.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )),
            Link::Refused => spans.push(Span::styled(
                "✗ handshake failed: check the server key",
                theme::BAR.fg(Color::LightRed).add_modifier(Modifier::BOLD),
            )),
        }
        let unsent: usize = app
            .conversations
            .iter()
            .map(|c| c.pending.iter().filter(|p| p.failed).count())
            .sum();
        if unsent > 0 {
            spans.push(Span::styled(
                format!(" · {unsent} unsent"),
                theme::BAR.fg(Color::LightRed),
            ));
        }
        // The unread total, right-aligned so that nothing on the left can push it off:
        // a new DM or mention is visible whichever conversation is open, at every width.
        let unread = app.total_unread();
        let mut right = Vec::new();
        if unread > 0 {
            let style = if app.mentions_waiting() {
                theme::BAR.fg(Color::LightRed).add_modifier(Modifier::BOLD)
            } else {
                theme::BAR.fg(Color::Yellow)
            };
            right.push(Span::styled(format!(" {unread} unread "), style));
        }
        let help = " F1 help ";
        let used: usize = spans.iter().map(|s| s.content.width()).sum();
        let right_w: usize = right.iter().map(|s| s.content.width()).sum();
        if area.width as usize >= used + right_w + help.width() + 2 {
            right.push(Span::styled(help, theme::BAR.fg(Color::DarkGray)));
        }
        let right_w =
            (right.iter().map(|s| s.content.width()).sum::<usize>() as u16).min(area.width);
        let left_w = area.width - right_w;
        if used > left_w as usize && spans.len() > 1 {
            // Too narrow: my own name is the least news; then cut what is left.
            spans[0] = Span::styled(" ", theme::BAR);
            spans = fit(spans, left_w as usize);
        }
        Line::from(spans).render(Rect::new(area.x, area.y, left_w, 1), buf);
        Line::from(right).render(Rect::new(area.x + left_w, area.y, right_w, 1), buf);
    }
}

/// Cuts spans to `w` columns, keeping each one's style: the first that does not fit ends
/// with `…`, the rest are dropped.
fn fit(spans: Vec<Span<'_>>, w: usize) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut used = 0;
    for s in spans {
        let sw = s.content.width();
        if used + sw <= w {
            used += sw;
            out.push(s);
            continue;
        }
        let room = w - used;
        if room > 1 {
            out.push(Span::styled(ellipsize(&s.content, room), s.style));
        }
        break;
    }
    out
}
