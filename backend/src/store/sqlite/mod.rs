//! The SQLite engine: one database file (WAL) under the data dir.
//!
//! Why SQLite: embedded (nothing to run), transactional (a post is acknowledged only after
//! its commit, so it survives `kill -9`), and quick to open at any size (nothing is replayed
//! at start-up; queries use indexes). Writes go through one connection behind a mutex, so
//! sequence numbers are assigned without races; reads use a small pool and never wait for
//! writers (WAL). Several server processes may share one database file on one host
//! (SQLite's file locks serialise their writes and every seq is assigned inside an
//! IMMEDIATE transaction); it must not live on a network file system — for many hosts, use
//! the PostgreSQL engine.

mod channels;
mod checkpoint;
mod messages;
mod schema;
mod users;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use zchat_protocol::Target;

pub(crate) use super::{
    HistoryPage, MarkerUpdate, NewPost, SessionRow, StoreError, StoreResult, Stored, UserRow,
};

pub use schema::VERSION;

/// The SQLite engine (see the module doc).
pub struct Sqlite {
    /// The one write connection: messages are written by the group-commit thread, other
    /// writes (accounts, channels, markers) take the lock directly.
    writer: Mutex<Connection>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// Dropping the sender stops the checkpoint thread; taken by `close`.
    checkpoint: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
    path: PathBuf,
}

impl Sqlite {
    /// Opens (creating if needed) the database file and migrates it.
    pub fn open(path: &Path, fsync: bool) -> StoreResult<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Open(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = Connection::open(path)?;
        schema::configure(&writer, fsync)?;
        schema::migrate(&mut writer)?;
        // Commits never checkpoint: the checkpoint thread does (see `checkpoint`).
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let manager = SqliteConnectionManager::file(path).with_init(move |c| {
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            c.pragma_update(None, "foreign_keys", "ON")
        });
        let readers = r2d2::Pool::builder()
            .max_size(4)
            .min_idle(Some(1))
            .build(manager)?;
        let (stop_tx, stop) = mpsc::channel();
        let checkpointer = checkpoint::connect(path)?;
        let thread = super::spawn("store-checkpoint", move || {
            checkpoint::run(checkpointer, stop);
        })?;
        Ok(Sqlite {
            writer: Mutex::new(writer),
            readers,
            checkpoint: Mutex::new(Some((stop_tx, thread))),
            path: path.to_path_buf(),
        })
    }

    /// Stops the checkpoint thread after a last checkpoint.
    pub fn close(&self) {
        let taken = self
            .checkpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((stop, thread)) = taken {
            drop(stop);
            if thread.join().is_err() {
                tracing::error!("the checkpoint thread panicked");
            }
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

    /// Stores a batch in one `IMMEDIATE` transaction. A refused message (not found,
    /// forbidden, nonce reused) is refused before it writes anything, so it is simply
    /// reported; a database error aborts and rolls back the whole batch.
    pub(crate) fn store_batch(&self, posts: &[&NewPost]) -> StoreResult<Vec<StoreResult<Stored>>> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut results = Vec::with_capacity(posts.len());
            for p in posts {
                let result = match &p.target {
                    Target::Channel(name) => {
                        messages::post_channel_in(&tx, &p.sender, name, &p.text, p.nonce, p.now)
                    }
                    Target::User(peer) => {
                        messages::send_dm_in(&tx, &p.sender, peer, &p.text, p.nonce, p.now)
                    }
                };
                match result {
                    Err(e @ (StoreError::Db(_) | StoreError::Pool(_))) => return Err(e),
                    other => results.push(other),
                }
            }
            tx.commit()?;
            Ok(results)
        })
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
