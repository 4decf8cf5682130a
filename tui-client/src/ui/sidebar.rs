//! The conversation list: Unread (mentions and DMs first), then channels, then direct
//! messages, with unread counts; a row on top when unread ones are scrolled out of view.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};
use unicode_width::UnicodeWidthStr;

use super::{ellipsize, theme};
use crate::app::{App, SidebarRow};

/// The sidebar widget.
pub struct Sidebar<'a>(pub &'a App);

impl Widget for Sidebar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < 4 {
            return;
        }
        let app = self.0;
        let block = Block::new()
            .borders(Borders::RIGHT)
            .border_style(theme::DIM);
        let inner = block.inner(area);
        block.render(area, buf);
        let w = inner.width as usize;
        for (y, row) in app
            .sidebar_view(inner.height as usize)
            .into_iter()
            .enumerate()
        {
            let line = match row {
                SidebarRow::UnreadAbove(n) => Line::from(Span::styled(
                    ellipsize(&format!("↑ {n} unread"), w),
                    theme::MENTION,
                )),
                SidebarRow::Header(h) => Line::from(Span::styled(ellipsize(h, w), theme::HEADER)),
                SidebarRow::Hint(h) => {
                    Line::from(Span::styled(ellipsize(&format!(" {h}"), w), theme::DIM))
                }
                SidebarRow::Blank => Line::default(),
                SidebarRow::Conv(i) => {
                    let c = &app.conversations[i];
                    let selected = app.selected.as_deref() == Some(&c.target.key());
                    let mut style = Style::new();
                    if c.unread > 0 {
                        style = style.add_modifier(Modifier::BOLD);
                    }
                    let sel = if selected { "›" } else { " " };
                    let mark = if c.mentioned && c.unread > 0 { "@" } else { "" };
                    let badge = match c.unread {
                        0 => String::new(),
                        n if n > 999 => " 999+ ".to_string(),
                        n => format!(" {n} "),
                    };
                    let name_w = w.saturating_sub(1 + mark.width() + badge.width());
                    let name = ellipsize(&c.label(), name_w);
                    let pad = name_w.saturating_sub(name.width());
                    let mut spans = vec![
                        Span::styled(sel, theme::ME),
                        Span::styled(name, style),
                        Span::raw(" ".repeat(pad)),
                        Span::styled(mark, theme::MENTION),
                    ];
                    if !badge.is_empty() {
                        spans.push(Span::styled(
                            badge,
                            if c.mentioned {
                                theme::BADGE.bg(ratatui::style::Color::LightRed)
                            } else {
                                theme::BADGE
                            },
                        ));
                    }
                    let line = Line::from(spans);
                    if selected {
                        line.style(theme::SELECTED)
                    } else {
                        line
                    }
                }
            };
            line.render(Rect::new(inner.x, inner.y + y as u16, inner.width, 1), buf);
        }
    }
}
