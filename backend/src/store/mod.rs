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

mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use thiserror::Error;
use zchat_protocol::{ChannelInfo, DmSummary, Message, Target, UserInfo};

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
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
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
        let writer_thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::run(conn, jobs))
            .map_err(|e| StoreError::Db(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        Ok(Store {
            writer,
            posts,
            writer_thread,
            readers,
            path,
        })
    }

    /// Closes the store: stops taking posts, lets the writer store and answer everything
    /// already queued, and waits for it.
    pub fn close(self) {
        let Store {
            posts,
            writer_thread,
            ..
        } = self;
        drop(posts);
        if writer_thread.join().is_err() {
            tracing::error!("the storage writer panicked");
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
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.readers.get()?;
        f(&conn)
    }

    // ----- users -------------------------------------------------------------------------

    /// Registers a user. Names are unique ignoring case.
    pub fn create_user(&self, name: &str, pw_hash: &str, now: i64) -> StoreResult<UserRow> {
        self.write(|c| {
            let n = c.execute(
                "INSERT INTO users (name, name_key, pw_hash, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name_key) DO NOTHING",
                params![name, name.to_lowercase(), pw_hash, now],
            )?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(format!(
                    "user name {name:?} is taken"
                )));
            }
            Ok(UserRow {
                id: c.last_insert_rowid(),
                name: name.to_string(),
            })
        })
    }

    /// A user and their password hash, for login. Case-insensitive.
    pub fn user_credentials(&self, name: &str) -> StoreResult<Option<(UserRow, String)>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT id, name, pw_hash FROM users WHERE name_key = ?1")?
                    .query_row([name.to_lowercase()], |r| {
                        Ok((
                            UserRow {
                                id: r.get(0)?,
                                name: r.get(1)?,
                            },
                            r.get(2)?,
                        ))
                    })
                    .optional()?,
            )
        })
    }

    /// A user by name, case-insensitive.
    pub fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRow>> {
        self.read(|c| user_by_name(c, name))
    }

    /// Every user, sorted by name. No secrets.
    pub fn list_users(&self) -> StoreResult<Vec<UserInfo>> {
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT name, created_at FROM users ORDER BY name_key")?;
            let rows = st.query_map([], |r| {
                Ok(UserInfo {
                    name: r.get(0)?,
                    created_at: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    // ----- sessions ----------------------------------------------------------------------

    /// Stores a new session (by token hash).
    pub fn create_session(
        &self,
        user_id: i64,
        token_hash: &[u8],
        inbox: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO sessions (token_hash, user_id, inbox, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_hash, user_id, inbox, now, expires_at],
            )?;
            Ok(())
        })
    }

    /// The live session for a token hash, if it exists and has not expired.
    pub fn session(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<SessionRow>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT u.id, u.name, s.inbox, s.expires_at FROM sessions s
                 JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
            )?
            .query_row(params![token_hash, now], |r| {
                Ok(SessionRow {
                    user: UserRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    },
                    inbox: r.get(2)?,
                    expires_at: r.get(3)?,
                })
            })
            .optional()?)
        })
    }

    /// Revokes a session. Returns whether it existed.
    pub fn delete_session(&self, token_hash: &[u8]) -> StoreResult<bool> {
        self.write(|c| {
            Ok(c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])? > 0)
        })
    }

    /// Deletes expired sessions; returns how many.
    pub fn purge_expired_sessions(&self, now: i64) -> StoreResult<usize> {
        self.write(|c| Ok(c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?))
    }

    // ----- channels ----------------------------------------------------------------------

    /// Creates a channel; the creator becomes its first member.
    pub fn create_channel(
        &self,
        user_id: i64,
        name: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<ChannelInfo> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "INSERT INTO channels (name, description, created_by, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name) DO NOTHING",
                params![name, description, user_id, now],
            )?;
            if n == 0 {
                return Err(StoreError::AlreadyExists(format!(
                    "channel #{name} already exists"
                )));
            }
            let channel_id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO memberships (channel_id, user_id, joined_at) VALUES (?1, ?2, ?3)",
                params![channel_id, user_id, now],
            )?;
            let info = channel_info(&tx, channel_id, user_id)?;
            tx.commit()?;
            Ok(info)
        })
    }

    /// Joins a channel (idempotent). New members start with everything before now read.
    pub fn join_channel(&self, user_id: i64, name: &str, now: i64) -> StoreResult<ChannelInfo> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let channel_id = channel_id(&tx, name)?;
            tx.execute(
                "INSERT INTO memberships (channel_id, user_id, joined_at, read_seq)
                 SELECT ?1, ?2, ?3, last_seq FROM channels WHERE id = ?1
                 ON CONFLICT DO NOTHING",
                params![channel_id, user_id, now],
            )?;
            let info = channel_info(&tx, channel_id, user_id)?;
            tx.commit()?;
            Ok(info)
        })
    }

    /// Leaves a channel (idempotent).
    pub fn leave_channel(&self, user_id: i64, name: &str) -> StoreResult<ChannelInfo> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let channel_id = channel_id(&tx, name)?;
            tx.execute(
                "DELETE FROM memberships WHERE channel_id = ?1 AND user_id = ?2",
                params![channel_id, user_id],
            )?;
            let info = channel_info(&tx, channel_id, user_id)?;
            tx.commit()?;
            Ok(info)
        })
    }

    /// Every channel as seen by `user_id`, sorted by name.
    pub fn list_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
        self.read(|c| {
            let ids: Vec<i64> = c
                .prepare_cached("SELECT id FROM channels ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter()
                .map(|id| channel_info(c, id, user_id))
                .collect()
        })
    }

    /// The channels `user_id` has joined, sorted by name.
    pub fn joined_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
        self.read(|c| {
            let ids: Vec<i64> = c
                .prepare_cached(
                    "SELECT c.id FROM channels c JOIN memberships m ON m.channel_id = c.id
                     WHERE m.user_id = ?1 ORDER BY c.name",
                )?
                .query_map([user_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter()
                .map(|id| channel_info(c, id, user_id))
                .collect()
        })
    }

    // ----- messages ----------------------------------------------------------------------

    /// Queues a message for the group-commit writer, the one way a message is stored.
    /// `done` runs on the writer thread with the outcome, after the commit, in queue order
    /// (so the publications it makes leave in `seq` order).
    pub fn submit_post(
        &self,
        post: NewPost,
        done: impl FnOnce(StoreResult<Stored>) + Send + 'static,
    ) {
        let job = writer::PostJob {
            post,
            done: Box::new(done),
        };
        if let Err(std::sync::mpsc::SendError(job)) = self.posts.send(job) {
            (job.done)(Err(StoreError::WriterGone));
        }
    }

    /// A page of a conversation, oldest first, and whether more exist in that direction.
    /// With `after` (and optionally `before`): the first `limit` messages with
    /// `after < seq < before`, `has_more` if later ones exist in that range. With only
    /// `before`: the last `limit` messages with `seq < before`, `has_more` if earlier ones
    /// exist. With neither: the newest `limit`, `has_more` if earlier ones exist.
    pub fn history(
        &self,
        user: &UserRow,
        target: &Target,
        after: Option<u64>,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        self.read(|c| {
            let (conv_sql, conv_id, target) = match target {
                Target::Channel(name) => (CHANNEL_PAGE, channel_id(c, name)?, target.clone()),
                Target::User(peer) => {
                    let peer = user_by_name(c, peer)?
                        .ok_or_else(|| StoreError::NotFound(format!("no user named {peer:?}")))?;
                    let target = Target::User(peer.name.clone());
                    match conversation_id(c, user.id, peer.id)? {
                        Some(id) => (DM_PAGE, id, target),
                        None => {
                            return Ok(HistoryPage {
                                target,
                                messages: vec![],
                                has_more: false,
                            })
                        }
                    }
                }
            };
            let take = i64::from(limit) + 1;
            let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            let (lo, hi, order) = match (after, before) {
                (Some(a), b) => (clamp(a), b.map_or(i64::MAX, clamp), "ASC"),
                (None, Some(b)) => (0, clamp(b), "DESC"),
                (None, None) => (0, i64::MAX, "DESC"),
            };
            let sql =
                format!("{conv_sql} AND m.seq > ?2 AND m.seq < ?3 ORDER BY m.seq {order} LIMIT ?4");
            let mut st = c.prepare_cached(&sql)?;
            let mut msgs: Vec<Message> = st
                .query_map(params![conv_id, lo, hi, take], |r| {
                    row_to_message(r, &target)
                })?
                .collect::<Result<_, _>>()?;
            let has_more = msgs.len() as i64 == take;
            msgs.truncate(limit as usize);
            if order == "DESC" {
                msgs.reverse();
            }
            Ok(HistoryPage {
                target,
                messages: msgs,
                has_more,
            })
        })
    }

    /// The user's direct conversations, most recent first.
    pub fn list_dms(&self, user_id: i64) -> StoreResult<Vec<DmSummary>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT c.id, u.name, c.last_seq, coalesce(r.read_seq, 0)
                 FROM dm_conversations c
                 JOIN users u ON u.id = CASE WHEN c.user_a = ?1 THEN c.user_b ELSE c.user_a END
                 LEFT JOIN dm_read r ON r.conv_id = c.id AND r.user_id = ?1
                 WHERE c.user_a = ?1 OR c.user_b = ?1
                 ORDER BY c.last_ts DESC",
            )?;
            let rows: Vec<(i64, String, i64, i64)> = st
                .query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (conv_id, peer, last_seq, read_seq) in rows {
                let target = Target::User(peer.clone());
                let last = c
                    .prepare_cached(&format!("{DM_PAGE} AND m.seq = ?2"))?
                    .query_row(params![conv_id, last_seq], |r| row_to_message(r, &target))
                    .optional()?;
                let unread: i64 = c
                    .prepare_cached(
                        "SELECT count(*) FROM dm_messages WHERE conv_id = ?1 AND seq > ?2 AND sender_id <> ?3",
                    )?
                    .query_row(params![conv_id, read_seq, user_id], |r| r.get(0))?;
                out.push(DmSummary {
                    peer,
                    last,
                    last_seq: last_seq as u64,
                    read_seq: read_seq as u64,
                    unread: unread as u64,
                });
            }
            Ok(out)
        })
    }

    /// Moves the user's read marker forward (never backwards, never past the newest
    /// message). Returns the marker now stored, whether it moved, and (only if it moved) the
    /// user's live inboxes to notify.
    pub fn mark_read(
        &self,
        user: &UserRow,
        target: &Target,
        seq: u64,
        now: i64,
    ) -> StoreResult<MarkerUpdate> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (target, before, marker): (Target, i64, i64) = match target {
                Target::Channel(name) => {
                    let channel_id = channel_id(&tx, name)?;
                    let before: i64 = tx
                        .prepare_cached(
                            "SELECT read_seq FROM memberships WHERE channel_id = ?1 AND user_id = ?2",
                        )?
                        .query_row(params![channel_id, user.id], |r| r.get(0))
                        .optional()?
                        .ok_or_else(|| StoreError::Forbidden(format!("you are not a member of #{name}")))?;
                    let marker = tx.prepare_cached(
                        "UPDATE memberships SET read_seq = max(read_seq, min(?3, (SELECT last_seq FROM channels WHERE id = ?1)))
                         WHERE channel_id = ?1 AND user_id = ?2 RETURNING read_seq",
                    )?
                    .query_row(params![channel_id, user.id, seq], |r| r.get(0))?;
                    (target.clone(), before, marker)
                }
                Target::User(peer) => {
                    let peer = user_by_name(&tx, peer)?
                        .ok_or_else(|| StoreError::NotFound(format!("no user named {peer:?}")))?;
                    let target = Target::User(peer.name.clone());
                    let Some(conv_id) = conversation_id(&tx, user.id, peer.id)? else {
                        return Ok(MarkerUpdate {
                            target,
                            seq: 0,
                            moved: false,
                            inboxes: vec![],
                        });
                    };
                    let before: i64 = tx
                        .prepare_cached(
                            "SELECT read_seq FROM dm_read WHERE conv_id = ?1 AND user_id = ?2",
                        )?
                        .query_row(params![conv_id, user.id], |r| r.get(0))
                        .optional()?
                        .unwrap_or(0);
                    let marker = tx.prepare_cached(
                        "INSERT INTO dm_read (conv_id, user_id, read_seq)
                         VALUES (?1, ?2, min(?3, (SELECT last_seq FROM dm_conversations WHERE id = ?1)))
                         ON CONFLICT(conv_id, user_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)
                         RETURNING read_seq",
                    )?
                    .query_row(params![conv_id, user.id, seq], |r| r.get(0))?;
                    (target, before, marker)
                }
            };
            let moved = marker > before;
            let inboxes = if moved {
                live_inboxes(&tx, &[user.id], now)?
            } else {
                vec![]
            };
            tx.commit()?;
            Ok(MarkerUpdate {
                target,
                seq: marker as u64,
                moved,
                inboxes,
            })
        })
    }
}

