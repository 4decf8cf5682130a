//! The message input: the grapheme-cluster [`Editor`], its key bindings, Up/Down input
//! history, Tab completion of names, and which of its wrapped rows are on screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::editor::Editor;

/// The editor, its history and its scroll position.
#[derive(Debug, Clone, Default)]
pub struct InputLine {
    editor: Editor,
    history: Vec<String>,
    /// Position while browsing history (`None`: editing a fresh line).
    browsing: Option<usize>,
    /// What was typed before browsing started, restored when browsing past the newest.
    draft: String,
    /// First wrapped row shown when the text has more rows than the box (kept by
    /// [`InputLine::keep_visible`] so the cursor stays in view).
    top: usize,
}

impl InputLine {
    /// An empty input line.
    pub fn new() -> Self {
        Self::default()
    }

    /// The editor (text, cursor, wrapped rows), for drawing.
    pub fn editor(&self) -> &Editor {
        &self.editor
    }

    /// The text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.editor.text().to_string()
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.editor.text().is_empty()
    }

    /// Number of lines typed (`\n`-separated, before wrapping).
    pub fn line_count(&self) -> usize {
        self.editor.text().split('\n').count()
    }

    /// Number of rows the text takes wrapped at `width` columns.
    pub fn row_count(&self, width: usize) -> usize {
        self.editor.rows(width).len()
    }

    /// The first of `visible` rows to show at `width`: the kept scroll position, moved just
    /// enough to show the cursor's row.
    pub fn top_row(&self, width: usize, visible: usize) -> usize {
        let (row, _) = self.editor.cursor_at(width);
        let rows = self.row_count(width);
        let visible = visible.max(1);
        self.top
            .min(rows.saturating_sub(visible))
            .clamp(row.saturating_sub(visible - 1), row)
    }

    /// Scrolls the box so the cursor's row is among the `visible` rows shown at `width`.
    pub fn keep_visible(&mut self, width: usize, visible: usize) {
        self.top = self.top_row(width, visible);
    }

    /// Replaces the text, cursor at the end.
    pub fn set_text(&mut self, text: &str) {
        self.editor = Editor::new(text);
    }

    /// Takes the text out (for sending), remembering it in the history.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.editor = Editor::default();
        self.browsing = None;
        self.draft.clear();
        self.top = 0;
        text
    }

    /// Clears the text (Ctrl+C on a non-empty line).
    pub fn clear(&mut self) {
        self.editor = Editor::default();
        self.browsing = None;
        self.top = 0;
    }

    /// Inserts pasted text at the cursor (newlines kept: a pasted paragraph stays one message
    /// and is shown as several lines).
    pub fn paste(&mut self, text: &str) {
        self.editor.insert(text);
    }

    /// Inserts a newline (Alt+Enter, Shift+Enter, Ctrl+J).
    pub fn newline(&mut self) {
        self.editor.insert("\n");
    }

    /// Up: the row above at `width` columns; on the first row, the older history entry.
    pub fn up(&mut self, width: usize) {
        if self.editor.vertical(-1, width) {
            return;
        }
        if self.history.is_empty() {
            return;
        }
        let next = match self.browsing {
            None => {
                self.draft = self.text();
                self.history.len() - 1
            }
            Some(0) => 0,
            Some(i) => i - 1,
        };
        self.browsing = Some(next);
        let entry = self.history[next].clone();
        self.set_text(&entry);
    }

    /// Down: the row below at `width` columns; on the last row, the newer history entry.
    pub fn down(&mut self, width: usize) {
        if self.editor.vertical(1, width) {
            return;
        }
        match self.browsing {
            None => {}
            Some(i) if i + 1 < self.history.len() => {
                self.browsing = Some(i + 1);
                let entry = self.history[i + 1].clone();
                self.set_text(&entry);
            }
            Some(_) => {
                self.browsing = None;
                let draft = std::mem::take(&mut self.draft);
                self.set_text(&draft);
            }
        }
    }

    /// Completes the name being typed before the cursor (with or without a leading `@`)
    /// from `names`, case-insensitively, into `@name `. With several matches, the shortest
    /// (then alphabetical) wins. Returns whether anything was completed.
    pub fn complete(&mut self, names: &[String]) -> bool {
        let before = &self.editor.text()[..self.editor.cursor()];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
        let word = &before[start..];
        let prefix = word.strip_prefix('@').unwrap_or(word).to_lowercase();
        if prefix.is_empty() {
            return false;
        }
        let mut matches: Vec<&String> = names
            .iter()
            .filter(|n| n.to_lowercase().starts_with(&prefix))
            .collect();
        matches.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        let Some(name) = matches.first() else {
            return false;
        };
        self.editor
            .replace_before_cursor(start, &format!("@{name} "));
        true
    }

    /// Any other editing key (Emacs-like bindings, see `ui::help`). Enter is the app's
    /// (send / new line); Up and Down are [`InputLine::up`] / [`InputLine::down`].
    pub fn key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let e = &mut self.editor;
        match key.code {
            KeyCode::Char(c) if !ctrl && !alt => {
                let mut buf = [0; 4];
                e.insert(c.encode_utf8(&mut buf));
            }
            KeyCode::Backspace if ctrl || alt => {
                e.delete_word_back();
            }
            KeyCode::Backspace => {
                e.backspace();
            }
            KeyCode::Char('h') if ctrl => {
                e.backspace();
            }
            KeyCode::Char('w') if ctrl => {
                e.delete_word_back();
            }
            KeyCode::Delete if ctrl || alt => {
                e.delete_word_forward();
            }
            KeyCode::Char('d') if alt => {
                e.delete_word_forward();
            }
            KeyCode::Delete => {
                e.delete();
            }
            KeyCode::Char('d') if ctrl => {
                e.delete();
            }
            // Ctrl+K is the quick switcher (it never reaches the input): Alt+K kills the line.
            KeyCode::Char('k') if alt => {
                e.delete_to_line_end();
            }
            KeyCode::Char('y') if ctrl => e.yank(),
            KeyCode::Char('u' | 'z') if ctrl => {
                e.undo();
            }
            KeyCode::Char('r') if ctrl => {
                e.redo();
            }
            KeyCode::Left if ctrl || alt => e.word_left(),
            KeyCode::Right if ctrl || alt => e.word_right(),
            KeyCode::Char('b') if alt => e.word_left(),
            KeyCode::Char('f') if alt => e.word_right(),
            KeyCode::Left => e.left(),
            KeyCode::Right => e.right(),
            KeyCode::Char('b') if ctrl => e.left(),
            KeyCode::Char('f') if ctrl => e.right(),
            KeyCode::Home => e.line_start(),
            KeyCode::End => e.line_end(),
            KeyCode::Char('a') if ctrl => e.line_start(),
            KeyCode::Char('e') if ctrl => e.line_end(),
            KeyCode::Char('<') if alt => e.start(),
            KeyCode::Char('>') if alt => e.end(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_round_trip() {
        let mut i = InputLine::new();
        i.paste("one");
        assert_eq!(i.take(), "one");
        i.paste("two");
        assert_eq!(i.take(), "two");
        i.paste("draft");
        i.up(40);
        assert_eq!(i.text(), "two");
        i.up(40);
        assert_eq!(i.text(), "one");
        i.up(40);
        assert_eq!(i.text(), "one");
        i.down(40);
        assert_eq!(i.text(), "two");
        i.down(40);
        assert_eq!(i.text(), "draft");
    }

    #[test]
    fn multi_line() {
        let mut i = InputLine::new();
        i.paste("a");
        i.newline();
        i.paste("b");
        assert_eq!(i.text(), "a\nb");
        assert_eq!(i.line_count(), 2);
    }
}
