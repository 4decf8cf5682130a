//! The message input: a `ratatui-textarea` editor plus Up/Down input history.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

/// The editor and its history.
#[derive(Debug, Clone)]
pub struct InputLine {
    /// The editor (cursor keys, Home/End, word jumps, delete word, undo…).
    pub editor: TextArea<'static>,
    history: Vec<String>,
    /// Position while browsing history (`None`: editing a fresh line).
    browsing: Option<usize>,
    /// What was typed before browsing started, restored when browsing past the newest.
    draft: String,
}

impl Default for InputLine {
    fn default() -> Self {
        Self::new()
    }
}

impl InputLine {
    /// An empty input line.
    pub fn new() -> Self {
        InputLine {
            editor: fresh_editor(),
            history: Vec::new(),
            browsing: None,
            draft: String::new(),
        }
    }

    /// The text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.editor.is_empty()
    }

    /// Number of lines typed.
    pub fn line_count(&self) -> usize {
        self.editor.lines().len()
    }

    /// Replaces the text, cursor at the end.
    pub fn set_text(&mut self, text: &str) {
        let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        let mut editor = TextArea::new(lines);
        style_editor(&mut editor);
        editor.move_cursor(ratatui_textarea::CursorMove::Bottom);
        editor.move_cursor(ratatui_textarea::CursorMove::End);
        self.editor = editor;
    }

    /// Takes the text out (for sending), remembering it in the history.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.editor = fresh_editor();
        self.browsing = None;
        self.draft.clear();
        text
    }

    /// Clears the text (Ctrl+C on a non-empty line).
    pub fn clear(&mut self) {
        self.editor = fresh_editor();
        self.browsing = None;
    }

    /// Inserts pasted text at the cursor (newlines kept: a pasted paragraph stays one message).
    pub fn paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        self.editor.insert_str(text);
    }

    /// Inserts a newline (Alt+Enter).
    pub fn newline(&mut self) {
        self.editor.insert_newline();
    }

    /// Up: older history entry when on the first line; otherwise moves the cursor.
    pub fn up(&mut self) {
        if self.editor.cursor().0 > 0 {
            self.editor.move_cursor(ratatui_textarea::CursorMove::Up);
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

    /// Down: newer history entry when on the last line; otherwise moves the cursor.
    pub fn down(&mut self) {
        if self.editor.cursor().0 + 1 < self.line_count() {
            self.editor.move_cursor(ratatui_textarea::CursorMove::Down);
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
        let ratatui_textarea::DataCursor(row, col) = self.editor.cursor();
        let Some(line) = self.editor.lines().get(row) else {
            return false;
        };
        let before: Vec<char> = line.chars().take(col).collect();
        let start = before
            .iter()
            .rposition(|c| c.is_whitespace())
            .map_or(0, |i| i + 1);
        let word: String = before[start..].iter().collect();
        let prefix = word.strip_prefix('@').unwrap_or(&word).to_lowercase();
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
        for _ in 0..word.chars().count() {
            self.editor.delete_char();
        }
        self.editor.insert_str(format!("@{name} "));
        true
    }

    /// Any other editing key, handled by the editor's Emacs-like bindings.
    pub fn key(&mut self, key: KeyEvent) {
        // Enter is handled by the app (send / Alt+Enter newline); never let the editor see
        // it as a newline via Ctrl+M / Ctrl+J either.
        if matches!(key.code, KeyCode::Enter)
            || (key.modifiers.contains(KeyModifiers::CONTROL)
                && matches!(key.code, KeyCode::Char('m' | 'j')))
        {
            return;
        }
        self.editor.input(key);
    }
}

fn fresh_editor() -> TextArea<'static> {
    let mut editor = TextArea::default();
    style_editor(&mut editor);
    editor
}

fn style_editor(editor: &mut TextArea<'static>) {
    use ratatui::style::{Modifier, Style};
    editor.set_cursor_line_style(Style::default());
    editor.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
    editor.set_placeholder_text("Type a message, /help for commands");
    editor.set_placeholder_style(Style::default().add_modifier(Modifier::DIM));
    editor.set_max_histories(100);
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
        i.up();
        assert_eq!(i.text(), "two");
        i.up();
        assert_eq!(i.text(), "one");
        i.up();
        assert_eq!(i.text(), "one");
        i.down();
        assert_eq!(i.text(), "two");
        i.down();
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
