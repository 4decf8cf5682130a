//! The text of the message being written and its cursor, edited one grapheme cluster at a
//! time: a family 👨‍👩‍👧, a skin-toned 👍🏽, a flag 🇧🇷 or an `é` with a combining accent is
//! one step for the arrow keys, one Backspace, one Delete, and the cursor never lands inside
//! one. Undo/redo, word and line deletion (with a yank buffer), and the rows the text takes
//! when wrapped to the input box's width.
//!
//! Hand-written rather than `ratatui-textarea`, which the login form still uses: that widget
//! keeps its cursor in `char`s (Backspace after 👍🏽 leaves 👍, the arrows step into a family),
//! measures a row by summing `char` widths (a family counts 6 columns, ratatui draws 2), and
//! splits its spans at the cursor's `char`, which draws a cluster as fragments.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use crate::layout::graphemes;

/// Most undo steps kept.
const UNDO_DEPTH: usize = 100;

/// What the last edit was, so runs of typing or deleting undo as one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// A cursor move or nothing yet: the next edit starts a new undo step.
    None,
    /// Typing a word.
    Typing,
    /// Backspace / Delete, one cluster at a time.
    Deleting,
    /// Anything else (paste, word deletion, a space typed): a step of its own.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    text: String,
    cursor: usize,
}

/// A grapheme-cluster editor over one string (lines separated by `\n`).
#[derive(Debug, Clone)]
pub struct Editor {
    text: String,
    /// Byte offset, always on a cluster boundary.
    cursor: usize,
    undo: Vec<Snapshot>,
    redo: Vec<Snapshot>,
    last: Edit,
    /// The column Up/Down keep while moving through shorter rows.
    goal: Option<usize>,
    /// The text last removed by a word or line deletion (Ctrl+Y puts it back).
    yank: String,
}

impl Default for Editor {
    fn default() -> Self {
        Self::new("")
    }
}