/// Where [`replay`] looks for an earlier message with the same nonce.
enum Replay {
    Channel(i64),
    Dm(i64),
}

/// The message this sender already stored in this conversation with this nonce, if any
/// (a retried `send`): returned as not fresh. The same nonce with another text is refused.
fn replay(
    tx: &Connection,
    conversation: Replay,
    sender: &UserRow,
    target: &Target,
    text: &str,
    nonce: Option<u64>,
) -> StoreResult<Option<Stored>> {
    let Some(nonce) = nonce else {
        return Ok(None);
    };
    let (sql, id) = match conversation {
        Replay::Channel(id) => (
            "SELECT seq, ts, text FROM channel_messages
             WHERE sender_id = ?1 AND nonce = ?2 AND channel_id = ?3",
            id,
        ),
        Replay::Dm(id) => (
            "SELECT seq, ts, text FROM dm_messages
             WHERE sender_id = ?1 AND nonce = ?2 AND conv_id = ?3",
            id,
        ),
    };
    let existing = tx
        .prepare_cached(sql)?
        .query_row(params![sender.id, nonce as i64, id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    let Some((seq, ts, stored_text)) = existing else {
        return Ok(None);
    };
    if stored_text != text {
        return Err(StoreError::NonceReused(nonce));
    }
    Ok(Some(Stored {
        message: Message {
            target: target.clone(),
            seq: seq as u64,
            ts,
            from: sender.name.clone(),
            text: stored_text,
        },
        fresh: false,
        inboxes: vec![],
    }))
}

/// Stores one channel message inside the caller's transaction (see [`writer`]). A repeated
/// `nonce` from the same sender in the same channel returns the original message
/// (`fresh == false`). Every refusal (no such channel, not a member, nonce reused) is found
/// before anything is written, so the writer needs no savepoint per message.
fn post_channel_in(
    tx: &Connection,
    sender: &UserRow,
    channel: &str,
    text: &str,
    nonce: Option<u64>,
    now: i64,
) -> StoreResult<Stored> {
    let channel_id = channel_id(tx, channel)?;
    let target = Target::Channel(channel.to_string());
    if let Some(original) = replay(
        tx,
        Replay::Channel(channel_id),
        sender,
        &target,
        text,
        nonce,
    )? {
        return Ok(original);
    }
    // Membership check and the sender's read marker in one statement: no row, no member.
    // (Nothing has been written before this point, so a refusal needs no rollback.)
    let member = tx
        .prepare_cached(
            "UPDATE memberships SET read_seq = (SELECT last_seq + 1 FROM channels WHERE id = ?1)
             WHERE channel_id = ?1 AND user_id = ?2",
        )?
        .execute(params![channel_id, sender.id])?;
    if member == 0 {
        return Err(StoreError::Forbidden(format!(
            "join #{channel} before posting to it"
        )));
    }
    let seq: i64 = tx
        .prepare_cached(
            "UPDATE channels SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq",
        )?
        .query_row([channel_id], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO channel_messages (channel_id, seq, ts, sender_id, text, nonce)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        channel_id,
        seq,
        now,
        sender.id,
        text,
        nonce.map(|n| n as i64)
    ])?;
    let stored = Stored {
        message: Message {
            target,
            seq: seq as u64,
            ts: now,
            from: sender.name.clone(),
            text: text.to_string(),
        },
        fresh: true,
        inboxes: vec![],
    };
    Ok(stored)
}

/// Stores one direct message inside the caller's transaction; `Stored::inboxes` lists
/// every live session inbox of both participants.
fn send_dm_in(
    tx: &Connection,
    sender: &UserRow,
    recipient: &str,
    text: &str,
    nonce: Option<u64>,
    now: i64,
) -> StoreResult<Stored> {
    let peer = user_by_name(tx, recipient)?
        .ok_or_else(|| StoreError::NotFound(format!("no user named {recipient:?}")))?;
    let target = Target::User(peer.name.clone());
    let conv_id = ensure_conversation(tx, sender.id, peer.id)?;
    if let Some(original) = replay(tx, Replay::Dm(conv_id), sender, &target, text, nonce)? {
        return Ok(original);
    }
    let seq: i64 = tx
        .prepare_cached(
            "UPDATE dm_conversations SET last_seq = last_seq + 1, last_ts = ?2
             WHERE id = ?1 RETURNING last_seq",
        )?
        .query_row(params![conv_id, now], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO dm_messages (conv_id, seq, ts, sender_id, text, nonce)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        conv_id,
        seq,
        now,
        sender.id,
        text,
        nonce.map(|n| n as i64)
    ])?;
    tx.prepare_cached(
        "INSERT INTO dm_read (conv_id, user_id, read_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT(conv_id, user_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)",
    )?
    .execute(params![conv_id, sender.id, seq])?;
    let inboxes = live_inboxes(tx, &[sender.id, peer.id], now)?;
    let stored = Stored {
        message: Message {
            target,
            seq: seq as u64,
            ts: now,
            from: sender.name.clone(),
            text: text.to_string(),
        },
        fresh: true,
        inboxes,
    };
    Ok(stored)
}

