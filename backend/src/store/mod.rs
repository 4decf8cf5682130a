//! Durable storage: users, sessions, login failures, channels, memberships, messages and
//! read markers, behind one interface with two engines.
//!
//! - **SQLite** ([`sqlite`], `sqlite:PATH`, the default): embedded, nothing to run, one
//!   file under the data dir. Right for one host: the demo, small teams.
//! - **PostgreSQL** ([`postgres`], `postgres://…`): many server processes on many hosts
//!   share one database, so a server can die or be added without anyone noticing.
//!
//! Both engines keep the same rules, checked by one test suite run against each
//! (`backend/tests/store_engines.rs`): a post is acknowledged only after its commit (it
//! survives `kill -9`); per-conversation sequence numbers are allocated in the transaction
//! that inserts the message, so they are unique and gap-free however many servers write; a
//! retried send (same nonce) stores nothing new and returns the original; the same bad input
//! is refused with the same error. Messages are stored by one group-commit thread per server
//! ([`writer`]); every other call is synchronous and runs on tokio's blocking pool.
//!
//! [`copy`] moves an installation from SQLite to an empty PostgreSQL database
//! (`zchat-server copy-db`).

pub mod copy;
mod engine_url;
pub mod postgres;
pub mod sqlite;
mod writer;

use std::sync::{mpsc, Arc};

use thiserror::Error;
use zchat_protocol::{ChannelInfo, DmSummary, Message, Target, UserInfo};

pub use engine_url::DbUrl;
pub use writer::MAX_BATCH;

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
    /// PostgreSQL refused a statement (not a lost connection: that is `Unavailable`).
    #[error("database error: {0}")]
    Postgres(::postgres::Error),
    /// No pooled SQLite connection.
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// The database cannot be reached now (PostgreSQL down, restarting or unreachable).
    /// Nothing was changed, or — for a commit cut off midway — the outcome is unknown; a
    /// retried send with the same nonce is safe either way.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The transaction holding this message failed as a whole.
    #[error("message batch not stored: {0}")]
    BatchFailed(String),
    /// A nonce was reused for a different text (a client bug; nothing stored).
    #[error("nonce {0} was already used for a different message")]
    NonceReused(u64),
    /// The writer thread is gone (the store is shutting down).
    #[error("the storage writer has stopped")]
    WriterGone,
    /// The database cannot be opened or migrated (start-up only).
    #[error("{0}")]
    Open(String),
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

impl Stored {
    /// A message just stored by `sender` (published to `inboxes` when it is a DM).
    pub(crate) fn new_message(
        sender: &UserRow,
        target: Target,
        seq: i64,
        ts: i64,
        text: &str,
        inboxes: Vec<String>,
    ) -> Stored {
        Stored {
            message: Message {
                target,
                seq: u64::try_from(seq).unwrap_or(0),
                ts,
                from: sender.name.clone(),
                text: text.to_string(),
            },
            fresh: true,
            inboxes,
        }
    }

    /// The rule for a retried send, the same on both engines: `found` is what this sender
    /// already stored in this conversation with this nonce (`seq`, `ts`, text). The same
    /// text returns the original, not fresh; another text is refused.
    pub(crate) fn replayed(
        sender: &UserRow,
        target: &Target,
        text: &str,
        nonce: u64,
        found: Option<(i64, i64, String)>,
    ) -> StoreResult<Option<Stored>> {
        let Some((seq, ts, stored_text)) = found else {
            return Ok(None);
        };
        if stored_text != text {
            return Err(StoreError::NonceReused(nonce));
        }
        let mut original = Stored::new_message(sender, target.clone(), seq, ts, text, vec![]);
        original.fresh = false;
        Ok(Some(original))
    }
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

/// One history page's query, the same on both engines (see [`Store::history`]): the rows
/// with `lo < seq < hi`, ordered by seq in `order`, at most `take` (one more than asked, to
/// tell whether more exist).
pub(crate) struct PageQuery {
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    /// `ASC` (after a seq) or `DESC` (the newest, or before a seq).
    pub(crate) order: &'static str,
    pub(crate) take: i64,
    limit: usize,
}

impl PageQuery {
    pub(crate) fn new(after: Option<u64>, before: Option<u64>, limit: u32) -> PageQuery {
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let (lo, hi, order) = match (after, before) {
            (Some(a), b) => (clamp(a), b.map_or(i64::MAX, clamp), "ASC"),
            (None, Some(b)) => (0, clamp(b), "DESC"),
            (None, None) => (0, i64::MAX, "DESC"),
        };
        PageQuery {
            lo,
            hi,
            order,
            take: i64::from(limit) + 1,
            limit: limit as usize,
        }
    }

