//! The status area: the one-line status bar, and above it the lines a notice needs so that
//! an error is always shown whole (wrapped at word boundaries, never cut mid-word).

use ratatui::layout::Rect;

use super::feed::wrap;
use super::screen::Areas;

/// Most lines a notice takes; a longer text ends with `…` after a whole word.
pub const MAX_NOTICE_LINES: usize = 3;

/// The notice wrapped for a terminal `width` columns wide (one column of margin on each
/// side), at most [`MAX_NOTICE_LINES`] lines.
pub fn notice_lines(text: &str, width: u16) -> Vec<String> {
    let w = usize::from(width).saturating_sub(2).max(1);
    let mut lines = wrap(text.trim(), w);
    if lines.len() > MAX_NOTICE_LINES {
        lines.truncate(MAX_NOTICE_LINES);
        if let Some(last) = lines.last_mut() {
            // Drop whole words until the ellipsis fits.
            while unicode_width::UnicodeWidthStr::width(last.as_str()) + 2 > w {
                match last.trim_end().rfind(' ') {
                    Some(i) => last.truncate(i),
                    None => {
                        last.clear();
                        break;
                    }
                }
            }
            last.push_str(" …");
        }
    }
    lines
}

/// The areas with the status area grown upwards by `notice` lines (taken from the bottom of
/// the sidebar, the feed and the input's place; the feed keeps at least one row).
pub fn with_notice(mut a: Areas, notice: usize) -> Areas {
    let n = (notice as u16).min(a.feed.height.saturating_sub(1));
    if n == 0 {
        return a;
    }
    a.sidebar.height = a.sidebar.height.saturating_sub(n);
    a.feed.height -= n;
    a.input.y -= n;
    a.status = Rect::new(
        a.status.x,
        a.status.y - n,
        a.status.width,
        a.status.height + n,
    );
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_whole_words_and_marks_the_rest() {
        let text =
            "not sent: the server does not answer; it will be retried when the server is back";
        let lines = notice_lines(text, 30);
        assert_eq!(lines.len(), 3, "{lines:?}");
        for l in &lines {
            assert!(
                unicode_width::UnicodeWidthStr::width(l.as_str()) <= 28,
                "{l:?}"
            );
            let last = l
                .trim_end_matches(" …")
                .split(' ')
                .next_back()
                .unwrap_or("");
            assert!(text.split(' ').any(|w| w == last), "cut mid-word: {l:?}");
        }
        assert!(lines[2].ends_with('…'));
        assert_eq!(notice_lines("short", 80), vec!["short"]);
    }
}
