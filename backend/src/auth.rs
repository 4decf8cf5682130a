//! Password hashing, session tokens, inbox ids and login throttling.
//!
//! Passwords are hashed with argon2id (salted, memory-hard; OWASP's baseline parameters:
//! 19 MiB, 2 passes). Hashing is deliberately slow, so it runs on the blocking pool behind a
//! semaphore sized to leave a core free: a burst of logins queues up there instead of
//! starving message traffic. Tokens are 256 random bits; the server stores only their
//! SHA-256, so a copy of the database does not hold usable tokens.

use std::collections::HashMap;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// 19 MiB, t=2, p=1: the OWASP password storage baseline for argon2id.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or_default()
}

/// Runs argon2id into `out`, reusing `memory` for the working blocks (19 MiB). Reusing it is
/// the point: a fresh 19 MiB allocation per hash, on whatever thread runs it, ends up
/// retained by glibc's per-thread arenas, and the process grows with every login.
fn argon2id_into(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), argon2::Error> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()).hash_password_into_with_memory(
        password,
        salt,
        out,
        &mut memory[..blocks],
    )
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_password(
    password: &str,
    memory: &mut Vec<Block>,
) -> Result<String, argon2::password_hash::Error> {
    let params = params();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf)?;
    let mut out = [0u8; 32];
    argon2id_into(&params, password.as_bytes(), salt_bytes, &mut out, memory)?;
    Ok(PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    }
    .to_string())
}

/// Checks a password against a stored PHC string (constant-time comparison). Anything that
/// is not a well-formed argon2id hash counts as a mismatch.
pub fn verify_password(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if argon2id_into(&params, password.as_bytes(), salt_bytes, &mut out, memory).is_err() {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == expected)
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

type HashJob = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Runs password hashing off the request path, on a fixed set of worker threads that each
/// own one reusable 19 MiB working area: a burst of logins queues here (bounded CPU, bounded
/// memory) instead of starving message traffic or growing the process.
#[derive(Clone)]
pub struct Hasher {
    jobs: std_mpsc::Sender<HashJob>,
    /// A valid hash of a random password, verified against when the user does not exist so
    /// that "no such user" and "wrong password" take the same time.
    decoy: Arc<String>,
}

impl Hasher {
    /// Starts `workers` hashing threads (at least one). They stop when every clone of the
    /// `Hasher` is dropped.
    pub fn new(workers: usize) -> Hasher {
        let (jobs, rx) = std_mpsc::channel::<HashJob>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password hashing thread: {e}");
            }
        }
        let (tx, done) = std_mpsc::channel();
        let _ = jobs.send(Box::new(move |memory: &mut Vec<Block>| {
            let _ = tx.send(hash_password(&new_token(), memory).unwrap_or_default());
        }));
        let decoy = done.recv().unwrap_or_default();
        Hasher {
            jobs,
            decoy: Arc::new(decoy),
        }
    }

    /// A sensible default: one fewer worker than cores, at least one.
    pub fn default_workers() -> usize {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |memory: &mut Vec<Block>| {
                let _ = tx.send(f(memory));
            }))
            .map_err(|_| anyhow::anyhow!("password hashing workers are gone"))?;
        Ok(rx.await?)
    }

    /// Hashes on a worker.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        Ok(self
            .run(move |memory| hash_password(&password, memory))
            .await??)
    }

    /// Verifies on a worker; `None` verifies against the decoy and returns false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> anyhow::Result<bool> {
        let decoy = self.decoy.clone();
        self.run(move |memory| match phc {
            Some(phc) => verify_password(&password, &phc, memory),
            None => {
                verify_password(&password, &decoy, memory);
                false
            }
        })
        .await
    }
}

/// Slows down repeated failed logins per user name, without ever locking the owner out.
///
/// The rule (PROTOCOL.md §5, `login`): let *n* be the number of counted attempts for the
/// name (case-insensitive) since its failures were last cleared, not counting this one. An
/// attempt is counted from the moment it is admitted, before it is checked, and stays
/// counted unless it succeeds, so parallel guesses are slowed like sequential ones; a success
/// clears the count. The count lives in the database (`Store::count_login_attempt`), so
/// every server on it agrees and spreading guesses over servers gains nothing. Each admitted
/// attempt first waits [`delay_for`]`(n)`: nothing while *n* < 3, then 250 ms × 2^(n−3),
/// capped at 8 s (reached at n = 8). At most [`MAX_IN_FLIGHT_PER_NAME`] attempts per name
/// are in progress at once on one server (this type: the one part kept in memory); more are
/// refused with `rate_limited` straight away, *without* being counted: they were never
/// checked, so they are not guesses, and counting them would only let a flood of refusals
/// push the owner's own waits up. There is no hard lock-out: an attacker could otherwise
/// lock any account by guessing wrong on purpose, and the server cannot tell them apart (the
/// broker hides client addresses). The count is forgotten [`WINDOW`] after the last counted
/// attempt began.
#[derive(Clone, Default)]
pub struct LoginThrottle {
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
}