const CHANNEL_PAGE: &str = "SELECT m.seq, m.ts, u.name, NULL, m.text FROM channel_messages m
     JOIN users u ON u.id = m.sender_id WHERE m.channel_id = ?1";

const DM_PAGE: &str = "SELECT m.seq, m.ts, su.name, ru.name, m.text FROM dm_messages m
     JOIN dm_conversations c ON c.id = m.conv_id
     JOIN users su ON su.id = m.sender_id
     JOIN users ru ON ru.id = CASE WHEN m.sender_id = c.user_a THEN c.user_b ELSE c.user_a END
     WHERE m.conv_id = ?1";

fn row_to_message(r: &rusqlite::Row<'_>, target: &Target) -> rusqlite::Result<Message> {
    let recipient: Option<String> = r.get(3)?;
    Ok(Message {
        target: match (target, recipient) {
            (Target::User(_), Some(to)) => Target::User(to),
            _ => target.clone(),
        },
        seq: r.get::<_, i64>(0)? as u64,
        ts: r.get(1)?,
        from: r.get(2)?,
        text: r.get(4)?,
    })
}

fn user_by_name(c: &Connection, name: &str) -> StoreResult<Option<UserRow>> {
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

fn channel_id(c: &Connection, name: &str) -> StoreResult<i64> {
    c.prepare_cached("SELECT id FROM channels WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no channel named #{name}")))
}

