//! Pure text layout for the feed: which rows a conversation occupies at a given width.
//!
//! The widget in `ui::feed` styles these rows; the app uses the same rows to count lines,
//! so that scrolling and "don't yank the view when a message arrives" agree exactly with
//! what is drawn.

use unicode_width::UnicodeWidthStr;
use zchat_protocol::Message;

use super::graphemes;
use super::text::{day_label, local_day};

/// What of a conversation the feed lays out: its loaded messages, the messages still being
/// sent, where the "new messages" line goes, and what the top row says. Built by the app's
/// conversation (`Conversation::feed_text`), so this module needs nothing of the app.
#[derive(Debug, Clone)]
pub struct FeedText<'a> {
    /// Loaded messages, in `seq` order.
    pub messages: &'a [Message],
    /// Texts typed here and not acknowledged yet, oldest first.
    pub pending: Vec<&'a str>,
    /// Where the "new messages" line goes (after this seq), if anywhere.
    pub marker_seq: Option<u64>,
    /// Whether older messages are being fetched.
    pub loading_older: bool,
    /// Whether older messages exist before the first loaded one.
    pub has_more_before: bool,
}

/// One row of the feed, before styling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// `── Tuesday 24 November 2026 ──`
    Day(String),
    /// The read marker: messages below it arrived since the conversation was last read.
    NewMarker,
    /// "Loading older messages…" / "Beginning of the conversation".
    Top { loading: bool, more: bool },
    /// One line of a message. `head` is set on its first line.
    Line {
        /// Index into the conversation's messages, or `None` for a pending (unsent) one.
        msg: Option<usize>,
        /// Index into the conversation's pending list when `msg` is `None`.
        pending: Option<usize>,
        /// Whether this is the message's first line (time and author shown).
        head: bool,
        /// The text of this line.
        text: String,
    },
}

/// Column widths for a message line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// Width of the time column including its trailing space (0 when hidden).
    pub time: usize,
    /// Width of the author column.
    pub nick: usize,
    /// Width of the text column.
    pub text: usize,
}

/// Separator between author and text.
pub const SEP: &str = " │ ";

/// The columns at a feed width. Narrow feeds drop the time column and shrink the nick column.
pub fn columns(conv: &FeedText<'_>, me: &str, width: usize) -> Columns {
    let longest = conv
        .messages
        .iter()
        .map(|m| m.from.width())
        .chain(std::iter::once(me.width()))
        .max()
        .unwrap_or(4);
    let narrow = width < 50;
    let nick = longest.clamp(4, if narrow { 8 } else { 12 });
    let time = if narrow { 0 } else { 6 };
    let text = width.saturating_sub(time + nick + SEP.width()).max(1);
    Columns { time, nick, text }
}

/// Every row of a conversation, top to bottom, at `width` columns. `offset_secs` is the
/// local time zone's offset, used for day separators.
pub fn rows(conv: &FeedText<'_>, me: &str, width: usize, offset_secs: i32) -> Vec<Row> {
    let cols = columns(conv, me, width);
    let mut out = Vec::new();
    out.push(Row::Top {
        loading: conv.loading_older,
        more: conv.has_more_before,
    });
    let mut last_day: Option<i64> = None;
    let mut marker_done = false;
    for (i, m) in conv.messages.iter().enumerate() {
        let day = local_day(m.ts, offset_secs);
        if last_day != Some(day) {
            out.push(Row::Day(day_label(m.ts, offset_secs)));
            last_day = Some(day);
        }
        if !marker_done {
            if let Some(mark) = conv.marker_seq {
                if m.seq > mark && !m.from.eq_ignore_ascii_case(me) {
                    out.push(Row::NewMarker);
                    marker_done = true;
                }
            }
        }
        push_text(&mut out, Some(i), None, &m.text, cols.text);
    }
    for (i, text) in conv.pending.iter().enumerate() {
        push_text(&mut out, None, Some(i), text, cols.text);
    }
    out
}

fn push_text(out: &mut Vec<Row>, msg: Option<usize>, pending: Option<usize>, text: &str, w: usize) {
    for (n, line) in wrap(text, w).into_iter().enumerate() {
        out.push(Row::Line {
            msg,
            pending,
            head: n == 0,
            text: line,
        });
    }
}

/// Number of rows a conversation occupies at `width`.
pub fn row_count(conv: &FeedText<'_>, me: &str, width: usize, offset_secs: i32) -> usize {
    rows(conv, me, width, offset_secs).len()
}

/// Wraps text to `width` display columns: breaks at spaces where it can, inside words when a
/// word is longer than a line, and only ever between grapheme clusters (a ZWJ family, a
/// skin-toned emoji, a flag or a letter with its combining accents stays whole), by the
/// rules of [`graphemes::rows`]. No line is wider than `width` (except a lone cluster wider
/// than a whole line). Newlines are kept; tabs become spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let para = para.replace('\t', "    ");
        lines.extend(
            graphemes::rows(&para, width)
                .into_iter()
                .map(|r| para[r].trim_end().to_string()),
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_wide_chars() {
        assert_eq!(wrap("hello world", 5), vec!["hello", "world"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        // Each CJK character is two columns wide: never split one.
        assert_eq!(wrap("你好世界", 5), vec!["你好", "世界"]);
        for l in wrap("héllo 🎉🎉🎉 wörld 日本語のテキスト", 7) {
            assert!(l.width() <= 7, "{l:?}");
        }
    }

    #[test]
    fn wraps_between_grapheme_clusters_only() {
        let family = "👨\u{200d}👩\u{200d}👧";
        // Each cluster is 2 columns: three fit in 7, never a part of one.
        assert_eq!(
            wrap(&family.repeat(4), 7),
            vec![family.repeat(3), family.to_string()]
        );
        assert_eq!(wrap("👍🏽👍🏽👍🏽", 5), vec!["👍🏽👍🏽", "👍🏽"]);
        assert_eq!(wrap("🇧🇷🇧🇷🇧🇷", 4), vec!["🇧🇷🇧🇷", "🇧🇷"]);
        // `é` as e + combining acute: the accent stays with its letter.
        let e = "e\u{301}";
        assert_eq!(
            wrap(&e.repeat(5), 2),
            vec![e.repeat(2), e.repeat(2), e.to_string()]
        );
        assert_eq!(
            wrap("日本語のテキスト", 5),
            vec!["日本", "語の", "テキ", "スト"]
        );
        // Spaces are still preferred, and the text survives whole.
        let text = format!("hi {family} 👍🏽 🇧🇷 caf{e} 日本");
        let lines = wrap(&text, 6);
        assert_eq!(lines.join(" "), text);
        for l in &lines {
            assert!(graphemes::str_width(l) <= 6, "{l:?}");
        }
        // Newlines kept, blank lines too.
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
    }
}