/// How long failures are remembered after the last one.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Attempts for one name that may be in progress at once on one server.
pub const MAX_IN_FLIGHT_PER_NAME: u32 = 4;
/// Counted attempts that wait nothing.
pub const FREE_ATTEMPTS: u32 = 3;
/// The wait at `n = FREE_ATTEMPTS`; it doubles with each further counted attempt.
pub const BASE_DELAY: Duration = Duration::from_millis(250);
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(8);

/// How long an attempt waits before it is checked, when `n` counted attempts precede it:
/// zero below [`FREE_ATTEMPTS`], then [`BASE_DELAY`] × 2^(n − 3), capped at [`MAX_DELAY`].
pub fn delay_for(n: u32) -> Duration {
    if n < FREE_ATTEMPTS {
        return Duration::ZERO;
    }
    let doublings = (n - FREE_ATTEMPTS).min(16);
    BASE_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

impl LoginThrottle {
    fn key(user: &str) -> String {
        user.to_lowercase()
    }

    /// Admits a login attempt for `user`, or `None` when [`MAX_IN_FLIGHT_PER_NAME`] are
    /// already in progress here (refuse it with `rate_limited`, uncounted). The attempt
    /// holds its place until dropped.
    pub fn admit(&self, user: &str) -> Option<Attempt> {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(Self::key(user)).or_insert(0);
        if *n >= MAX_IN_FLIGHT_PER_NAME {
            return None;
        }
        *n += 1;
        Some(Attempt {
            throttle: self.clone(),
            user: Self::key(user),
        })
    }

    fn release(&self, key: &str) {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(key);
            }
        }
    }
}

/// A login attempt in progress; dropping it (on every path out of the login handler,
/// errors included) frees its place.
pub struct Attempt {
    throttle: LoginThrottle,
    user: String,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.throttle.release(&self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip_and_salted() {
        let mut mem = Vec::new();
        let a = hash_password("correct horse", &mut mem).expect("hash");
        let b = hash_password("correct horse", &mut mem).expect("hash");
        assert_ne!(a, b, "salts differ");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify_password("correct horse", &a, &mut mem));
        assert!(!verify_password("wrong horse", &a, &mut mem));
        assert!(!verify_password("x", "not a phc string", &mut mem));
        // Hashes made by the argon2 crate's own high-level API verify too (compatibility).
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let std_hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        assert!(verify_password("correct horse", &std_hash, &mut mem));
    }

    #[tokio::test]
    async fn workers_hash_and_verify() {
        let h = Hasher::new(2);
        let phc = h.hash("pässwörd 🔑".into()).await.expect("hash");
        assert!(h
            .verify("pässwörd 🔑".into(), Some(phc.clone()))
            .await
            .expect("verify"));
        assert!(!h.verify("nope".into(), Some(phc)).await.expect("verify"));
        assert!(!h.verify("nope".into(), None).await.expect("decoy"));
    }

    #[test]
    fn at_most_four_attempts_per_name_are_in_progress_and_each_frees_its_place() {
        let t = LoginThrottle::default();
        let held: Vec<_> = (0..MAX_IN_FLIGHT_PER_NAME)
            .map(|_| t.admit("Bob").expect("admitted"))
            .collect();
        assert!(t.admit("BOB").is_none(), "a 5th at once is refused");
        assert!(t.admit("ann").is_some(), "other names are not affected");
        drop(held);
        assert!(t.admit("bob").is_some(), "places are freed on drop");
    }

    #[test]
    fn n_is_the_counted_attempts_before_and_the_delay_doubles_to_a_cap() {
        let expected_ms = [0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000, 8000];
        for (n, ms) in expected_ms.iter().enumerate() {
            assert_eq!(delay_for(n as u32), Duration::from_millis(*ms), "n = {n}");
        }
        assert_eq!(delay_for(u32::MAX), MAX_DELAY);
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
