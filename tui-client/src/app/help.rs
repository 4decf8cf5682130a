//! What the help popup lists: every key, in one table, and (from [`super::command::HELP`])
//! every slash command. The README's key table says the same.
//!
//! A row whose description is empty is a section heading. To document a new key, add a row
//! to its section here; the popup lays it out and scrolls by itself.

/// Every key of the chat screen, by section: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("Writing", ""),
    ("Enter", "send, or run the /command"),
    (
        "Alt+Enter, Ctrl+J",
        "new line (also Shift+Enter, where the terminal reports it)",
    ),
    ("Tab", "complete a user name (br → @bruno)"),
    (
        "↑ / ↓",
        "rows of the message; from its first / last row, earlier / later messages you sent",
    ),
    (
        "←/→, Home/End",
        "move the cursor (one character: a whole emoji or accent)",
    ),
    ("Ctrl+A, Ctrl+E", "start / end of the line"),
    ("Alt+< / Alt+>", "start / end of the message"),
    ("Ctrl+←→, Alt+B/F", "move by word"),
    (
        "Ctrl+W",
        "delete the word before (also Alt+Backspace, Ctrl+Backspace)",
    ),
    ("Alt+D", "delete the word after (also Ctrl+Delete)"),
    ("Alt+K", "delete to the end of the line"),
    ("Ctrl+Y", "put back what the last word / line deletion took"),
    ("Ctrl+Z / Ctrl+R", "undo / redo (Ctrl+U undoes too)"),
    ("Ctrl+C", "clear the message; on an empty line, quit"),
    ("paste", "goes into the message, new lines too"),
    ("Conversations", ""),
    ("Ctrl+N, Alt+↓", "next conversation"),
    ("Ctrl+P, Alt+↑", "previous conversation"),
    ("Alt+1 … Alt+9", "n-th conversation in the sidebar"),
    ("Alt+A", "next one with a mention or unread"),
    ("Ctrl+K", "quick switcher (unread, then recent)"),
    ("Alt+PgUp/PgDn", "scroll the sidebar"),
    ("Reading", ""),
    ("PgUp / PgDn", "scroll messages; older / newer ones load"),
    (
        "Alt+U",
        "first unread message (the new-messages line on top)",
    ),
    (
        "Home, Ctrl+Home",
        "oldest loaded message (Home on an empty line)",
    ),
    (
        "End, Ctrl+End",
        "back to the newest (End on an empty line; Esc too)",
    ),
    ("Mouse", ""),
    ("wheel", "scrolls what is under the pointer"),
    ("click", "opens a conversation in the sidebar"),
    ("Popups", ""),
    ("type, ↑↓, Enter", "filter, choose, open"),
    ("↑↓, PgUp/PgDn", "scroll this help"),
    ("Esc", "close a popup or a notice"),
    ("Screen", ""),
    ("F1", "this help (also /help; ? is plain text)"),
    ("Ctrl+L", "repaint the screen"),
    ("Ctrl+Q", "quit"),
];

/// The popup's rows in groups, each group with its own key column: the keys, then a
/// "Commands" heading and every command.
pub fn groups() -> [Vec<(&'static str, &'static str)>; 2] {
    [
        KEYS.to_vec(),
        std::iter::once(("Commands", ""))
            .chain(super::command::HELP.iter().copied())
            .collect(),
    ]
}
