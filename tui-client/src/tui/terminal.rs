//! The real terminal: full-screen mode on and off (also on errors and panics), and which of
//! its events become actions.

use std::io::{stdout, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Whether [`TerminalGuard`] holds the terminal (the loop under `TestBackend` never does).
static FULL_SCREEN: AtomicBool = AtomicBool::new(false);

/// Sets the terminal's window/tab title (it carries the unread total). Only while in
/// full-screen mode: a loop under `TestBackend` leaves the developer's title alone.
pub fn set_title(title: &str) {
    if FULL_SCREEN.load(Ordering::Relaxed) {
        let _ = crossterm::execute!(stdout(), crossterm::terminal::SetTitle(title));
    }
}

/// Puts the terminal in full-screen mode and restores it when dropped (error paths too).
pub struct TerminalGuard;

impl TerminalGuard {
    /// Enters full-screen mode (raw, alternate screen, mouse, bracketed paste).
    pub fn enter() -> Result<TerminalGuard> {
        enable_raw_mode().context("enabling raw mode (is this a terminal?)")?;
        let guard = TerminalGuard;
        FULL_SCREEN.store(true, Ordering::Relaxed);
        // Save the window title (xterm's title stack) so the unread count set while running
        // does not outlive the program.
        let _ = write!(stdout(), "\x1b[22;0t");
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
    let was_full_screen = FULL_SCREEN.swap(false, Ordering::Relaxed);
    let _ = disable_raw_mode();
    let mut out: Stdout = stdout();
    let _ = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    if was_full_screen {
        // Restore the title saved on entry (once).
        let _ = write!(out, "\x1b[23;0t");
        let _ = out.flush();
    }
}

/// A panic restores the terminal before the message is printed, so it is readable.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}
