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
use ratatui::layout::Rect;
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::{App, Screen};
use crate::layout::screen::MIN_SIZE;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
            too_small(area, buf);
            return;
        }
        match &self.screen {
            Screen::Login(form) => login::LoginView { form, app: self }.render(area, buf),
            Screen::Chat => {
                let a = self.layout(area);
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
