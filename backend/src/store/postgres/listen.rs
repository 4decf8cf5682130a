//! Logout everywhere at once: a thread that `LISTEN`s for the revocation notices every
//! server's `logout` sends (`NOTIFY` in the same transaction as the delete), so session
//! caches drop a revoked token the moment it is revoked, not after a timeout.
//!
//! While the listening connection is down, notices may be missed: the cache is told to
//! trust nothing ([`Revocation::Suspended`]) until the thread listens again
//! ([`Revocation::Resumed`], which also drops everything cached before).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::{Client, NoTls};

use super::users::REVOKED_CHANNEL;
use super::Revocation;

/// How often the thread wakes to check for `close` and that its connection is alive.
const TICK: Duration = Duration::from_millis(250);
/// How often an idle connection is checked with a round trip.
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Runs until `closing` is set.
pub(super) fn run(config: &::postgres::Config, closing: &AtomicBool, on: &dyn Fn(Revocation)) {
    let mut backoff = Duration::from_millis(100);
    while !closing.load(Ordering::SeqCst) {
        match listen(config) {
            Ok(mut client) => {
                backoff = Duration::from_millis(100);
                on(Revocation::Resumed);
                if let Err(e) = serve(&mut client, closing, on) {
                    tracing::warn!("revocation listener lost its connection: {e}");
                }
                on(Revocation::Suspended);
            }
            Err(e) => {
                tracing::debug!("revocation listener cannot connect: {e}");
                // Waits in short steps so `close` is not held up.
                let until = Instant::now() + backoff;
                while Instant::now() < until && !closing.load(Ordering::SeqCst) {
                    std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn listen(config: &::postgres::Config) -> Result<Client, ::postgres::Error> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(&format!("LISTEN {REVOKED_CHANNEL}"))?;
    Ok(client)
}

/// Passes notices on until the connection fails or `closing` is set.
fn serve(client: &mut Client, closing: &AtomicBool, on: &dyn Fn(Revocation)) -> Result<(), String> {
    let mut checked = Instant::now();
    while !closing.load(Ordering::SeqCst) {
        {
            let mut notices = client.notifications();
            let mut iter = notices.timeout_iter(TICK);
            while let Some(n) = iter.next().map_err(|e| e.to_string())? {
                if n.channel() == REVOKED_CHANNEL {
                    if let Ok(hash) = hex::decode(n.payload()) {
                        on(Revocation::Session(hash));
                    }
                }
            }
        }
        if client.is_closed() {
            return Err("the connection closed".into());
        }
        if checked.elapsed() >= CHECK_EVERY {
            client.simple_query("").map_err(|e| e.to_string())?;
            checked = Instant::now();
        }
    }
    Ok(())
}
