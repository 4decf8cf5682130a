//! Popups: channel browser, user picker, quick switcher (help is in `help.rs`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};
use unicode_width::UnicodeWidthStr;

use super::{centered, ellipsize, help::Help, theme};
use crate::app::popup::{Picker, Popup};
use crate::app::App;

/// Draws whichever popup is open over the chat screen.
pub struct PopupView<'a> {
    /// The popup.
    pub popup: &'a Popup,
    /// The app.
    pub app: &'a App,
}

impl Widget for PopupView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        match self.popup {
            Popup::Help => Help(self.app).render(area, buf),
            Popup::Channels(p) => PickerView {
                picker: p,
                title: " Channels · Enter joins ",
                empty: "no channels yet: /create #name",
            }
            .render(area, buf),
            Popup::Users(p) => PickerView {
                picker: p,
                title: " Users · Enter opens a DM ",
                empty: "nobody else here yet",
            }
            .render(area, buf),
            Popup::Switcher(p) => PickerView {
                picker: p,
                title: " Go to… ",
                empty: "no conversations",
            }
            .render(area, buf),
        }
    }
}

struct PickerView<'a> {
    picker: &'a Picker,
    title: &'a str,
    empty: &'a str,
}

impl Widget for PickerView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let w = (area.width.saturating_sub(4)).min(64);
        let h = (area.height.saturating_sub(2)).min(18);
        let r = centered(area, w, h);
        Clear.render(r, buf);
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(theme::DIM)
            .title(Line::from(self.title.bold()))
            .title_bottom(
                Line::from(" ↑↓ choose · type to filter · Esc closes ")
                    .style(theme::DIM)
                    .centered(),
            );
        let inner = block.inner(r);
        block.render(r, buf);
        if inner.height < 2 {
            return;
        }
        Line::from(vec![
            Span::styled("filter: ", theme::DIM),
            Span::raw(self.picker.filter.clone()),
            Span::styled("▏", theme::ME),
        ])
        .render(
            Rect::new(inner.x + 1, inner.y, inner.width.saturating_sub(1), 1),
            buf,
        );
        let list = Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1);
        let visible = self.picker.visible();
        if self.picker.loading {
            Span::styled(" loading…", theme::DIM).render(list, buf);
            return;
        }
        if visible.is_empty() {
            Span::styled(format!(" {}", self.empty), theme::DIM).render(list, buf);
            return;
        }
        let rows = list.height as usize;
        let label_w = visible
            .iter()
            .map(|i| i.label.width())
            .max()
            .unwrap_or(0)
            .min(24)
            .min((list.width as usize).saturating_sub(2));
        let first = self.picker.selected.saturating_sub(rows.saturating_sub(1));
        for (n, item) in visible.iter().enumerate().skip(first).take(rows) {
            let y = list.y + (n - first) as u16;
            let width = list.width as usize;
            let label = ellipsize(&item.label, label_w);
            let pad = label_w.saturating_sub(label.width());
            let detail_w = width.saturating_sub(label_w + 4);
            let line = Line::from(vec![
                Span::raw(" "),
                Span::raw(label).bold(),
                Span::raw(" ".repeat(pad)),
                Span::raw("  "),
                Span::styled(ellipsize(&item.detail, detail_w), theme::DIM),
            ]);
            let line = if n == self.picker.selected {
                line.style(theme::SELECTED)
            } else {
                line
            };
            buf.set_style(
                Rect::new(list.x, y, list.width, 1),
                if n == self.picker.selected {
                    theme::SELECTED
                } else {
                    ratatui::style::Style::new()
                },
            );
            line.render(Rect::new(list.x, y, list.width, 1), buf);
        }
    }
}
