//! The real terminal: full-screen mode on and off (also on errors and panics), and which of
//! its events become actions.

use std::io::{stdout, Stdout};

use anyhow::{Context, Result};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    KeyEventKind,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};

use crate::app::Action;

/// Maps a terminal event to an action (key releases and repeats are dropped).
pub fn terminal_action(ev: Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press => Some(Action::Key(k)),
        Event::Paste(s) => Some(Action::Paste(s)),
        Event::Mouse(m) => Some(Action::Mouse(m)),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

/// Puts the terminal in full-screen mode and restores it when dropped (error paths too).
pub struct TerminalGuard;

impl TerminalGuard {
    /// Enters full-screen mode (raw, alternate screen, mouse, bracketed paste).
    pub fn enter() -> Result<TerminalGuard> {
        enable_raw_mode().context("enabling raw mode (is this a terminal?)")?;
        let guard = TerminalGuard;
        crossterm::execute!(
            stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Leaves full-screen mode. Safe to call twice.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out: Stdout = stdout();
    let _ = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic restores the terminal before the message is printed, so it is readable.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}
