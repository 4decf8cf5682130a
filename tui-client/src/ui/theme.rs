//! Colours and styles in one place.

use ratatui::style::{Color, Modifier, Style};

/// Author colours, chosen by a stable hash of the name (my own name uses [`ME`]).
pub const NICK_COLOURS: [Color; 10] = [
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
];

/// My own name.
pub const ME: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
/// Dim text: times, separators, hints.
pub const DIM: Style = Style::new().fg(Color::DarkGray);
/// Section headers.
pub const HEADER: Style = Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD);
/// The selected sidebar item.
pub const SELECTED: Style = Style::new()
    .bg(Color::DarkGray)
    .fg(Color::White)
    .add_modifier(Modifier::BOLD);
/// Unread badge.
pub const BADGE: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
/// Mention marker and mentioned text.
pub const MENTION: Style = Style::new()
    .fg(Color::LightYellow)
    .add_modifier(Modifier::BOLD);
/// Errors.
pub const ERROR: Style = Style::new().fg(Color::LightRed);
/// Good news.
pub const OK: Style = Style::new().fg(Color::Green);
/// Bars (title and status).
pub const BAR: Style = Style::new().bg(Color::Indexed(236)).fg(Color::Gray);
/// The read marker line.
pub const NEW: Style = Style::new().fg(Color::LightRed);

/// The colour of an author's name.
pub fn nick(name: &str, me: &str) -> Style {
    if name.eq_ignore_ascii_case(me) {
        ME
    } else {
        Style::new().fg(NICK_COLOURS[crate::layout::text::user_colour(name, NICK_COLOURS.len())])
    }
}
