//! Where each part of the chat screen goes at a given terminal size. The view draws into
//! these areas; the state uses them to map mouse clicks and to know how many feed rows are
//! on screen.

use ratatui::layout::{Constraint, Layout, Rect};

/// Most lines the message editor grows to before it scrolls.
pub const MAX_VISIBLE_LINES: usize = 5;

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
