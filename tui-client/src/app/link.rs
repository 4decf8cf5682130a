//! The connection state as the user sees it, and notices that belong to an outage.
//!
//! The heartbeat ([`zchat_client::feed`]) says whether the server answers; the app adds
//! whether the account's conversations were ever loaded since signing in. Together they
//! tell "connecting" (a saved session whose server has not answered yet: nothing is known
//! about the account, so it must never look empty) from "reconnecting" (an outage after
//! the conversations were loaded).

use super::*;

/// What the status bar says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The server answers heartbeats.
    Online,
    /// Signed in, but the account's conversations have not been loaded yet and the server
    /// does not answer (yet): `○ connecting…`.
    Connecting,
    /// The server stopped answering after the conversations were loaded:
    /// `○ reconnecting…`.
    Reconnecting,
    /// The transport handshake failed (a wrong server key, or a server not speaking CURVE)
    /// and nothing has answered since: `✗ server key refused`, never an endless
    /// "reconnecting" that does not say why. The notice has the whole sentence.
    Refused,
}

impl App {
    /// The connection state shown in the status bar.
    pub fn link(&self) -> Link {
        if self.connected {
            Link::Online
        } else if self.handshake_error.is_some() {
            Link::Refused
        } else if self.loaded {
            Link::Reconnecting
        } else {
            Link::Connecting
        }
    }

    /// Posts an error notice caused by the outage (a request nobody answered): it is
    /// cleared as soon as the server answers again, since it is no longer true.
    pub(super) fn notify_outage(&mut self, text: impl Into<String>) {
        self.notify(text, true);
        self.outage_notice = true;
    }

    /// The server answers again: load the conversations (again). Not twice at once: a
    /// bootstrap already in flight (the one at sign-in, or a retry during the outage, whose
    /// request the broker delivers as soon as the server is back) usually succeeds now, and
    /// a second one racing it could answer with a list older than a channel joined
    /// meanwhile. Should that one fail, another starts at once
    /// ([`App::bootstrap_after_failure`]).
    pub(super) fn bootstrap_on_recovery(&mut self, fx: &mut Vec<Effect>) {
        if self.bootstrap_in_flight {
            self.bootstrap_again = true;
        } else {
            self.start_bootstrap(fx);
        }
    }

    /// A bootstrap failed: if the server came back meanwhile, try again now rather than at
    /// the next periodic retry (and say so: `true`).
    pub(super) fn bootstrap_after_failure(&mut self, fx: &mut Vec<Effect>) -> bool {
        let again = std::mem::take(&mut self.bootstrap_again) && self.connected;
        if again {
            self.start_bootstrap(fx);
        }
        again
    }

    /// The server answers again: a notice about the outage is stale.
    pub(super) fn clear_outage_notice(&mut self) {
        if self.outage_notice {
            self.notice = None;
            self.outage_notice = false;
        }
    }
}
