//! The sign-in screen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use super::{centered, theme};
use crate::app::login::{Field, LoginForm, Mode};
use crate::app::App;

/// The login/register form, centred.
pub struct LoginView<'a> {
    /// The form.
    pub form: &'a LoginForm,
    /// The app (for the title).
    pub app: &'a App,
}

impl Widget for LoginView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let form = self.form;
        let _ = self.app;
        let box_area = centered(area, 64, 17);
        Clear.render(box_area, buf);
        let block = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(theme::DIM)
            .title(Line::from(" zchat ".bold().cyan()).centered());
        let inner = block.inner(box_area);
        block.render(box_area, buf);
        let mut y = inner.y;
        let line = |y: u16| Rect::new(inner.x + 1, y, inner.width.saturating_sub(2), 1);

        // Mode toggle.
        let (l, r) = match form.mode {
            Mode::Login => (theme::SELECTED, theme::DIM),
            Mode::Register => (theme::DIM, theme::SELECTED),
        };
        Line::from(vec![
            Span::styled(" Sign in ", l),
            Span::raw("  "),
            Span::styled(" Create account ", r),
            Span::styled("   Ctrl+R switches", theme::DIM),
        ])
        .render(line(y), buf);
        y += 2;

        for (field, label) in [
            (Field::User, "User"),
            (Field::Password, "Password"),
            (Field::Broker, "Server"),
            (Field::Proxy, "Events"),
            (Field::ServerKey, "Server key"),
        ] {
            if y >= inner.bottom() {
                break;
            }
            let focused = form.focus == field;
            let label_style = if focused {
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(Color::Gray)
            };
            let r = line(y);
            Span::styled(format!("{label:>10} "), label_style)
                .render(Rect::new(r.x, r.y, 11.min(r.width), 1), buf);
            let field_area = Rect::new(r.x + 11, r.y, r.width.saturating_sub(11), 1);
            if field == Field::ServerKey && form.plaintext {
                Span::styled("none: --plaintext (unencrypted)", theme::ERROR)
                    .render(field_area, buf);
            } else {
                buf.set_style(field_area, Style::new().bg(Color::Indexed(236)));
                form.editor(field).render(field_area, buf);
            }
            y += if field == Field::Password { 2 } else { 1 };
        }
        y += 1;
        if y < inner.bottom() {
            let msg = if let Some(e) = &form.error {
                Span::styled(format!("✗ {e}"), theme::ERROR)
            } else if let Some(i) = &form.info {
                Span::styled(i.clone(), theme::OK)
            } else {
                Span::raw("")
            };
            ratatui::widgets::Paragraph::new(Line::from(msg))
                .wrap(ratatui::widgets::Wrap { trim: true })
                .render(
                    Rect::new(
                        inner.x + 1,
                        y,
                        inner.width.saturating_sub(2),
                        inner.bottom() - y,
                    ),
                    buf,
                );
        }
        let hint = Rect::new(inner.x, inner.bottom().saturating_sub(1), inner.width, 1);
        Line::from(Span::styled(
            "Tab: next field · Enter: go · Esc: quit",
            theme::DIM,
        ))
        .centered()
        .render(hint, buf);
    }
}
