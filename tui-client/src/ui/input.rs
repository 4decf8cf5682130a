//! The message editor with its prompt.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Widget};

use super::theme;
use crate::app::App;

/// The input area: a rule, then `› ` and the editor.
pub struct InputView<'a>(pub &'a App);

impl Widget for InputView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let block = Block::new().borders(Borders::TOP).border_style(theme::DIM);
        let inner = block.inner(area);
        block.render(area, buf);
        if app.input.line_count() > 1 {
            Span::styled(" Alt+Enter: new line · Enter: send ", theme::DIM).render(
                Rect::new(area.x + 2, area.y, area.width.saturating_sub(2), 1),
                buf,
            );
        }
        let [prompt, editor] =
            Layout::horizontal([Constraint::Length(2), Constraint::Fill(1)]).areas(inner);
        let style = if app.connected { theme::ME } else { theme::DIM };
        Span::styled("›", style).render(prompt, buf);
        app.input.editor.render(editor, buf);
    }
}
