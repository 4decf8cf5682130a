//! Where each part of the chat screen goes at a given terminal size. The view draws into
//! these areas; the state uses them to map mouse clicks and to know how many feed rows are
//! on screen.

use ratatui::layout::{Constraint, Layout, Rect};

/// Most rows the message editor grows to before it scrolls.
pub const MAX_VISIBLE_LINES: usize = 5;

/// Columns before the editor's text: the `›` prompt and a space.
pub const PROMPT_WIDTH: u16 = 2;

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

/// Splits the screen. `input_rows` is the number of rows the editor's text takes wrapped at
/// [`editor_width`] (at least 1); the editor grows to show them, up to
/// [`MAX_VISIBLE_LINES`] and never more than about half the pane, and the feed shrinks by
/// as much.
pub fn areas(area: Rect, input_rows: usize) -> Areas {
    let [main, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let [sidebar, right] = Layout::horizontal([
        Constraint::Length(sidebar_width(area.width)),
        Constraint::Fill(1),
    ])
    .areas(main);
    let max_input = (MAX_VISIBLE_LINES as u16)
        .min(right.height.saturating_sub(4) / 2)
        .max(1);
    let input_h = u16::try_from(input_rows)
        .unwrap_or(u16::MAX)
        .clamp(1, max_input)
        + 1;
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

/// Width of the conversation list at a terminal width.
fn sidebar_width(width: u16) -> u16 {
    match width {
        w if w >= 70 => 22,
        w if w >= 50 => 16,
        _ => 0,
    }
}

/// Columns the editor wraps its text at, for a screen `area`: the pane right of the
/// sidebar, less the prompt, less one column kept free for the cursor after a full row.
/// It does not depend on the editor's height, so the rows can be counted before
/// [`areas`] is called with them.
pub fn editor_width(area: Rect) -> usize {
    let right = area.width.saturating_sub(sidebar_width(area.width));
    usize::from(right.saturating_sub(PROMPT_WIDTH + 1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_grows_and_the_feed_shrinks() {
        let area = Rect::new(0, 0, 80, 24);
        let one = areas(area, 1);
        let three = areas(area, 3);
        assert_eq!(one.input.height, 2);
        assert_eq!(three.input.height, 4);
        assert_eq!(three.feed.height + 2, one.feed.height);
        assert_eq!(areas(area, 50).input.height, MAX_VISIBLE_LINES as u16 + 1);
        // The editor's text column plus the prompt and the cursor column fill its pane.
        assert_eq!(editor_width(area) + 3, usize::from(one.input.width));
        // Small screens keep most rows for the feed.
        assert_eq!(areas(Rect::new(0, 0, 30, 8), 5).input.height, 2);
    }
}
