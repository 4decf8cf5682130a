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
        "Alt+Enter",
        "new line (also Shift+Enter, where the terminal reports it)",
    ),
    ("Tab", "complete a user name (br → @bruno)"),
    ("↑ / ↓", "earlier / later messages you sent"),
    ("←/→, Home/End", "move the cursor"),
    ("Ctrl+A, Ctrl+E", "start / end of the line"),
    ("Ctrl+←→, Alt+B/F", "move by word"),
    ("Ctrl+W", "delete the word before (also Alt+Backspace)"),
    ("Alt+D", "delete the word after"),
    ("Ctrl+U / Ctrl+R", "undo / redo"),
    ("Ctrl+C", "clear the message; on an empty line, quit"),
    ("paste", "goes into the message, new lines too"),
    // Multi-line input keys (part D) go here.
    ("Conversations", ""),
    ("Ctrl+N, Alt+↓", "next conversation"),
    ("Ctrl+P, Alt+↑", "previous conversation"),
    ("Alt+1 … Alt+9", "n-th conversation in the sidebar"),
    ("Alt+A", "next one with a mention or unread"),
    ("Ctrl+K", "quick switcher (unread, then recent)"),
    ("Alt+PgUp/PgDn", "scroll the sidebar"),
    ("Reading", ""),
    ("PgUp / PgDn", "scroll messages; older ones load"),
    ("Ctrl+Home", "oldest loaded message"),
    ("Ctrl+End, Esc", "back to the newest"),
    // Jump keys (first unread, newest, oldest; part A) go here.
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
