//! Pure text layout for the feed: which rows a conversation occupies at a given width.
//!
//! The widget in `ui::feed` styles these rows; the app uses the same rows to count lines,
//! so that scrolling and "don't yank the view when a message arrives" agree exactly with
//! what is drawn.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::conversation::Conversation;
use zchat_protocol::Message;

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
pub fn columns(conv: &Conversation, me: &str, width: usize) -> Columns {
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
pub fn rows(conv: &Conversation, me: &str, width: usize, offset_secs: i32) -> Vec<Row> {
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
    for (i, p) in conv.pending.iter().enumerate() {
        push_text(&mut out, None, Some(i), &p.text, cols.text);
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
pub fn row_count(conv: &Conversation, me: &str, width: usize, offset_secs: i32) -> usize {
    rows(conv, me, width, offset_secs).len()
}

/// Wraps text to `width` display columns: breaks at spaces where it can, inside words when a
/// word is longer than a line, and never inside a wide (CJK, emoji) character. Newlines are
/// kept; tabs become spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let para = para.replace('\t', "    ");
        let mut line = String::new();
        let mut line_w = 0usize;
        for word in split_keep_spaces(&para) {
            let ww = word.width();
            if line_w + ww <= width {
                line.push_str(word);
                line_w += ww;
                continue;
            }
            if word.trim().is_empty() {
                // A space that does not fit: the line ends here.
                lines.push(std::mem::take(&mut line));
                line_w = 0;
                continue;
            }
            if ww <= width && line_w > 0 {
                lines.push(std::mem::take(&mut line).trim_end().to_string());
                line.push_str(word);
                line_w = ww;
                continue;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if line_w + cw > width {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0;
                }
                line.push(c);
                line_w += cw;
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

fn split_keep_spaces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, c) in s.char_indices() {
        let sp = c == ' ';
        match in_space {
            Some(prev) if prev != sp => {
                out.push(&s[start..i]);
                start = i;
            }
            _ => {}
        }
        in_space = Some(sp);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Days since the epoch in local time.
pub fn local_day(ts_ms: i64, offset_secs: i32) -> i64 {
    (ts_ms / 1000 + i64::from(offset_secs)).div_euclid(86_400)
}

/// `HH:MM` in local time.
pub fn clock(ts_ms: i64, offset_secs: i32) -> String {
    let secs = (ts_ms / 1000 + i64::from(offset_secs)).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

/// `Tuesday 24 November 2026` in local time.
pub fn day_label(ts_ms: i64, offset_secs: i32) -> String {
    use chrono::{DateTime, FixedOffset, Offset, Utc};
    let offset = FixedOffset::east_opt(offset_secs).unwrap_or_else(|| Utc.fix());
    match DateTime::from_timestamp_millis(ts_ms) {
        Some(t) => t.with_timezone(&offset).format("%A %-d %B %Y").to_string(),
        None => "?".to_string(),
    }
}

/// Whether `text` mentions user `me` as `@me` (case-insensitive, whole name).
pub fn mentions(text: &str, me: &str) -> bool {
    if me.is_empty() {
        return false;
    }
    let lower = text.to_lowercase();
    let needle = format!("@{}", me.to_lowercase());
    lower.match_indices(&needle).any(|(i, _)| {
        let after = lower[i + needle.len()..].chars().next();
        !matches!(after, Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// A stable colour index (0..n) for a user name.
pub fn user_colour(name: &str, n: usize) -> usize {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in name.to_lowercase().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h as usize) % n.max(1)
}

/// Whether `m` is mine.
pub fn is_mine(m: &Message, me: &str) -> bool {
    m.from.eq_ignore_ascii_case(me)
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
    fn mention_rules() {
        assert!(mentions("hi @Alice!", "alice"));
        assert!(!mentions("hi @alicex", "alice"));
        assert!(!mentions("alice", "alice"));
    }

    #[test]
    fn clock_and_days() {
        assert_eq!(clock(0, 0), "00:00");
        assert_eq!(clock(0, 3600), "01:00");
        assert_eq!(day_label(0, 0), "Thursday 1 January 1970");
        assert_eq!(local_day(86_399_000, 0), 0);
        assert_eq!(local_day(86_399_000, 3600), 1);
    }
}
