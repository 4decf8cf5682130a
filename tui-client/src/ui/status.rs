//! The status bar: me, connection state, round-trip time, notices.

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
        // Without a sidebar (narrow terminals) the unread total has to show somewhere.
        if area.width < 50 {
            let unread = app.total_unread();
            if unread > 0 {
                spans.push(Span::styled(
                    format!(" · {unread} unread"),
                    theme::BAR.fg(Color::Yellow),
                ));
            }
        }
        let help = " ? help ";
        let used: usize = spans.iter().map(|s| s.content.width()).sum();
        let room = (area.width as usize).saturating_sub(used + help.width() + 3);
        if let Some(n) = &app.notice {
            let style = if n.error {
                theme::BAR.fg(Color::LightRed)
            } else {
                theme::BAR.fg(Color::White)
            };
            spans.push(Span::styled(" │ ", theme::BAR.fg(Color::DarkGray)));
            spans.push(Span::styled(ellipsize(&n.text, room), style));
        }
        Line::from(spans).render(area, buf);
        if area.width as usize > used + help.width() + 10 {
            let x = area.right() - help.width() as u16;
            Span::styled(help, theme::BAR.fg(Color::DarkGray))
                .render(Rect::new(x, area.y, help.width() as u16, 1), buf);
        }
    }
}
