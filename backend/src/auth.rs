//! Password hashing, session tokens, inbox ids and login throttling.
//!
//! Passwords are hashed with argon2id (salted, memory-hard; OWASP's baseline parameters:
//! 19 MiB, 2 passes). Hashing is deliberately slow, so it runs on the blocking pool behind a
//! semaphore sized to leave a core free: a burst of logins queues up there instead of
//! starving message traffic. Tokens are 256 random bits; the server stores only their
//! SHA-256, so a copy of the database does not hold usable tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

fn argon2() -> Argon2<'static> {
    // 19 MiB, t=2, p=1: the OWASP password storage baseline for argon2id.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored PHC string. Any parse failure counts as a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new bearer token: 256 random bits, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new inbox id: 128 random bits, lowercase hex (see `zchat_protocol::topic`).
pub fn new_inbox_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database stores in place of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Runs password hashing off the request path, a bounded number at a time.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// A valid hash of a random password, verified against when the user does not exist so
    /// that "no such user" and "wrong password" take the same time.
    decoy: Arc<String>,
}

impl Hasher {
    /// `workers` hashes may run at once (the rest wait their turn).
    pub fn new(workers: usize) -> Hasher {
        let decoy = hash_password(&new_token()).unwrap_or_default();
        Hasher {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            decoy: Arc::new(decoy),
        }
    }

    /// A sensible default: one fewer worker than cores, at least one.
    pub fn default_workers() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(1))
            .unwrap_or(1)
            .max(1)
    }

    /// Hashes on the blocking pool.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let phc = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
        Ok(phc)
    }

    /// Verifies on the blocking pool; `None` verifies against the decoy and returns false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let decoy = self.decoy.clone();
        let ok = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => {
                verify_password(&password, &decoy);
                false
            }
        })
        .await?;
        Ok(ok)
    }
}

/// Slows down repeated failed logins per user name: after 3 failures each attempt waits
/// 250 ms × 2^(n−3) (capped at 8 s) before it is checked, and after 20 failures within the
/// window the name is locked for the rest of the window. Success clears the record.
#[derive(Clone, Default)]
pub struct LoginThrottle {
    failures: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

/// How long failures are remembered.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures that lock a name for the rest of the window.
const LOCKOUT_AFTER: u32 = 20;

/// What the throttle says about an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check it after waiting this long.
    Proceed(Duration),
    /// Refuse outright.
    Locked,
}

impl LoginThrottle {
    fn key(user: &str) -> String {
        user.to_lowercase()
    }

    /// Decides how to treat a login attempt for `user`.
    pub fn check(&self, user: &str) -> Verdict {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let key = Self::key(user);
        let Some(&(count, since)) = map.get(&key) else {
            return Verdict::Proceed(Duration::ZERO);
        };
        if since.elapsed() > WINDOW {
            map.remove(&key);
            return Verdict::Proceed(Duration::ZERO);
        }
        if count >= LOCKOUT_AFTER {
            return Verdict::Locked;
        }
        if count < 3 {
            return Verdict::Proceed(Duration::ZERO);
        }
        let ms = 250u64.saturating_mul(1 << (count - 3).min(5));
        Verdict::Proceed(Duration::from_millis(ms.min(8000)))
    }

    /// Records a failed attempt.
    pub fn failed(&self, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory under a flood of distinct names: forget stale entries first.
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() <= WINDOW);
        }
        let e = map.entry(Self::key(user)).or_insert((0, Instant::now()));
        e.0 += 1;
        e.1 = Instant::now();
    }

    /// Clears the record after a success.
    pub fn succeeded(&self, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Self::key(user));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip_and_salted() {
        let a = hash_password("correct horse").expect("hash");
        let b = hash_password("correct horse").expect("hash");
        assert_ne!(a, b, "salts differ");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn throttle_grows_then_locks() {
        let t = LoginThrottle::default();
        assert_eq!(t.check("Ann"), Verdict::Proceed(Duration::ZERO));
        for _ in 0..3 {
            t.failed("ann");
        }
        assert_eq!(t.check("ANN"), Verdict::Proceed(Duration::from_millis(250)));
        for _ in 0..17 {
            t.failed("ann");
        }
        assert_eq!(t.check("ann"), Verdict::Locked);
        t.succeeded("ann");
        assert_eq!(t.check("ann"), Verdict::Proceed(Duration::ZERO));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(new_inbox_id().len(), 32);
        assert_eq!(token_hash(&a).len(), 32);
    }
}