    /// The rows fetched (in `order`) as the page: at most `limit`, oldest first, and
    /// whether more exist in the direction asked.
    pub(crate) fn page(&self, target: Target, mut messages: Vec<Message>) -> HistoryPage {
        let has_more = messages.len() as i64 == self.take;
        messages.truncate(self.limit);
        if self.order == "DESC" {
            messages.reverse();
        }
        HistoryPage {
            target,
            messages,
            has_more,
        }
    }
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

/// What another server's `logout` (or a lost notification channel) means for a session
/// cache: see [`Store::watch_revocations`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// This session (by token hash) was revoked: forget it.
    Session(Vec<u8>),
    /// Revocations may be missed from now on (the notification connection is lost): trust
    /// no cached session until [`Revocation::Resumed`].
    Suspended,
    /// Notifications flow again; anything cached before is suspect (forget it all).
    Resumed,
}

/// The two engines. Every [`Store`] call goes to one of them.
pub(crate) enum Engine {
    /// Embedded SQLite.
    Sqlite(sqlite::Sqlite),
    /// PostgreSQL, shared by many servers.
    Postgres(Box<postgres::Postgres>),
}

/// Runs `$call` with `$e` bound to whichever engine the store has.
macro_rules! on_engine {
    ($store:expr, $e:ident => $call:expr) => {
        match &*$store.engine {
            Engine::Sqlite($e) => $call,
            Engine::Postgres($e) => $call,
        }
    };
}

/// Handle to the database. Cheap to share behind an `Arc`.
pub struct Store {
    engine: Arc<Engine>,
    /// Posts for the group-commit writer.
    posts: mpsc::Sender<writer::PostJob>,
    writer_thread: std::thread::JoinHandle<()>,
    url: DbUrl,
}

/// Starts one of the store's own threads.
pub(crate) fn spawn(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> StoreResult<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| StoreError::Open(format!("cannot start the {name} thread: {e}")))
}

impl Store {
    /// Opens the database named by `url` (creating a SQLite file if needed), migrates it to
    /// the newest schema, and starts the group-commit writer. `fsync`: SQLite only, durable
    /// across power loss too (PostgreSQL follows its own `synchronous_commit`).
    pub fn open(url: &DbUrl, fsync: bool) -> StoreResult<Store> {
        let engine = Arc::new(match url {
            DbUrl::Sqlite(path) => Engine::Sqlite(sqlite::Sqlite::open(path, fsync)?),
            DbUrl::Postgres(config, _) => {
                Engine::Postgres(Box::new(postgres::Postgres::open(config)?))
            }
        });
        let (posts, jobs) = mpsc::channel();
        let for_writer = engine.clone();
        let writer_thread = spawn("store-writer", move || writer::run(&for_writer, jobs))?;
        Ok(Store {
            engine,
            posts,
            writer_thread,
            url: url.clone(),
        })
    }

    /// Closes the store: stops taking posts, lets the writer store and answer everything
    /// already queued, and waits for it; then the engine's own threads stop.
    pub fn close(self) {
        let Store {
            engine,
            posts,
            writer_thread,
            ..
        } = self;
        drop(posts);
        if writer_thread.join().is_err() {
            tracing::error!("the storage writer panicked");
        }
        match &*engine {
            Engine::Sqlite(e) => e.close(),
            Engine::Postgres(e) => e.close(),
        }
    }

    /// Where the data lives, for logs (a PostgreSQL URL without its password).
    pub fn describe(&self) -> String {
        self.url.to_string()
    }

    /// Registers a user. Names are unique ignoring case.
    pub fn create_user(&self, name: &str, pw_hash: &str, now: i64) -> StoreResult<UserRow> {
        on_engine!(self, e => e.create_user(name, pw_hash, now))
    }

    /// A user and their password hash, for login. Case-insensitive.
    pub fn user_credentials(&self, name: &str) -> StoreResult<Option<(UserRow, String)>> {
        on_engine!(self, e => e.user_credentials(name))
    }

    /// A user by name, case-insensitive.
    pub fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRow>> {
        on_engine!(self, e => e.user_by_name(name))
    }

