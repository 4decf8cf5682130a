//! Recently validated sessions, so most requests skip the database lookup of their token.
//!
//! Every authenticated request needs its session. Reading it from SQLite each time costs a
//! blocking-pool round trip; this cache answers from memory for [`REVALIDATE_AFTER`] and then
//! asks the database again. Expiry is checked on every hit, and `logout` on this server
//! removes the entry at once. With several server processes, a token revoked through one of
//! them may still be accepted by the others for at most [`REVALIDATE_AFTER`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::SessionRow;

/// How long a cached session is trusted before the database is asked again.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(5);
/// Entries kept before stale ones are swept.
const SWEEP_AT: usize = 50_000;

/// Token hash → session, with the time it was read; and tokens revoked recently, so that a
/// lookup racing with a logout cannot put the revoked session back.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    live: HashMap<Vec<u8>, (SessionRow, Instant)>,
    revoked: HashMap<Vec<u8>, Instant>,
}

impl SessionCache {
    /// A fresh, unexpired cached session for this token hash.
    pub fn get(&self, token_hash: &[u8], now_ms: i64) -> Option<SessionRow> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (row, read_at) = entries.live.get(token_hash)?;
        (read_at.elapsed() < REVALIDATE_AFTER && row.expires_at > now_ms).then(|| row.clone())
    }

    /// Remembers a session just read from the database (unless it was revoked meanwhile).
    pub fn put(&self, token_hash: Vec<u8>, row: SessionRow) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.live.len() >= SWEEP_AT {
            entries
                .live
                .retain(|_, (_, read_at)| read_at.elapsed() < REVALIDATE_AFTER);
        }
        entries
            .revoked
            .retain(|_, at| at.elapsed() < REVALIDATE_AFTER);
        if entries.revoked.contains_key(&token_hash) {
            return;
        }
        entries.live.insert(token_hash, (row, Instant::now()));
    }

    /// Forgets a session (logout), and refuses to cache it again for a while: a lookup that
    /// read it just before the logout must not put it back.
    pub fn remove(&self, token_hash: &[u8]) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.live.remove(token_hash);
        entries.revoked.insert(token_hash.to_vec(), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserRow;

    fn row(expires_at: i64) -> SessionRow {
        SessionRow {
            user: UserRow {
                id: 1,
                name: "ann".into(),
            },
            inbox: "i".into(),
            expires_at,
        }
    }

    #[test]
    fn hits_until_expiry_or_removal() {
        let c = SessionCache::default();
        c.put(b"t".to_vec(), row(100));
        assert!(c.get(b"t", 99).is_some());
        assert!(
            c.get(b"t", 100).is_none(),
            "expired sessions are never served"
        );
        assert!(c.get(b"other", 0).is_none());
        c.remove(b"t");
        assert!(c.get(b"t", 0).is_none());
        // A lookup that read the session before the logout cannot put it back.
        c.put(b"t".to_vec(), row(100));
        assert!(c.get(b"t", 0).is_none());
    }
}
