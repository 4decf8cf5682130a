//! The key and command help popup (F1 or `/help`): every row of `app::help::entries`, laid
//! out by `layout::help` to fit the terminal, scrolled by the state when it does not fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use super::theme;
use crate::app::{help, App};
use crate::layout::help::{inner_width, lines, popup_rect, HelpLine};

/// The help popup.
pub struct Help<'a>(pub &'a App);

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let all = lines(&help::groups(), inner_width(area));
        let r = popup_rect(area, all.len());
        Clear.render(r, buf);
        let page = usize::from(r.height.saturating_sub(2));
        let scrolls = all.len() > page;
        let first = self.0.help_scroll.min(all.len().saturating_sub(page));
        let mut block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(theme::DIM)
            .title(Line::from(" Help ".bold()));
        if scrolls {
            let last = (first + page).min(all.len());
            block = block
                .title(
                    Line::from(format!(" {}–{last}/{} ", first + 1, all.len()))
                        .style(theme::DIM)
                        .right_aligned(),
                )
                .title_bottom(
                    Line::from(" ↑↓ PgUp PgDn scroll · Esc ")
                        .style(theme::DIM)
                        .centered(),
                );
        } else {
            block = block.title_bottom(Line::from(" Esc closes ").style(theme::DIM).centered());
        }
        let inner = block.inner(r);
        block.render(r, buf);
        for (y, line) in (inner.y..inner.bottom()).zip(all.iter().skip(first)) {
            let l = match line {
                HelpLine::Heading(h) => Line::from(h.clone().bold()),
                HelpLine::Row { key, text } => Line::from(vec![
                    Span::styled(key.clone(), theme::ME),
                    Span::raw(text.clone()),
                ]),
            };
            l.render(Rect::new(inner.x, y, inner.width, 1), buf);
        }
    }
}
