//! Recently validated sessions, so most requests skip the database lookup of their token.
//!
//! Every authenticated request needs its session. Reading it from the database each time
//! costs a blocking-pool round trip; this cache answers from memory for [`REVALIDATE_AFTER`]
//! and then asks the database again. Expiry is checked on every hit, and `logout` on this
//! server removes the entry at once. On PostgreSQL a logout through any other server removes
//! it at once too (the store's revocation listener calls [`SessionCache::remove`]); while
//! that listener is down the cache is suspended and serves nothing. On SQLite (one host,
//! usually one server) a token revoked through another server process sharing the file may
//! still be accepted by this one for at most [`REVALIDATE_AFTER`].

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
    /// Nothing is served or cached (revocations may be missed now).
    suspended: bool,
    /// Bumped by every suspend and resume: a lookup that began in an older epoch may have
    /// read a session revoked unheard, so its result is not cached.
    epoch: u64,
}

impl SessionCache {
    /// A fresh, unexpired cached session for this token hash.
    pub fn get(&self, token_hash: &[u8], now_ms: i64) -> Option<SessionRow> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.suspended {
            return None;
        }
        let (row, read_at) = entries.live.get(token_hash)?;
        (read_at.elapsed() < REVALIDATE_AFTER && row.expires_at > now_ms).then(|| row.clone())
    }

    /// The current epoch: take it before reading a session from the database, and give it
    /// to [`SessionCache::put`].
    pub fn epoch(&self) -> u64 {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .epoch
    }

    /// Remembers a session read from the database in `epoch` (unless it was revoked
    /// meanwhile, or the cache was suspended or resumed since).
    pub fn put(&self, token_hash: Vec<u8>, row: SessionRow, epoch: u64) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.suspended || entries.epoch != epoch {
            return;
        }
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

    /// Serves and caches nothing until [`SessionCache::resume`]: revocations may be missed.
    pub fn suspend(&self) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.suspended = true;
        entries.live.clear();
        entries.epoch += 1;
    }

    /// Revocations are heard again: start afresh (anything cached before is suspect).
    pub fn resume(&self) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.suspended = false;
        entries.live.clear();
        entries.epoch += 1;
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
        c.put(b"t".to_vec(), row(100), c.epoch());
        assert!(c.get(b"t", 99).is_some());
        assert!(
            c.get(b"t", 100).is_none(),
            "expired sessions are never served"
        );
        assert!(c.get(b"other", 0).is_none());
        c.remove(b"t");
        assert!(c.get(b"t", 0).is_none());
        // A lookup that read the session before the logout cannot put it back.
        c.put(b"t".to_vec(), row(100), c.epoch());
        assert!(c.get(b"t", 0).is_none());
    }

    #[test]
    fn suspended_serves_nothing_and_a_lookup_across_a_resume_is_not_cached() {
        let c = SessionCache::default();
        c.put(b"a".to_vec(), row(100), c.epoch());
        c.suspend();
        assert!(c.get(b"a", 0).is_none(), "suspended: nothing served");
        c.put(b"a".to_vec(), row(100), c.epoch());
        assert!(c.get(b"a", 0).is_none(), "suspended: nothing cached");
        let before = c.epoch();
        c.resume();
        c.put(b"a".to_vec(), row(100), before);
        assert!(
            c.get(b"a", 0).is_none(),
            "read before the resume: not cached"
        );
        c.put(b"a".to_vec(), row(100), c.epoch());
        assert!(c.get(b"a", 0).is_some());
    }
}