fn channel_info(c: &Connection, channel_id: i64, user_id: i64) -> StoreResult<ChannelInfo> {
    let (name, description, last_seq, members, read_seq): (String, String, i64, i64, Option<i64>) =
        c.prepare_cached(
            "SELECT c.name, c.description, c.last_seq,
                    (SELECT count(*) FROM memberships WHERE channel_id = c.id),
                    (SELECT read_seq FROM memberships WHERE channel_id = c.id AND user_id = ?2)
             FROM channels c WHERE c.id = ?1",
        )?
        .query_row(params![channel_id, user_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
    let unread: i64 = match read_seq {
        Some(read) => c
            .prepare_cached(
                "SELECT count(*) FROM channel_messages WHERE channel_id = ?1 AND seq > ?2 AND sender_id <> ?3",
            )?
            .query_row(params![channel_id, read, user_id], |r| r.get(0))?,
        None => 0,
    };
    Ok(ChannelInfo {
        name,
        description,
        members: members as u64,
        last_seq: last_seq as u64,
        joined: read_seq.is_some(),
        read_seq: read_seq.unwrap_or(0) as u64,
        unread: unread as u64,
    })
}

fn conversation_id(c: &Connection, a: i64, b: i64) -> StoreResult<Option<i64>> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    Ok(
        c.prepare_cached("SELECT id FROM dm_conversations WHERE user_a = ?1 AND user_b = ?2")?
            .query_row(params![lo, hi], |r| r.get(0))
            .optional()?,
    )
}

fn ensure_conversation(c: &Connection, a: i64, b: i64) -> StoreResult<i64> {
    if let Some(id) = conversation_id(c, a, b)? {
        return Ok(id);
    }
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    c.prepare_cached("INSERT INTO dm_conversations (user_a, user_b) VALUES (?1, ?2)")?
        .execute(params![lo, hi])?;
    Ok(c.last_insert_rowid())
}

fn live_inboxes(c: &Connection, users: &[i64], now: i64) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    let mut st =
        c.prepare_cached("SELECT inbox FROM sessions WHERE user_id = ?1 AND expires_at > ?2")?;
    let mut seen = std::collections::HashSet::new();
    for &u in users {
        if !seen.insert(u) {
            continue;
        }
        for inbox in st.query_map(params![u, now], |r| r.get::<_, String>(0))? {
            out.push(inbox?);
        }
    }
    Ok(out)
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
