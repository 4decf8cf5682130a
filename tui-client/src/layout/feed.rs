//! Pure text layout for the feed: which rows a conversation occupies at a given width.
//!
//! A frame must cost what is on screen, not what is loaded, so the rows are never built
//! for a whole conversation. [`FeedLayout`] caches each message's wrapped lines at the
//! current text width and keeps a row index (prefix sums of each message block's height);
//! [`FeedLayout::lay_out`] brings it up to date (work only for what changed) and returns a
//! [`Laid`] that answers "how many rows", "which rows are `a..b`" and "where is message `i`"
//! in O(log n). The widget in `ui::feed` styles the rows it asks for; the app asks the same
//! layout to scroll, anchor the view and move the read marker, so that they agree exactly
//! with what is drawn.

use std::ops::Range;

use unicode_width::UnicodeWidthStr;
use zchat_protocol::Message;

use super::graphemes;
use super::text::{day_label, local_day};

/// What of a conversation the feed lays out: its loaded messages, the messages still being
/// sent, where the "new messages" line goes, and what the top and bottom rows say. Built by
/// the app's conversation (`Conversation::feed_text`), so this module needs nothing of the
/// app.
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
    /// Whether newer messages exist after the last loaded one (the newest end was evicted,
    /// or the conversation was opened at its first unread message).
    pub has_more_after: bool,
    /// Whether newer messages are being fetched.
    pub loading_newer: bool,
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
    /// "Loading newer messages…" / "PgDn for newer messages": shown below the last loaded
    /// message only while newer ones exist that are not loaded.
    Bottom { loading: bool },
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

/// Widest the author column grows to (8 on narrow feeds); longer names are cut with `…`.
pub const NICK_MAX: usize = 12;

/// The columns at a feed width, given the widest author name shown (me included). Narrow
/// feeds drop the time column and shrink the nick column.
pub fn columns_for(longest_nick: usize, width: usize) -> Columns {
    let narrow = width < 50;
    let nick = longest_nick.clamp(4, if narrow { 8 } else { NICK_MAX });
    let time = if narrow { 0 } else { 6 };
    let text = width.saturating_sub(time + nick + SEP.width()).max(1);
    Columns { time, nick, text }
}

/// Index of the message the "new messages" line is drawn above: the first one after
/// `marker_seq` that is not mine. O(log n) plus my own messages right after the marker.
/// `None` when the marker falls in older messages that are not loaded (its place is not
/// on the page, so it is not drawn above the first loaded message).
pub fn marker_index(
    messages: &[Message],
    marker_seq: Option<u64>,
    has_more_before: bool,
    me: &str,
) -> Option<usize> {
    let mark = marker_seq?;
    if has_more_before && messages.first().is_some_and(|m| mark + 1 < m.seq) {
        return None;
    }
    let from = messages.partition_point(|m| m.seq <= mark);
    messages[from..]
        .iter()
        .position(|m| !m.from.eq_ignore_ascii_case(me))
        .map(|p| from + p)
}

/// What the cache is valid for: lines depend on the text width, day separators on the
/// time zone. (`me` only moves the marker, which is checked on every lay-out; the theme
/// changes colours, never rows.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    text_width: usize,
    offset_secs: i32,
}

/// One message's cached layout.
#[derive(Debug, Clone)]
struct Entry {
    /// The message's `seq`, to follow insertions and evictions without being told.
    seq: u64,
    /// The author's display width, capped at [`NICK_MAX`] (for the nick column).
    nick: usize,
    /// Local day and wrapped lines at the cache's key; `None` until laid out.
    laid: Option<(i64, Vec<String>)>,
}

impl Entry {
    fn new(m: &Message) -> Self {
        Entry {
            seq: m.seq,
            nick: m.from.width().min(NICK_MAX),
            laid: None,
        }
    }

    fn lines(&self) -> &[String] {
        self.laid.as_ref().map_or(&[], |(_, l)| l.as_slice())
    }

    fn day(&self) -> Option<i64> {
        self.laid.as_ref().map(|(d, _)| *d)
    }
}

