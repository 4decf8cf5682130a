//! The open conversation: title line and message feed.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use unicode_width::UnicodeWidthStr;

use super::{ellipsize, theme};
use crate::app::App;
use crate::layout::feed::{self as layout, Row, SEP};
use crate::layout::text;

/// The title line: conversation name and description.
pub struct Title<'a>(pub &'a App);

impl Widget for Title<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        buf.set_style(area, theme::BAR);
        let Some(c) = self.0.active() else {
            Line::from(" zchat").style(theme::BAR).render(area, buf);
            return;
        };
        let mut spans = vec![Span::styled(
            format!(" {}", c.label()),
            theme::BAR.add_modifier(Modifier::BOLD),
        )];
        if !c.description.is_empty() {
            spans.push(Span::styled(
                ellipsize(
                    &format!(" — {}", c.description),
                    (area.width as usize).saturating_sub(c.label().width() + 1),
                ),
                theme::BAR,
            ));
        }
        if c.scroll > 0 || c.has_more_after {
            let hint = " ↓ more below (End) ";
            let x = area.right().saturating_sub(hint.width() as u16);
            Line::from(spans).render(area, buf);
            Span::styled(hint, theme::BAR.fg(ratatui::style::Color::Yellow))
                .render(Rect::new(x, area.y, hint.width() as u16, 1), buf);
            return;
        }
        Line::from(spans).render(area, buf);
    }
}

/// The message feed, bottom-anchored, scrolled by the conversation's `scroll`.
pub struct Feed<'a>(pub &'a App);

impl Widget for Feed<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let Some(c) = app.active() else {
            // Not loaded yet is not empty: no "join a channel" for an account not seen yet.
            let text = if !app.loaded && app.connected {
                vec![Line::default(), Line::from(" Loading your conversations…")]
            } else if !app.loaded {
                vec![
                    Line::default(),
                    Line::from(format!(" Waiting for the server at {}…", app.broker)).bold_if(true),
                    Line::from(format!(" Signed in as {}.", app.me)),
                    Line::from(" Your conversations appear as soon as it answers."),
                ]
            } else {
                vec![
                    Line::default(),
                    Line::from(" Welcome to zchat.").bold_if(true),
                    Line::from(" Join a channel with /join #name, browse them with /channels,"),
                    Line::from(" or message someone with /dm @name. Press F1 for keys."),
                ]
            };
            let paragraph = Paragraph::new(text);
            if app.loaded {
                paragraph.render(area, buf);
            } else {
                paragraph
                    .wrap(ratatui::widgets::Wrap { trim: false })
                    .render(area, buf);
            }
            return;
        };
        let width = area.width as usize;
        let h = area.height as usize;
        // Only the rows on screen are built: O(rows shown + log n) through the layout cache.
        let (rows, cols) = c.laid_out(&app.me, width, app.offset_secs, |laid| {
            let total = laid.total();
            let end = total - c.scroll.min(total.saturating_sub(h));
            let start = end.saturating_sub(h);
            (laid.rows(start..end), laid.columns())
        });
        // Fewer rows than the pane: stick them to the bottom, like every chat client.
        let top_pad = h.saturating_sub(rows.len());
        for (n, row) in rows.iter().enumerate() {
            let y = area.y + (top_pad + n) as u16;
            let line = styled_row(app, c, row, cols, width);
            line.render(Rect::new(area.x, y, area.width, 1), buf);
        }
    }
}

trait BoldIf {
    fn bold_if(self, b: bool) -> Self;
}
impl BoldIf for Line<'_> {
    fn bold_if(self, b: bool) -> Self {
        if b {
            self.style(Style::new().add_modifier(Modifier::BOLD))
        } else {
            self
        }
    }
}

fn centered_rule(label: &str, width: usize, style: Style) -> Line<'static> {
    let label = format!(" {label} ");
    let lw = label.width();
    let left = width.saturating_sub(lw) / 2;
    let right = width.saturating_sub(lw + left);
    Line::from(vec![
        Span::styled("─".repeat(left), theme::DIM),
        Span::styled(label, style),
        Span::styled("─".repeat(right), theme::DIM),
    ])
}

fn styled_row(
    app: &App,
    c: &crate::app::Conversation,
    row: &Row,
    cols: layout::Columns,
    width: usize,
) -> Line<'static> {
    match row {
        Row::Day(label) => centered_rule(label, width, theme::DIM),
        Row::NewMarker => centered_rule("new messages", width, theme::NEW),
        Row::Top { loading, more } => {
            let text = if *loading {
                "loading older messages…"
            } else if *more {
                "PgUp for older messages"
            } else {
                "beginning of the conversation"
            };
            Line::from(Span::styled(format!("{text:^width$}"), theme::DIM))
        }
        Row::Bottom { loading } => {
            let text = if *loading {
                "loading newer messages…"
            } else {
                "PgDn / End for newer messages"
            };
            Line::from(Span::styled(format!("{text:^width$}"), theme::DIM))
        }
        Row::Line {
            msg,
            pending,
            head,
            text,
        } => {
            let mut spans = Vec::new();
            let (time, author, text_style) = match (msg, pending) {
                (Some(i), _) => {
                    let m = &c.messages[*i];
                    let mention = !text::is_mine(m, &app.me) && text::mentions(&m.text, &app.me);
                    let ts = if mention {
                        theme::MENTION
                    } else {
                        Style::new()
                    };
                    (text::clock(m.ts, app.offset_secs), m.from.clone(), ts)
                }
                (None, Some(p)) => {
                    let p = &c.pending[*p];
                    let mark = if p.failed { "✗" } else { "…" };
                    (mark.to_string(), app.me.clone(), theme::DIM)
                }
                (None, None) => (String::new(), String::new(), Style::new()),
            };
            if cols.time > 0 {
                let t = if *head {
                    ellipsize(&time, cols.time - 1)
                } else {
                    String::new()
                };
                let style = if pending.is_some()
                    && c.pending
                        .get(pending.unwrap_or(0))
                        .is_some_and(|p| p.failed)
                {
                    theme::ERROR
                } else {
                    theme::DIM
                };
                spans.push(Span::styled(format!("{:<w$}", t, w = cols.time), style));
            }
            if *head {
                let name = ellipsize(&author, cols.nick);
                let pad = cols.nick.saturating_sub(name.width());
                spans.push(Span::raw(" ".repeat(pad)));
                spans.push(Span::styled(name, theme::nick(&author, &app.me)));
            } else {
                spans.push(Span::raw(" ".repeat(cols.nick)));
            }
            spans.push(Span::styled(SEP, theme::DIM));
            spans.push(Span::styled(text.clone(), text_style));
            if cols.time == 0 && *head && pending.is_some() {
                spans.push(Span::styled(format!(" ({time})"), theme::ERROR));
            }
            Line::from(spans)
        }
    }
}
