//! Helpers shared by the `zchat` command-line tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `zchat tail --json` (or any command printing JSON lines): its lines arrive on
/// a channel as they are printed; the process is killed when this is dropped.
pub struct Tail {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
}

impl Tail {
    /// Starts `command` with stdout piped (stderr discarded) and reads its JSON lines.
    pub fn spawn(mut command: Command) -> Tail {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the tail");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        Tail { child, lines }
    }

    /// The next line, if one comes within `within`.
    pub fn next(&self, within: Duration) -> Option<serde_json::Value> {
        self.lines.recv_timeout(within).ok()
    }

    /// Collects lines until `n` have arrived in total or the timeout passes.
    pub fn collect(&self, into: &mut Vec<serde_json::Value>, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while into.len() < n {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            match self.lines.recv_timeout(left) {
                Ok(v) => into.push(v),
                Err(_) => return,
            }
        }
    }

    /// Collects lines until one with `text` has arrived; panics at `deadline`.
    pub fn collect_until_text(
        &self,
        into: &mut Vec<serde_json::Value>,
        text: &str,
        deadline: Instant,
    ) {
        while into.last().and_then(|v| v["text"].as_str()) != Some(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{text:?} never reached the tail: {into:?}");
            self.collect(into, into.len() + 1, left);
        }
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