/// The feed's layout cache and row index for one conversation.
///
/// Rows, top to bottom: the top row (`Row::Top`); one block per message — an optional day
/// separator, an optional "new messages" line, then its wrapped lines; the bottom row
/// (`Row::Bottom`) when newer messages are not loaded; the pending messages' lines.
///
/// It follows the message list by `seq` (appends, prepended pages and evictions at either
/// end cost only the messages that changed, plus O(n) integer work for a prepend), so the
/// owner need not report insertions; an edited message must be reported with
/// [`FeedLayout::changed`].
#[derive(Debug, Clone, Default)]
pub struct FeedLayout {
    key: Option<Key>,
    entries: Vec<Entry>,
    /// How many entries have each (capped) author width.
    nicks: [usize; NICK_MAX + 1],
    /// `prefix[i]`: rows of the blocks before message `i`; valid for `i <= valid`.
    prefix: Vec<usize>,
    valid: usize,
    marker: Option<usize>,
}

impl FeedLayout {
    /// Forgets the cached lines of the message with this `seq` (its text changed).
    pub fn changed(&mut self, seq: u64) {
        if let Ok(i) = self.entries.binary_search_by_key(&seq, |e| e.seq) {
            self.entries[i].laid = None;
            self.valid = self.valid.min(i);
        }
    }

    /// Brings the cache up to date with `text` at `width` columns and returns the laid-out
    /// feed. Costs O(log n) when nothing changed; otherwise the changed messages are
    /// wrapped again and the row index is rebuilt from the first change.
    pub fn lay_out<'a>(
        &'a mut self,
        text: &'a FeedText<'a>,
        me: &str,
        width: usize,
        offset_secs: i32,
    ) -> Laid<'a> {
        self.sync(text.messages);
        let longest = self.longest_nick().max(me.width());
        let cols = columns_for(longest, width);
        let key = Key {
            text_width: cols.text,
            offset_secs,
        };
        if self.key != Some(key) {
            self.entries.iter_mut().for_each(|e| e.laid = None);
            self.valid = 0;
            self.key = Some(key);
        }
        let n = self.entries.len();
        let marker = marker_index(text.messages, text.marker_seq, text.has_more_before, me);
        if marker != self.marker {
            let first = marker.unwrap_or(n).min(self.marker.unwrap_or(n));
            self.valid = self.valid.min(first);
            self.marker = marker;
        }
        self.prefix.truncate(self.valid + 1);
        if self.prefix.is_empty() {
            self.prefix.push(0);
        }
        for i in self.valid..n {
            if self.entries[i].laid.is_none() {
                let m = &text.messages[i];
                self.entries[i].laid =
                    Some((local_day(m.ts, offset_secs), wrap(&m.text, cols.text)));
            }
            let h = self.day_sep(i) as usize
                + (marker == Some(i)) as usize
                + self.entries[i].lines().len();
            let before = self.prefix[i];
            self.prefix.push(before + h);
        }
        self.valid = n;
        let pending = text.pending.iter().map(|p| wrap(p, cols.text)).collect();
        Laid {
            layout: self,
            text,
            cols,
            pending,
            offset_secs,
        }
    }

    /// Whether message `i` starts a new day (and so draws a day separator).
    fn day_sep(&self, i: usize) -> bool {
        i == 0 || self.entries[i - 1].day() != self.entries[i].day()
    }

    fn longest_nick(&self) -> usize {
        self.nicks.iter().rposition(|&c| c > 0).unwrap_or(0)
    }

    /// Follows the message list: keeps the entries of messages still there (matched by
    /// `seq`), adds entries for new ones, drops those of removed ones.
    fn sync(&mut self, messages: &[Message]) {
        let old_n = self.entries.len();
        let n = messages.len();
        let same_ends =
            |e: &[Entry], m: &[Message]| match (e.first(), e.last(), m.first(), m.last()) {
                (Some(e0), Some(e1), Some(m0), Some(m1)) => e0.seq == m0.seq && e1.seq == m1.seq,
                (None, None, None, None) => true,
                _ => false,
            };
        if old_n == n && same_ends(&self.entries, messages) {
            return;
        }
        if old_n < n && old_n > 0 && same_ends(&self.entries, &messages[..old_n]) {
            // Appended (live messages, a newer page): the common case.
            for m in &messages[old_n..] {
                self.add(m);
            }
            self.valid = self.valid.min(old_n);
            return;
        }
        let mut first_change = None;
        let mut out = Vec::with_capacity(n);
        let mut old = std::mem::take(&mut self.entries).into_iter().peekable();
        for (i, m) in messages.iter().enumerate() {
            while let Some(e) = old.next_if(|e| e.seq < m.seq) {
                self.nicks[e.nick] -= 1;
                first_change.get_or_insert(i);
            }
            match old.next_if(|e| e.seq == m.seq) {
                Some(e) => out.push(e),
                None => {
                    let e = Entry::new(m);
                    self.nicks[e.nick] += 1;
                    out.push(e);
                    first_change.get_or_insert(i);
                }
            }
        }
        for e in old {
            self.nicks[e.nick] -= 1;
            first_change.get_or_insert(n);
        }
        self.entries = out;
        if let Some(i) = first_change {
            self.valid = self.valid.min(i);
        }
    }

    fn add(&mut self, m: &Message) {
        let e = Entry::new(m);
        self.nicks[e.nick] += 1;
        self.entries.push(e);
    }
}