impl Editor {
    /// An editor holding `text` (cleaned as if pasted), cursor at the end, nothing to undo.
    pub fn new(text: &str) -> Self {
        let text = clean(text);
        Editor {
            cursor: text.len(),
            text,
            undo: Vec::new(),
            redo: Vec::new(),
            last: Edit::None,
            goal: None,
            yank: String::new(),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor as a byte offset into [`Editor::text`] (always between two clusters).
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Inserts text at the cursor. `\r\n` and `\r` become `\n`, tabs four spaces, other
    /// control characters are dropped.
    pub fn insert(&mut self, s: &str) {
        let s = clean(s);
        if s.is_empty() {
            return;
        }
        let kind = match s.graphemes(true).count() {
            1 if !s.chars().all(char::is_whitespace) => Edit::Typing,
            _ => Edit::Other,
        };
        self.record(kind);
        self.text.insert_str(self.cursor, &s);
        self.cursor += s.len();
        self.snap();
    }

    /// Replaces the text from byte `from` (a cluster boundary before the cursor) to the
    /// cursor with `with`, as one undo step (Tab completion).
    pub fn replace_before_cursor(&mut self, from: usize, with: &str) {
        let from = from.min(self.cursor);
        let with = clean(with);
        self.record(Edit::Other);
        self.text.replace_range(from..self.cursor, &with);
        self.cursor = from + with.len();
        self.snap();
    }

    /// Backspace: removes the cluster before the cursor (or the line break).
    pub fn backspace(&mut self) -> bool {
        let from = self.prev_boundary(self.cursor);
        self.remove(from..self.cursor, Edit::Deleting, false)
    }

    /// Delete: removes the cluster after the cursor (or the line break).
    pub fn delete(&mut self) -> bool {
        let to = self.next_boundary(self.cursor);
        self.remove(self.cursor..to, Edit::Deleting, false)
    }

    /// Removes the word before the cursor (and the spaces between).
    pub fn delete_word_back(&mut self) -> bool {
        let from = self.word_back(self.cursor);
        self.remove(from..self.cursor, Edit::Other, true)
    }

    /// Removes the word after the cursor (and the spaces before it).
    pub fn delete_word_forward(&mut self) -> bool {
        let to = self.word_forward(self.cursor);
        self.remove(self.cursor..to, Edit::Other, true)
    }

    /// Removes up to the end of the line; at its end, joins the next line.
    pub fn delete_to_line_end(&mut self) -> bool {
        let end = self.line_end_of(self.cursor);
        let to = if end == self.cursor {
            self.next_boundary(end)
        } else {
            end
        };
        self.remove(self.cursor..to, Edit::Other, true)
    }

    /// Removes from the start of the line to the cursor; at its start, joins the previous
    /// line.
    pub fn delete_to_line_start(&mut self) -> bool {
        let start = self.line_start_of(self.cursor);
        let from = if start == self.cursor {
            self.prev_boundary(start)
        } else {
            start
        };
        self.remove(from..self.cursor, Edit::Other, true)
    }

    /// Inserts the text last removed by a word or line deletion.
    pub fn yank(&mut self) {
        let y = self.yank.clone();
        self.insert(&y);
    }

    /// Undoes the last step. Returns whether there was one.
    pub fn undo(&mut self) -> bool {
        let Some(s) = self.undo.pop() else {
            return false;
        };
        self.redo.push(self.snapshot());
        self.restore(s);
        true
    }

    /// Redoes the last undone step. Returns whether there was one.
    pub fn redo(&mut self) -> bool {
        let Some(s) = self.redo.pop() else {
            return false;
        };
        self.undo.push(self.snapshot());
        self.restore(s);
        true
    }

    /// One cluster left (over a line break too).
    pub fn left(&mut self) {
        self.move_to(self.prev_boundary(self.cursor));
    }

    /// One cluster right.
    pub fn right(&mut self) {
        self.move_to(self.next_boundary(self.cursor));
    }

    /// To the start of the word before the cursor.
    pub fn word_left(&mut self) {
        self.move_to(self.word_back(self.cursor));
    }

    /// To the end of the word after the cursor.
    pub fn word_right(&mut self) {
        self.move_to(self.word_forward(self.cursor));
    }

    /// To the start of the line.
    pub fn line_start(&mut self) {
        self.move_to(self.line_start_of(self.cursor));
    }

    /// To the end of the line.
    pub fn line_end(&mut self) {
        self.move_to(self.line_end_of(self.cursor));
    }

    /// To the start of the text.
    pub fn start(&mut self) {
        self.move_to(0);
    }

    /// To the end of the text.
    pub fn end(&mut self) {
        self.move_to(self.text.len());
    }

    /// The rows the text takes wrapped at `width` columns, as byte ranges: each line (between
    /// `\n`s) wrapped by [`graphemes::rows`]. The `\n`s belong to no row.
    pub fn rows(&self, width: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut at = 0;
        for line in self.text.split('\n') {
            out.extend(
                graphemes::rows(line, width)
                    .into_iter()
                    .map(|r| r.start + at..r.end + at),
            );
            at += line.len() + 1;
        }
        out
    }

    /// The cursor's row (index into [`Editor::rows`]) and display column at `width`.
    pub fn cursor_at(&self, width: usize) -> (usize, usize) {
        let rows = self.rows(width);
        let row = row_of(&rows, self.cursor);
        let col = rows.get(row).map_or(0, |r| {
            graphemes::str_width(&self.text[r.start..self.cursor])
        });
        (row, col)
    }

    /// Moves the cursor one row up (`-1`) or down (`1`) at `width`, keeping its column.
    /// Returns false, without moving, on the first row going up or the last going down.
    pub fn vertical(&mut self, delta: isize, width: usize) -> bool {
        let rows = self.rows(width);
        let (row, col) = self.cursor_at(width);
        let Some(target) = row
            .checked_add_signed(delta)
            .filter(|&r| r < rows.len())
            .and_then(|r| rows.get(r))
        else {
            return false;
        };
        let goal = self.goal.unwrap_or(col);
        let mut to = target.start;
        let mut used = 0;
        for (i, g) in self.text[target.clone()].grapheme_indices(true) {
            used += graphemes::width(g);
            if used > goal {
                break;
            }
            to = target.start + i + g.len();
        }
        self.cursor = to;
        self.last = Edit::None;
        self.goal = Some(goal);
        true
    }

    fn move_to(&mut self, to: usize) {
        self.cursor = to;
        self.last = Edit::None;
        self.goal = None;
    }

    fn remove(&mut self, range: Range<usize>, kind: Edit, keep: bool) -> bool {
        if range.is_empty() {
            return false;
        }
        self.record(kind);
        let removed: String = self.text.drain(range.clone()).collect();
        if keep {
            self.yank = removed;
        }
        self.cursor = range.start;
        self.snap();
        true
    }

    /// Saves the state before an edit, unless it continues a run of the same kind.
    fn record(&mut self, kind: Edit) {
        self.goal = None;
        if kind == self.last && matches!(kind, Edit::Typing | Edit::Deleting) {
            return;
        }
        self.last = kind;
        self.redo.clear();
        let s = self.snapshot();
        self.undo.push(s);
        if self.undo.len() > UNDO_DEPTH {
            self.undo.remove(0);
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            text: self.text.clone(),
            cursor: self.cursor,
        }
    }

    fn restore(&mut self, s: Snapshot) {
        self.text = s.text;
        self.cursor = s.cursor.min(self.text.len());
        self.last = Edit::None;
        self.goal = None;
        self.snap();
    }

    /// An edit can join clusters (a combining accent typed after `e`, a regional indicator
    /// typed before a flag): move the cursor forward out of any cluster it ended up in.
    fn snap(&mut self) {
        let mut at = 0;
        for g in self.text.graphemes(true) {
            if at >= self.cursor {
                break;
            }
            at += g.len();
        }
        self.cursor = at;
    }

    fn prev_boundary(&self, at: usize) -> usize {
        self.text[..at]
            .graphemes(true)
            .next_back()
            .map_or(at, |g| at - g.len())
    }

    fn next_boundary(&self, at: usize) -> usize {
        self.text[at..]
            .graphemes(true)
            .next()
            .map_or(at, |g| at + g.len())
    }

    fn word_back(&self, at: usize) -> usize {
        let mut gs = self.text[..at].grapheme_indices(true).rev().peekable();
        let mut to = at;
        while let Some((i, _)) = gs.next_if(|(_, g)| class(g) == Class::Space) {
            to = i;
        }
        if let Some(&(_, g)) = gs.peek() {
            let c = class(g);
            while let Some((i, _)) = gs.next_if(|(_, g)| class(g) == c) {
                to = i;
            }
        }
        to
    }

    fn word_forward(&self, at: usize) -> usize {
        let mut gs = self.text[at..].grapheme_indices(true).peekable();
        let mut to = at;
        while let Some((i, g)) = gs.next_if(|(_, g)| class(g) == Class::Space) {
            to = at + i + g.len();
        }
        if let Some(&(_, g)) = gs.peek() {
            let c = class(g);
            while let Some((i, g)) = gs.next_if(|(_, g)| class(g) == c) {
                to = at + i + g.len();
            }
        }
        to
    }

    fn line_start_of(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end_of(&self, at: usize) -> usize {
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |i| at + i)
    }
}

/// Which row holds byte `at`: the one containing it, or ending at it when the next row does
/// not continue the same line (a full row's end is drawn at the start of the next one).
fn row_of(rows: &[Range<usize>], at: usize) -> usize {
    rows.iter()
        .enumerate()
        .position(|(i, r)| {
            at < r.end || (at == r.end && rows.get(i + 1).is_none_or(|n| n.start != r.end))
        })
        .unwrap_or(rows.len().saturating_sub(1))
}

/// Word classes for word jumps and deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Punct,
    Word,
}

fn class(g: &str) -> Class {
    if g.chars().all(char::is_whitespace) {
        Class::Space
    } else if g.chars().all(|c| c.is_ascii_punctuation()) {
        Class::Punct
    } else {
        Class::Word
    }
}

/// Text as the editor keeps it: `\n` line breaks, spaces for tabs, no other controls.
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\t', "    ")
        .chars()
        .filter(|&c| c == '\n' || !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILY: &str = "👨\u{200d}👩\u{200d}👧";

    #[test]
    fn arrows_and_backspace_step_over_whole_clusters() {
        for cluster in [FAMILY, "👍🏽", "🇧🇷", "e\u{301}", "日"] {
            let mut e = Editor::new(&format!("a{cluster}b"));
            e.left();
            e.left();
            assert_eq!(e.cursor(), 1, "{cluster}");
            e.right();
            assert_eq!(e.cursor(), 1 + cluster.len(), "{cluster}");
            assert!(e.backspace());
            assert_eq!(e.text(), "ab", "{cluster}");
            e.left();
            e.insert(cluster);
            e.left();
            assert!(e.delete());
            assert_eq!(e.text(), "ab", "{cluster}");
        }
    }

    #[test]
    fn edits_that_join_clusters_keep_the_cursor_outside() {
        // A combining accent typed after `e` becomes part of it.
        let mut e = Editor::new("e");
        e.insert("\u{301}");
        assert_eq!(e.cursor(), e.text().len());
        e.backspace();
        assert_eq!(e.text(), "");
        // A regional indicator typed before a flag pairs with its first half.
        let mut e = Editor::new("🇧🇷");
        e.start();
        e.insert("🇺");
        assert_eq!(e.cursor(), "🇺🇧".len());
    }

    #[test]
    fn words_lines_yank() {
        let mut e = Editor::new("hello wörld 👍🏽👍🏽");
        assert!(e.delete_word_back());
        assert_eq!(e.text(), "hello wörld ");
        e.delete_word_back();
        assert_eq!(e.text(), "hello ");
        e.yank();
        assert_eq!(e.text(), "hello wörld ");
        e.word_left();
        assert_eq!(e.cursor(), "hello ".len());
        e.word_left();
        e.word_right();
        assert_eq!(e.cursor(), "hello".len());
        e.delete_to_line_end();
        assert_eq!(e.text(), "hello");
        let mut e = Editor::new("one\ntwo");
        e.line_start();
        assert!(e.backspace());
        assert_eq!(e.text(), "onetwo");
    }

    #[test]
    fn undo_groups_typing_and_redo_restores() {
        let mut e = Editor::default();
        for c in ["h", "i", " ", "y", "o", "u"] {
            e.insert(c);
        }
        e.backspace();
        e.backspace();
        assert_eq!(e.text(), "hi y");
        assert!(e.undo());
        assert_eq!(e.text(), "hi you");
        assert!(e.undo());
        assert_eq!(e.text(), "hi ");
        assert!(e.undo());
        assert_eq!(e.text(), "hi");
        assert!(e.redo());
        assert_eq!(e.text(), "hi ");
        assert!(e.undo() && e.undo());
        assert!(!e.undo());
        assert_eq!(e.text(), "");
    }

    #[test]
    fn paste_is_cleaned() {
        let e = Editor::new("a\r\nb\rc\td\u{7}");
        assert_eq!(e.text(), "a\nb\nc    d");
    }

    #[test]
    fn rows_and_cursor_position() {
        let mut e = Editor::new(&format!("abcd {FAMILY}{FAMILY}\nx"));
        assert_eq!(e.rows(5).len(), 3);
        assert_eq!(e.cursor_at(5), (2, 1));
        assert!(e.vertical(-1, 5));
        // The row "👨‍👩‍👧👨‍👩‍👧" is 4 columns wide: the cursor keeps column 1 → after
        // nothing (column 0), never inside the first family.
        assert_eq!(e.cursor_at(5), (1, 0));
        e.right();
        assert_eq!(e.cursor_at(5), (1, 2));
        // The end of a full row that continues is drawn at the start of the next row.
        let e = Editor::new("abcde");
        assert_eq!(e.cursor_at(5), (0, 5));
        let mut e = Editor::new("abcdef");
        e.left();
        assert_eq!(e.cursor_at(5), (1, 0));
    }
}
