//! The key and command help popup (`?` or F1).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::{centered, theme};
use crate::app::command::HELP as COMMANDS;

/// Keys, for the help popup and the docs.
pub const KEYS: &[(&str, &str)] = &[
    ("Enter", "send"),
    ("Alt+Enter", "new line"),
    ("↑ / ↓", "input history"),
    ("Ctrl+N/P, Alt+↓/↑", "next / previous conversation"),
    ("Alt+1…9", "jump to conversation"),
    ("Ctrl+K", "quick switcher"),
    ("PgUp / PgDn", "scroll (older pages load)"),
    ("Ctrl+End / Esc", "back to the newest"),
    ("Ctrl+W, Alt+←/→", "delete word, word jumps"),
    ("Ctrl+C", "clear input, or quit"),
    ("F1 / ?", "this help"),
];

/// The help popup.
pub struct Help;

impl Widget for Help {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let r = centered(area, 66, 24);
        Clear.render(r, buf);
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(theme::DIM)
            .title(Line::from(" Help · any key closes ".bold()));
        let inner = block.inner(r);
        block.render(r, buf);
        let mut lines = vec![Line::from("Keys".bold())];
        for (k, d) in KEYS {
            lines.push(Line::from(vec![
                Span::styled(format!(" {k:<17}"), theme::ME),
                Span::raw(*d),
            ]));
        }
        lines.push(Line::from("Commands".bold()));
        for (c, d) in COMMANDS {
            lines.push(Line::from(vec![
                Span::styled(format!(" {c:<23}"), theme::ME),
                Span::raw(*d),
            ]));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}