/// A conversation's feed, laid out at one width: the answers the view and the app need,
/// each in O(log n) or O(rows asked for).
#[derive(Debug)]
pub struct Laid<'a> {
    layout: &'a FeedLayout,
    text: &'a FeedText<'a>,
    cols: Columns,
    pending: Vec<Vec<String>>,
    offset_secs: i32,
}

impl Laid<'_> {
    /// The columns of message lines.
    pub fn columns(&self) -> Columns {
        self.cols
    }

    /// Number of loaded messages.
    pub fn message_count(&self) -> usize {
        self.layout.entries.len()
    }

    /// First row of message `i`'s block (its day separator, marker line or first line).
    pub fn block_start(&self, i: usize) -> usize {
        1 + self.layout.prefix[i.min(self.message_count())]
    }

    /// Row just after message `i`'s block.
    pub fn block_end(&self, i: usize) -> usize {
        self.block_start(i + 1)
    }

    /// Row of line `line` of message `i` (clamped to its last line).
    pub fn line_row(&self, i: usize, line: usize) -> usize {
        let lines = self.layout.entries.get(i).map_or(0, |e| e.lines().len());
        let first = self.block_end(i).saturating_sub(lines);
        first + line.min(lines.saturating_sub(1))
    }

    /// Row of the "new messages" line, if it is drawn.
    pub fn marker_row(&self) -> Option<usize> {
        let i = self.layout.marker?;
        Some(self.block_start(i) + usize::from(self.layout.day_sep(i)))
    }

    /// Row just after the last message block: the bottom row or the first pending line.
    pub fn messages_end(&self) -> usize {
        self.block_start(self.message_count())
    }

    /// Whether a bottom row ("newer messages") is drawn after the last message.
    fn has_bottom(&self) -> bool {
        self.text.has_more_after
    }

    /// Total number of rows.
    pub fn total(&self) -> usize {
        self.messages_end()
            + usize::from(self.has_bottom())
            + self.pending.iter().map(Vec::len).sum::<usize>()
    }

    /// The message and line shown on row `r`, when it is a message line.
    pub fn locate(&self, r: usize) -> Option<(usize, usize)> {
        if r == 0 || r >= self.messages_end() {
            return None;
        }
        let i = self.message_at(r)?;
        let first = self.line_row(i, 0);
        (r >= first).then(|| (i, r - first))
    }

    /// The message whose block holds row `r` (`r` inside the message blocks).
    pub fn message_at(&self, r: usize) -> Option<usize> {
        if r == 0 || r >= self.messages_end() {
            return None;
        }
        // prefix[i] < r <= prefix[i + 1]: block i holds rows 1 + prefix[i] .. 1 + prefix[i + 1].
        let p = &self.layout.prefix;
        Some(p.partition_point(|&x| x < r).saturating_sub(1))
    }

    /// The newest message whose last line is on one of `rows`: what the reader has seen.
    pub fn last_message_ending_in(&self, rows: Range<usize>) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        // The last line of message i is row prefix[i + 1] (blocks start at row 1).
        let p = &self.layout.prefix;
        let ending = p[1..].partition_point(|&x| x < rows.end);
        let i = ending.checked_sub(1)?;
        (p[i + 1] >= rows.start).then_some(i)
    }

    /// Rows `range` (clamped to the feed), top to bottom.
    pub fn rows(&self, range: Range<usize>) -> Vec<Row> {
        let end = range.end.min(self.total());
        (range.start..end).filter_map(|r| self.row(r)).collect()
    }

    /// Row `r`.
    pub fn row(&self, r: usize) -> Option<Row> {
        if r == 0 {
            return Some(Row::Top {
                loading: self.text.loading_older,
                more: self.text.has_more_before,
            });
        }
        if r < self.messages_end() {
            let i = self.message_at(r)?;
            let mut o = r - self.block_start(i);
            if self.layout.day_sep(i) {
                if o == 0 {
                    let ts = self.text.messages.get(i)?.ts;
                    return Some(Row::Day(day_label(ts, self.offset_secs)));
                }
                o -= 1;
            }
            if self.layout.marker == Some(i) {
                if o == 0 {
                    return Some(Row::NewMarker);
                }
                o -= 1;
            }
            let text = self.layout.entries.get(i)?.lines().get(o)?.clone();
            return Some(Row::Line {
                msg: Some(i),
                pending: None,
                head: o == 0,
                text,
            });
        }
        let mut k = r - self.messages_end();
        if self.has_bottom() {
            if k == 0 {
                return Some(Row::Bottom {
                    loading: self.text.loading_newer,
                });
            }
            k -= 1;
        }
        for (p, lines) in self.pending.iter().enumerate() {
            if let Some(line) = lines.get(k) {
                return Some(Row::Line {
                    msg: None,
                    pending: Some(p),
                    head: k == 0,
                    text: line.clone(),
                });
            }
            k -= lines.len();
        }
        None
    }
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
    use zchat_protocol::Target;

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

    /// The layout as it was computed before the cache: every row of the conversation,
    /// from scratch. The cache must give exactly these rows.
    fn reference_rows(conv: &FeedText<'_>, me: &str, width: usize, offset_secs: i32) -> Vec<Row> {
        let longest = conv
            .messages
            .iter()
            .map(|m| m.from.width())
            .chain(std::iter::once(me.width()))
            .max()
            .unwrap_or(4);
        let cols = columns_for(longest, width);
        let mut out = vec![Row::Top {
            loading: conv.loading_older,
            more: conv.has_more_before,
        }];
        let mut last_day: Option<i64> = None;
        // The marker's place is not loaded: no line.
        let mut marker_done = conv.has_more_before
            && conv
                .marker_seq
                .zip(conv.messages.first())
                .is_some_and(|(mark, m)| mark + 1 < m.seq);
        let line = |out: &mut Vec<Row>, msg, pending, text: &str| {
            for (n, l) in wrap(text, cols.text).into_iter().enumerate() {
                out.push(Row::Line {
                    msg,
                    pending,
                    head: n == 0,
                    text: l,
                });
            }
        };
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
            line(&mut out, Some(i), None, &m.text);
        }
        if conv.has_more_after {
            out.push(Row::Bottom {
                loading: conv.loading_newer,
            });
        }
        for (i, text) in conv.pending.iter().enumerate() {
            line(&mut out, None, Some(i), text);
        }
        out
    }

    /// xorshift64: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len() as u64) as usize]
        }
    }

    const WORDS: &[&str] = &[
        "hi",
        "hello",
        "a",
        "wörld",
        "日本語のテキスト",
        "🎉🎉",
        "supercalifragilisticexpialidocious",
        "x\ny",
        "tab\there",
        "  ",
        "@alice",
        "end.",
    ];
    const NICKS: &[&str] = &[
        "bob",
        "alice",
        "ALICE",
        "carol",
        "a_very_long_user_name",
        "李小龍",
    ];

    fn message(rng: &mut Rng, seq: u64) -> Message {
        let words = 1 + rng.below(25);
        let text = (0..words)
            .map(|_| rng.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ");
        Message {
            target: Target::Channel("t".into()),
            seq,
            // Several messages a day, some days apart.
            ts: 1_795_424_400_000 + (seq as i64) * 3_600_000 * (1 + (seq % 7) as i64),
            from: rng.pick(NICKS).into(),
            text,
        }
    }

    fn check(layout: &mut FeedLayout, text: &FeedText<'_>, me: &str, width: usize, offset: i32) {
        let want = reference_rows(text, me, width, offset);
        let laid = layout.lay_out(text, me, width, offset);
        assert_eq!(laid.total(), want.len(), "width {width}");
        assert_eq!(laid.rows(0..want.len()), want, "width {width}");
        // A slice in the middle, as the view asks for it.
        let mid = want.len() / 2;
        let end = (mid + 7).min(want.len());
        assert_eq!(laid.rows(mid..end), want[mid..end]);
        // Locating rows agrees with the rows.
        for (r, row) in want.iter().enumerate() {
            if let Row::Line { msg: Some(i), .. } = row {
                let (m, line) = laid.locate(r).unwrap_or_else(|| panic!("row {r}"));
                assert_eq!(m, *i);
                assert_eq!(laid.line_row(m, line), r);
            }
        }
        if let Some(r) = want.iter().position(|r| *r == Row::NewMarker) {
            assert_eq!(laid.marker_row(), Some(r));
        }
    }

    #[test]
    fn cached_rows_equal_a_full_layout_at_random_widths_and_edits() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..30 {
            let mut layout = FeedLayout::default();
            let mut messages: Vec<Message> = (1000..1000 + rng.below(60))
                .map(|s| message(&mut rng, s))
                .collect();
            let mut held: Option<Message> = None;
            let pending_texts = [
                "pending one",
                "a pending message that is long enough to wrap somewhere",
            ];
            for step in 0..12 {
                // One edit of the kind the app makes, then a check at a random width.
                match rng.below(6) {
                    0 => {
                        let first = messages.first().map_or(1000, |m| m.seq);
                        let n = rng.below(20).min(first.saturating_sub(1));
                        let page: Vec<Message> =
                            (first - n..first).map(|s| message(&mut rng, s)).collect();
                        messages.splice(0..0, page);
                    }
                    1 => {
                        let last = messages.last().map_or(1000, |m| m.seq);
                        for s in last + 1..last + 1 + rng.below(5) {
                            messages.push(message(&mut rng, s));
                        }
                    }
                    2 => {
                        let n = (rng.below(10) as usize).min(messages.len());
                        messages.drain(..n);
                    }
                    3 => {
                        let n = (rng.below(10) as usize).min(messages.len());
                        messages.truncate(messages.len() - n);
                    }
                    4 => {
                        // A message missing from the middle, then filled in again.
                        match held.take() {
                            Some(m) => {
                                let at = messages.partition_point(|x| x.seq < m.seq);
                                if messages.get(at).is_none_or(|x| x.seq != m.seq) {
                                    messages.insert(at, m);
                                }
                            }
                            None if messages.len() > 2 => {
                                let i = 1 + rng.below(messages.len() as u64 - 2) as usize;
                                held = Some(messages.remove(i));
                            }
                            None => {}
                        }
                    }
                    _ => {
                        // An edit: same seq, new text.
                        if !messages.is_empty() {
                            let i = rng.below(messages.len() as u64) as usize;
                            messages[i].text = format!("edited {round} {step}");
                            layout.changed(messages[i].seq);
                        }
                    }
                }
                let marker_seq = match rng.below(3) {
                    0 => None,
                    _ => messages
                        .get(rng.below(messages.len() as u64 + 1) as usize)
                        .map(|m| m.seq - 1),
                };
                let text = FeedText {
                    messages: &messages,
                    pending: pending_texts[..rng.below(3) as usize].to_vec(),
                    marker_seq,
                    loading_older: rng.below(2) == 0,
                    has_more_before: rng.below(2) == 0,
                    has_more_after: rng.below(2) == 0,
                    loading_newer: rng.below(2) == 0,
                };
                let me = if rng.below(5) == 0 { "zed" } else { "alice" };
                // Mostly the same width (the cache kept), sometimes another.
                let width = if rng.below(3) == 0 {
                    1 + rng.below(120) as usize
                } else {
                    80
                };
                let offset = if rng.below(8) == 0 { 3600 * 5 } else { 0 };
                check(&mut layout, &text, me, width, offset);
            }
        }
    }
}
