//! The help popup at a given terminal size: its rectangle and its lines, two columns (keys,
//! what they do) whose widths come from the text, each column wrapped on its own so they
//! never run together. The state uses it to bound scrolling; the view draws it.

use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

use super::feed::wrap;

/// Widest the popup gets.
const MAX_WIDTH: u16 = 78;

/// One line of the laid-out help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    /// A section title.
    Heading(String),
    /// One line of a row: the key column (padded to its width) and the description.
    Row {
        /// Key text on this line (may be empty on continuation lines).
        key: String,
        /// Description text on this line.
        text: String,
    },
}

/// The popup's rectangle in `area` for `lines` lines of content: as wide as useful, as
/// high as needed, never larger than the terminal.
pub fn popup_rect(area: Rect, lines: usize) -> Rect {
    let w = area.width.min(MAX_WIDTH);
    let h = (lines as u16).saturating_add(2).min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Width inside the border of the popup drawn in `area`.
pub fn inner_width(area: Rect) -> usize {
    usize::from(area.width.min(MAX_WIDTH)).saturating_sub(2)
}

/// Lays out `groups` of (key, description) rows (an empty description makes a heading) at
/// an inner width of `width` columns. In each group: one column of indent, the key column as
/// wide as the group's longest key (at most two fifths of the width), two columns of gap,
/// the description, one column of margin; both columns wrap on their own.
pub fn lines(groups: &[Vec<(&str, &str)>], width: usize) -> Vec<HelpLine> {
    let mut out = Vec::new();
    for entries in groups {
        let longest = entries
            .iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(k, _)| k.width())
            .max()
            .unwrap_or(0);
        let key_w = longest.min(width * 2 / 5).max(1);
        let text_w = width.saturating_sub(key_w + 4).max(1);
        for (k, d) in entries {
            if d.is_empty() {
                out.extend(wrap(k, width).into_iter().map(HelpLine::Heading));
                continue;
            }
            let keys = wrap(k, key_w);
            let texts = wrap(d, text_w);
            for n in 0..keys.len().max(texts.len()) {
                let key = keys.get(n).cloned().unwrap_or_default();
                let pad = key_w.saturating_sub(key.width());
                out.push(HelpLine::Row {
                    key: format!(" {key}{}  ", " ".repeat(pad)),
                    text: texts.get(n).cloned().unwrap_or_default(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_never_touch() {
        let entries = vec![
            ("Keys", ""),
            ("Ctrl+N/P, Alt+↓/↑", "next / previous conversation"),
            ("F1", "this help"),
        ];
        for width in [28, 40, 76] {
            let ls = lines(std::slice::from_ref(&entries), width);
            for l in &ls {
                if let HelpLine::Row { key, text } = l {
                    assert!(key.ends_with("  "), "{key:?}");
                    assert!(key.width() + text.width() < width, "{key:?}{text:?}");
                }
            }
        }
    }
}
