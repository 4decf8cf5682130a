//! Durable storage: users, sessions, channels, memberships, messages and read markers in one
//! SQLite database (WAL) under the data dir.
//!
//! Why SQLite: embedded (nothing to run), transactional (a post is acknowledged only after
//! its commit, so it survives `kill -9`), and quick to open at any size (nothing is replayed
//! at start-up; queries use indexes). Writes go through one connection behind a mutex, so
//! sequence numbers are assigned without races and publications leave in sequence order;
//! reads use a small pool and never wait for writers (WAL). Several server processes may
//! share one database file on one host (SQLite's file locks serialise their writes and every
//! seq is assigned inside an IMMEDIATE transaction); it must not live on a network file
//! system.

mod channels;
mod checkpoint;
mod messages;
mod schema;
mod users;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension};
use thiserror::Error;
use zchat_protocol::{Message, Target};

/// A storage failure, or a domain rule that the storage layer enforces inside a transaction.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A user or channel does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A name is taken.
    #[error("{0}")]
    AlreadyExists(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// SQLite failed.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// No pooled connection.
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// The transaction holding this message failed as a whole.
    #[error("message batch not stored: {0}")]
    BatchFailed(String),
    /// A nonce was reused for a different text (a client bug; nothing stored).
    #[error("nonce {0} was already used for a different message")]
    NonceReused(u64),
    /// The writer thread is gone (the store is shutting down).
    #[error("the storage writer has stopped")]
    WriterGone,
}

/// Result alias for storage calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// A registered user (internal: includes the id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Row id.
    pub id: i64,
    /// Display name.
    pub name: String,
}

/// A live session looked up by token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The user.
    pub user: UserRow,
    /// The session's inbox id (hex).
    pub inbox: String,
    /// Expiry, ms since the epoch.
    pub expires_at: i64,
}

/// The outcome of storing a message: the message, and the inbox ids (of every live session
/// of the participants) a direct message must be published to.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The message as stored.
    pub message: Message,
    /// False when a retried send with the same nonce found the original.
    pub fresh: bool,
    /// Inboxes to notify (direct messages only).
    pub inboxes: Vec<String>,
}

/// A message to store: who sends what where, the client's idempotency nonce, and the time.
#[derive(Debug, Clone)]
pub struct NewPost {
    /// The author.
    pub sender: UserRow,
    /// A channel, or the peer of a direct message.
    pub target: Target,
    /// Validated text.
    pub text: String,
    /// A retried send with the same nonce returns the original instead of storing twice.
    pub nonce: Option<u64>,
    /// Milliseconds since the epoch.
    pub now: i64,
}

/// A page of a conversation (see [`Store::history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The conversation, spelled canonically: a channel in lower case, a DM peer as
    /// registered (whatever case the caller used).
    pub target: Target,
    /// Messages, oldest first.
    pub messages: Vec<Message>,
    /// Whether more messages exist beyond this page, in the direction asked.
    pub has_more: bool,
}

/// The outcome of [`Store::mark_read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerUpdate {
    /// The conversation, spelled canonically (see [`HistoryPage::target`]).
    pub target: Target,
    /// The marker now stored.
    pub seq: u64,
    /// Whether the marker moved (a `read_marker` event is due only then).
    pub moved: bool,
    /// The user's live session inboxes to notify; empty when the marker did not move.
    pub inboxes: Vec<String>,
}

/// Handle to the database. Cheap to share behind an `Arc`.
pub struct Store {
    /// The one write connection: messages are written by the group-commit thread
    /// ([`writer`]), other writes (accounts, channels, markers) take the lock directly.
    writer: Arc<Mutex<Connection>>,
    posts: mpsc::Sender<writer::PostJob>,
    writer_thread: std::thread::JoinHandle<()>,
    /// Dropped to stop the checkpoint thread.
    checkpoint_stop: mpsc::Sender<()>,
    checkpoint_thread: std::thread::JoinHandle<()>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
}