    /// Every user, sorted by name. No secrets.
    pub fn list_users(&self) -> StoreResult<Vec<UserInfo>> {
        on_engine!(self, e => e.list_users())
    }

    /// Stores a new session (by token hash).
    pub fn create_session(
        &self,
        user_id: i64,
        token_hash: &[u8],
        inbox: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        on_engine!(self, e => e.create_session(user_id, token_hash, inbox, now, expires_at))
    }

    /// The live session for a token hash, if it exists and has not expired.
    pub fn session(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<SessionRow>> {
        on_engine!(self, e => e.session(token_hash, now))
    }

    /// Revokes a session (and, on PostgreSQL, tells every server at once). Returns whether
    /// it existed.
    pub fn delete_session(&self, token_hash: &[u8]) -> StoreResult<bool> {
        on_engine!(self, e => e.delete_session(token_hash))
    }

    /// Deletes expired sessions; returns how many.
    pub fn purge_expired_sessions(&self, now: i64) -> StoreResult<usize> {
        on_engine!(self, e => e.purge_expired_sessions(now))
    }

    /// Forgets login-failure counts whose last attempt began before `before` (past the
    /// window, they count for nothing); returns how many. Keeps the table from growing with
    /// every name ever tried.
    pub fn purge_login_failures(&self, before: i64) -> StoreResult<usize> {
        on_engine!(self, e => e.purge_login_failures(before))
    }

    /// Counts a login attempt for `name` (case-insensitive) and returns how many counted
    /// attempts preceded it. The count starts again from zero when the last attempt is more
    /// than `window_ms` old, and is cleared by [`Store::clear_login_failures`]. Shared by
    /// every server on the database, so spreading guesses over servers gains nothing.
    pub fn count_login_attempt(&self, name: &str, now: i64, window_ms: i64) -> StoreResult<u32> {
        let key = name.to_lowercase();
        on_engine!(self, e => e.count_login_attempt(&key, now, window_ms))
    }

    /// Forgets the failed attempts for `name` (a successful login).
    pub fn clear_login_failures(&self, name: &str) -> StoreResult<()> {
        let key = name.to_lowercase();
        on_engine!(self, e => e.clear_login_failures(&key))
    }

    /// Creates a channel; the creator becomes its first member.
    pub fn create_channel(
        &self,
        user_id: i64,
        name: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<ChannelInfo> {
        on_engine!(self, e => e.create_channel(user_id, name, description, now))
    }

    /// Joins a channel (idempotent). New members start with everything before now read.
    pub fn join_channel(&self, user_id: i64, name: &str, now: i64) -> StoreResult<ChannelInfo> {
        on_engine!(self, e => e.join_channel(user_id, name, now))
    }

    /// Leaves a channel (idempotent).
    pub fn leave_channel(&self, user_id: i64, name: &str) -> StoreResult<ChannelInfo> {
        on_engine!(self, e => e.leave_channel(user_id, name))
    }

    /// Every channel as seen by `user_id`, sorted by name.
    pub fn list_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
        on_engine!(self, e => e.list_channels(user_id))
    }

    /// The channels `user_id` has joined, sorted by name.
    pub fn joined_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
        on_engine!(self, e => e.joined_channels(user_id))
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
        on_engine!(self, e => e.history(user, target, after, before, limit))
    }

    /// The user's direct conversations, most recent first.
    pub fn list_dms(&self, user_id: i64) -> StoreResult<Vec<DmSummary>> {
        on_engine!(self, e => e.list_dms(user_id))
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
        on_engine!(self, e => e.mark_read(user, target, seq, now))
    }

    /// Calls `on` with every session revoked through any server on this database, from a
    /// thread of the store's own, until the store is closed. `false` when the engine has no
    /// such channel (SQLite: a session cache must then revalidate on a timer).
    pub fn watch_revocations(&self, on: impl Fn(Revocation) + Send + 'static) -> bool {
        match &*self.engine {
            Engine::Sqlite(_) => false,
            Engine::Postgres(e) => {
                e.watch_revocations(Box::new(on));
                true
            }
        }
    }
}

impl Engine {
    /// Stores a batch of posts in one transaction (the group-commit writer's only call).
    /// `Err` when the transaction as a whole failed (nothing of it is stored).
    fn store_batch(&self, posts: &[&NewPost]) -> StoreResult<Vec<StoreResult<Stored>>> {
        match self {
            Engine::Sqlite(e) => e.store_batch(posts),
            Engine::Postgres(e) => e.store_batch(posts),
        }
    }
}
