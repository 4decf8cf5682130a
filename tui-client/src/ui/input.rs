//! The message editor with its prompt: the text wrapped to the box's width, one grapheme
//! cluster per cell group (never a cluster split by the cursor's highlight), the rows around
//! the cursor when there are more than fit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Widget};
use unicode_segmentation::UnicodeSegmentation;

use super::theme;
use crate::app::App;
use crate::layout::graphemes;
use crate::layout::screen::PROMPT_WIDTH;

/// What an empty editor says.
const PLACEHOLDER: &str = "Type a message, /help for commands";

/// The cursor: the cell (or cluster) under it drawn reversed.
const CURSOR: Style = Style::new().add_modifier(Modifier::REVERSED);

/// The input area: a rule, then `› ` and the editor.
pub struct InputView<'a>(pub &'a App);

impl Widget for InputView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let block = Block::new().borders(Borders::TOP).border_style(theme::DIM);
        let inner = block.inner(area);
        block.render(area, buf);
        let prompt_w = PROMPT_WIDTH.min(inner.width);
        let style = if app.connected { theme::ME } else { theme::DIM };
        Span::styled("›", style).render(Rect::new(inner.x, inner.y, prompt_w, 1), buf);
        let text_area = Rect::new(
            inner.x + prompt_w,
            inner.y,
            inner.width - prompt_w,
            inner.height,
        );
        if text_area.is_empty() {
            return;
        }
        let editor = app.input.editor();
        if editor.text().is_empty() {
            buf.set_string(text_area.x, text_area.y, " ", CURSOR);
            buf.set_stringn(
                text_area.x + 1,
                text_area.y,
                PLACEHOLDER,
                usize::from(text_area.width.saturating_sub(1)),
                theme::DIM,
            );
            return;
        }
        // One column is kept free for the cursor after a full row (as in `editor_width`).
        let width = usize::from(text_area.width.saturating_sub(1)).max(1);
        let rows = editor.rows(width);
        let visible = usize::from(text_area.height);
        let top = app.input.top_row(width, visible);
        rule_notes(app, area, top, visible, rows.len(), buf);
        let (cursor_row, cursor_col) = editor.cursor_at(width);
        let text = editor.text();
        for (n, row) in rows.iter().enumerate().skip(top).take(visible) {
            let y = text_area.y + (n - top) as u16;
            let mut x = 0usize;
            let mut cursor_drawn = false;
            for (i, g) in text[row.clone()].grapheme_indices(true) {
                let w = graphemes::width(g);
                if x + w > usize::from(text_area.width) {
                    break;
                }
                let on_cursor = n == cursor_row && row.start + i == editor.cursor();
                cursor_drawn |= on_cursor;
                let style = if on_cursor { CURSOR } else { Style::new() };
                buf.set_stringn(text_area.x + x as u16, y, g, w.max(1), style);
                x += w;
            }
            if n == cursor_row && !cursor_drawn {
                let col = cursor_col.min(usize::from(text_area.width) - 1) as u16;
                buf.set_string(text_area.x + col, y, " ", CURSOR);
            }
        }
    }
}

/// Notes on the rule above the editor: which rows are shown when they do not all fit (on
/// the right), and how to add a line once there are several (on the left, shortened or
/// left out when the rule is too narrow for both).
fn rule_notes(app: &App, area: Rect, top: usize, visible: usize, rows: usize, buf: &mut Buffer) {
    let mut right = area.right().saturating_sub(1);
    if rows > visible {
        let shown = format!(" {}–{} of {rows} rows ", top + 1, (top + visible).min(rows));
        let w = graphemes::str_width(&shown) as u16;
        if w + 4 < area.width {
            right -= w;
            buf.set_string(right, area.y, shown, theme::DIM);
        }
    }
    if app.input.line_count() > 1 {
        let room = usize::from(right.saturating_sub(area.x + 3));
        let hint = [
            " Alt+Enter: new line · Enter: send ",
            " Alt+Enter: new line ",
        ]
        .into_iter()
        .find(|h| graphemes::str_width(h) <= room);
        if let Some(hint) = hint {
            buf.set_string(area.x + 2, area.y, hint, theme::DIM);
        }
    }
}
