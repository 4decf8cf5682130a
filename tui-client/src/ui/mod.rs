//! Drawing: `impl Widget for &App`, one widget per file. No state changes here.

pub mod feed;
pub mod help;
pub mod input;
pub mod login;
pub mod popup;
pub mod sidebar;
pub mod status;
pub mod theme;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::{input::MAX_VISIBLE_LINES, App, Screen};

/// Smallest terminal the chat screen is drawn in; below it a notice is shown.
pub const MIN_SIZE: (u16, u16) = (30, 8);

/// Where each part of the chat screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Conversation list (zero width on narrow terminals).
    pub sidebar: Rect,
    /// Conversation title line.
    pub title: Rect,
    /// Messages.
    pub feed: Rect,
    /// The editor, with a rule line above it.
    pub input: Rect,
    /// Status bar.
    pub status: Rect,
}

/// Splits the screen. `input_lines` is the number of lines in the editor.
pub fn areas(area: Rect, input_lines: usize) -> Areas {
    let [main, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let sidebar_w = match area.width {
        w if w >= 70 => 22,
        w if w >= 50 => 16,
        _ => 0,
    };
    let [sidebar, right] =
        Layout::horizontal([Constraint::Length(sidebar_w), Constraint::Fill(1)]).areas(main);
    let max_input = (MAX_VISIBLE_LINES as u16)
        .min(right.height.saturating_sub(4) / 2)
        .max(1);
    let input_h = (input_lines as u16).clamp(1, max_input) + 1;
    let [title, feed, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(input_h),
    ])
    .areas(right);
    Areas {
        sidebar,
        title,
        feed,
        input,
        status,
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
            too_small(area, buf);
            return;
        }
        match &self.screen {
            Screen::Login(form) => login::LoginView { form, app: self }.render(area, buf),
            Screen::Chat => {
                let a = areas(area, self.input.line_count());
                sidebar::Sidebar(self).render(a.sidebar, buf);
                feed::Title(self).render(a.title, buf);
                feed::Feed(self).render(a.feed, buf);
                input::InputView(self).render(a.input, buf);
                status::StatusBar(self).render(a.status, buf);
                if let Some(p) = &self.popup {
                    popup::PopupView {
                        popup: p,
                        app: self,
                    }
                    .render(area, buf);
                }
            }
        }
    }
}

fn too_small(area: Rect, buf: &mut Buffer) {
    let text = vec![
        Line::from("zchat".bold()),
        Line::from(format!(
            "Terminal too small ({}×{})",
            area.width, area.height
        )),
        Line::from(format!("Need at least {}×{}", MIN_SIZE.0, MIN_SIZE.1)),
    ];
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .centered()
        .render(area, buf);
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Cuts `s` to at most `w` display columns, ending with `…` when cut.
pub fn ellipsize(s: &str, w: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}
