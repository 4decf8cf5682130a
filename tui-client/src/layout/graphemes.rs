//! Text measured and broken by grapheme cluster: what a reader sees as one character —
//! a family 👨‍👩‍👧 (three emoji joined by zero-width joiners), a thumbs-up with a skin tone
//! 👍🏽, a flag 🇧🇷 (two regional indicators), an `é` typed as `e` + a combining accent — is
//! one unit with one width. The feed's wrapping and the message editor's cursor both use
//! these rules, so neither ever cuts one apart.
//!
//! Widths are the ones ratatui draws with (`CellWidth`, from `unicode-width`), cluster by
//! cluster, so what is measured here is exactly what lands in the buffer. (Summing the
//! widths of the `char`s instead, as `textwrap` and `ratatui-textarea` do, counts the family
//! as 6 columns while ratatui draws it in 2.)

use std::ops::Range;

use ratatui::buffer::CellWidth;
use unicode_segmentation::UnicodeSegmentation;

/// Display columns of one grapheme cluster as ratatui draws it. Control characters are not
/// drawn, so they take no columns.
pub fn width(g: &str) -> usize {
    if g.contains(char::is_control) {
        0
    } else {
        usize::from(g.cell_width())
    }
}

/// Display columns of a string, cluster by cluster.
pub fn str_width(s: &str) -> usize {
    s.graphemes(true).map(width).sum()
}

/// The rows one paragraph (text without `\n`) takes at `max` columns, as byte ranges that
/// cover it end to end, in order (an empty paragraph is one empty row).
///
/// Rows break between clusters only, preferring the start of a word: a word that does not
/// fit on the current row moves to the next one, and a word wider than a whole row is cut
/// where the row is full. Spaces never start a row: they stay at the end of the previous
/// one, even past `max` (callers trim them or let them hang). A single cluster wider than
/// `max` gets a row of its own.
pub fn rows(para: &str, max: usize) -> Vec<Range<usize>> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    // Width of the row so far, spaces included.
    let mut used = 0;
    // Where the last word of the row starts (a break opportunity), and the width from it.
    let mut word: Option<usize> = None;
    let mut word_w = 0;
    let mut after_space = false;
    for (i, g) in para.grapheme_indices(true) {
        let w = width(g);
        if g == " " {
            used += w;
            word_w += w;
            after_space = true;
            continue;
        }
        if after_space && i > start {
            word = Some(i);
            word_w = 0;
        }
        after_space = false;
        if used + w > max && i > start {
            match word {
                Some(b) if b > start && word_w + w <= max => {
                    out.push(start..b);
                    start = b;
                    used = word_w;
                }
                _ => {
                    out.push(start..i);
                    start = i;
                    used = 0;
                }
            }
            word = None;
            word_w = 0;
        }
        used += w;
        word_w += w;
    }
    out.push(start..para.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(para: &str, max: usize) -> Vec<&str> {
        rows(para, max).into_iter().map(|r| &para[r]).collect()
    }

    #[test]
    fn clusters_have_one_width() {
        assert_eq!(width("👨\u{200d}👩\u{200d}👧"), 2);
        assert_eq!(width("👍🏽"), 2);
        assert_eq!(width("🇧🇷"), 2);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("日"), 2);
        assert_eq!(str_width("a👍🏽é日"), 6);
    }

    #[test]
    fn rows_prefer_word_starts_and_cover_everything() {
        assert_eq!(cut("hello world", 5), ["hello ", "world"]);
        assert_eq!(cut("xy abcdefgh", 5), ["xy ", "abcde", "fgh"]);
        assert_eq!(cut("", 5), [""]);
        assert_eq!(cut("a  b", 1), ["a  ", "b"]);
        let para = "une phrase 👨\u{200d}👩\u{200d}👧 avec des 🇧🇷🇧🇷 et 👍🏽👍🏽👍🏽";
        let joined: String = cut(para, 4).concat();
        assert_eq!(joined, para);
    }

    #[test]
    fn rows_never_split_a_cluster() {
        let family = "👨\u{200d}👩\u{200d}👧";
        let para = family.repeat(5);
        assert_eq!(
            cut(&para, 5),
            [family.repeat(2), family.repeat(2), family.to_string()]
        );
        assert_eq!(cut("👍🏽👍🏽👍🏽", 3), ["👍🏽", "👍🏽", "👍🏽"]);
        assert_eq!(cut("🇧🇷🇧🇷", 2), ["🇧🇷", "🇧🇷"]);
        assert_eq!(
            cut("e\u{301}e\u{301}e\u{301}", 2),
            ["e\u{301}e\u{301}", "e\u{301}"]
        );
        // Wider than the row: alone on its row rather than lost.
        assert_eq!(cut("日本", 1), ["日", "本"]);
    }
}