/// Starts one of the store's own threads.
fn spawn(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> StoreResult<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| StoreError::Db(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

/// The database file inside a data dir.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("zchat.db")
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and migrates it.
    pub fn open(data_dir: &Path, fsync: bool) -> StoreResult<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Db(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        let path = db_path(data_dir);
        let mut writer = Connection::open(&path)?;
        schema::configure(&writer, fsync)?;
        schema::migrate(&mut writer)?;
        // Commits never checkpoint: the checkpoint thread does (see `checkpoint`).
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let manager = SqliteConnectionManager::file(&path).with_init(move |c| {
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            c.pragma_update(None, "foreign_keys", "ON")
        });
        let readers = r2d2::Pool::builder()
            .max_size(4)
            .min_idle(Some(1))
            .build(manager)?;
        let writer = Arc::new(Mutex::new(writer));
        let (posts, jobs) = mpsc::channel();
        let conn = writer.clone();
        let writer_thread = spawn("store-writer", move || writer::run(conn, jobs))?;
        let (checkpoint_stop, stop) = mpsc::channel();
        let checkpointer = checkpoint::connect(&path)?;
        let checkpoint_thread = spawn("store-checkpoint", move || {
            checkpoint::run(checkpointer, stop);
        })?;
        Ok(Store {
            writer,
            posts,
            writer_thread,
            checkpoint_stop,
            checkpoint_thread,
            readers,
            path,
        })
    }

    /// Closes the store: stops taking posts, lets the writer store and answer everything
    /// already queued, and waits for it; then a last checkpoint.
    pub fn close(self) {
        let Store {
            posts,
            writer_thread,
            checkpoint_stop,
            checkpoint_thread,
            ..
        } = self;
        drop(posts);
        if writer_thread.join().is_err() {
            tracing::error!("the storage writer panicked");
        }
        drop(checkpoint_stop);
        if checkpoint_thread.join().is_err() {
            tracing::error!("the checkpoint thread panicked");
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut conn)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.readers.get()?;
        f(&conn)
    }
}

pub(super) fn user_by_name(c: &Connection, name: &str) -> StoreResult<Option<UserRow>> {
    Ok(
        c.prepare_cached("SELECT id, name FROM users WHERE name_key = ?1")?
            .query_row([name.to_lowercase()], |r| {
                Ok(UserRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })
            .optional()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path(), false).expect("open");
        (dir, store)
    }

    #[test]
    fn sessions_expire_and_are_purged() {
        let (_dir, s) = store();
        let u = s.create_user("ann", "phc", 0).expect("user");
        s.create_session(u.id, b"live", "a".repeat(32).as_str(), 0, 1_000)
            .expect("session");
        s.create_session(u.id, b"old", "b".repeat(32).as_str(), 0, 10)
            .expect("session");
        assert!(s.session(b"live", 500).expect("q").is_some());
        assert!(s.session(b"old", 500).expect("q").is_none(), "expired");
        assert!(
            s.session(b"live", 1_000).expect("q").is_none(),
            "expiry is exclusive"
        );
        assert_eq!(s.purge_expired_sessions(500).expect("purge"), 1);
        assert!(s.delete_session(b"live").expect("delete"));
        assert!(!s.delete_session(b"live").expect("delete"));
    }

    #[test]
    fn a_refused_post_in_a_batch_does_not_undo_the_others() {
        let (_dir, s) = store();
        let ann = s.create_user("ann", "phc", 0).expect("user");
        let bob = s.create_user("bob", "phc", 0).expect("user");
        s.create_channel(ann.id, "dev", "", 0).expect("channel");
        // Queue several posts at once so they share a batch: bob is not a member.
        let pending: Vec<_> = (0..10)
            .map(|i| {
                let who = if i % 3 == 0 { &bob } else { &ann };
                submit(&s, who, &Target::Channel("dev".into()), "x", None, i)
            })
            .collect();
        let results: Vec<_> = pending
            .into_iter()
            .map(|rx| rx.recv().expect("answered"))
            .collect();
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i % 3 != 0, "{i}: {r:?}");
        }
        let seqs: Vec<u64> = results.iter().flatten().map(|st| st.message.seq).collect();
        assert_eq!(
            seqs,
            (1..=6).collect::<Vec<_>>(),
            "gap-free, in queue order"
        );
    }

    #[test]
    fn reopening_keeps_everything_and_migrations_are_idempotent() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let s = Store::open(dir.path(), true).expect("open");
            let u = s.create_user("Ann", "phc", 1).expect("user");
            s.create_channel(u.id, "dev", "d", 1).expect("channel");
            post(&s, &u, &Target::Channel("dev".into()), "hello", None, 2).expect("post");
        }
        let s = Store::open(dir.path(), false).expect("reopen");
        let u = s.user_by_name("ANN").expect("q").expect("user");
        assert_eq!(u.name, "Ann");
        let page = s
            .history(&u, &Target::Channel("dev".into()), None, None, 10)
            .expect("history");
        assert_eq!((page.messages.len(), page.has_more), (1, false));
        assert_eq!(s.joined_channels(u.id).expect("q")[0].last_seq, 1);
    }

    #[test]
    fn a_retry_with_the_same_nonce_returns_the_original() {
        let (_dir, s) = store();
        let u = s.create_user("ann", "phc", 0).expect("user");
        s.create_channel(u.id, "dev", "", 0).expect("channel");
        let dev = Target::Channel("dev".into());
        let a = post(&s, &u, &dev, "x", Some(7), 1).expect("post");
        let b = post(&s, &u, &dev, "x", Some(7), 2).expect("post");
        assert_eq!(a.message, b.message);
        assert!(a.fresh && !b.fresh, "only the first is fresh (published)");
        assert!(matches!(
            post(&s, &u, &dev, "other text", Some(7), 3),
            Err(StoreError::NonceReused(7))
        ));
        // The same nonce in another conversation is another message.
        s.create_channel(u.id, "ops", "", 0).expect("channel");
        let c = post(&s, &u, &Target::Channel("ops".into()), "x", Some(7), 3).expect("post");
        assert!(c.fresh);
        let d = post(&s, &u, &Target::User("ann".into()), "x", Some(7), 4).expect("dm");
        assert!(d.fresh);
    }

    /// Queues a post; the receiver yields its outcome after the commit.
    fn submit(
        s: &Store,
        who: &UserRow,
        target: &Target,
        text: &str,
        nonce: Option<u64>,
        now: i64,
    ) -> std::sync::mpsc::Receiver<StoreResult<Stored>> {
        let (tx, rx) = std::sync::mpsc::channel();
        let post = NewPost {
            sender: who.clone(),
            target: target.clone(),
            text: text.to_string(),
            nonce,
            now,
        };
        s.submit_post(post, move |r| {
            let _ = tx.send(r);
        });
        rx
    }

    /// Stores a post and waits for the outcome.
    fn post(
        s: &Store,
        who: &UserRow,
        target: &Target,
        text: &str,
        nonce: Option<u64>,
        now: i64,
    ) -> StoreResult<Stored> {
        submit(s, who, target, text, nonce, now)
            .recv()
            .unwrap_or(Err(StoreError::WriterGone))
    }
}
