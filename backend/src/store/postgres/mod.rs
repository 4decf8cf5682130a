//! The PostgreSQL engine: many server processes, on many hosts, share one database.
//!
//! Crate: the synchronous `postgres` client (the `tokio-postgres` driver behind a blocking
//! API). The store's calls already run on tokio's blocking pool and the group-commit writer
//! is a thread of its own, so a blocking client fits the existing design without making the
//! store async; `sqlx` would add a macro/compile-time layer and an async store for nothing
//! here. Connections come from an `r2d2` pool (already used for SQLite) with a small
//! manager of our own that also keeps each connection's prepared statements, so a hot
//! query is parsed once per connection, not once per call.
//!
//! Correct with many writers: a message's `seq` is allocated by
//! `UPDATE … SET last_seq = last_seq + 1 … RETURNING` in the transaction that inserts it,
//! after the conversation's row is locked (`FOR NO KEY UPDATE`, in id order across a batch, so two
//! servers' batches cannot deadlock); the nonce lookup runs after that lock, so a send
//! retried through another server finds the original once its first try has committed.
//! Serialization failures and deadlocks are retried; a lost connection is
//! [`StoreError::Unavailable`] and the pool reconnects by itself when the database returns.

mod channels;
mod listen;
mod messages;
mod schema;
mod users;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::postgres::types::ToSql;
use ::postgres::{Client, NoTls, Row, Statement};

pub(crate) use super::{
    HistoryPage, MarkerUpdate, NewPost, Revocation, SessionRow, StoreError, StoreResult, Stored,
    UserRow,
};

pub use schema::VERSION;

/// How long a request waits for a pooled connection before it is answered `unavailable`.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(1);
/// Connections per server process (readers and the other writes; the writer has its own).
const POOL_SIZE: u32 = 8;
/// How often a whole batch is retried after a serialization failure or deadlock.
const BATCH_RETRIES: usize = 5;
/// A connection idle longer than this is checked with a round trip before use.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// Per-session settings (the URL's own `options` come after, so they win): bounded waits
/// for locks and statements, and no transaction left open by a vanished client.
const SESSION_OPTIONS: &str =
    "-c lock_timeout=5s -c statement_timeout=30s -c idle_in_transaction_session_timeout=10s";

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        if is_connection_loss(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Postgres(e)
        }
    }
}

/// A lost or refused connection, or a wait cut short by the session timeouts set in
/// [`Postgres::open`] (as opposed to a statement the database refused, or a bug such as an
/// unexpected row count: those stay errors of their own).
fn is_connection_loss(e: &::postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(state) = e.code() {
        let code = state.code();
        // Class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot
        // connect now), 53300 (too many connections); 55P03 (lock_timeout: a row held too
        // long, perhaps by a server whose host died), 57014 (statement_timeout), 25P03
        // (idle_in_transaction_session_timeout).
        return code.starts_with("08")
            || code.starts_with("57P")
            || matches!(code, "53300" | "55P03" | "57014" | "25P03");
    }
    // No SQLSTATE: an I/O failure connecting or talking, or a timeout.
    let io =
        std::error::Error::source(e).is_some_and(<dyn std::error::Error>::is::<std::io::Error>);
    io || e.to_string().starts_with("timeout")
}

/// A serialization failure or deadlock: the transaction can simply run again.
fn is_retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Postgres(pe)
        if pe.code().is_some_and(|c| c.code() == "40001" || c.code() == "40P01"))
}

/// One connection and the statements prepared on it.
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// A transaction was begun and not ended (a panic or a failed COMMIT midway): the
    /// connection must not be used again (the pool drops it).
    in_tx: bool,
    /// When it was last used, to check a connection idle for long before relying on it.
    used_at: Instant,
}

impl PgConn {
    fn connect(config: &::postgres::Config) -> Result<PgConn, ::postgres::Error> {
        Ok(PgConn {
            client: config.connect(NoTls)?,
            statements: HashMap::new(),
            in_tx: false,
            used_at: Instant::now(),
        })
    }

    /// Whether it can still be used: open, no transaction left behind, and — when idle for
    /// a while — answering (a server restart closes idle connections unnoticed until used).
    fn healthy(&mut self) -> bool {
        if self.client.is_closed() || self.in_tx {
            return false;
        }
        self.used_at.elapsed() < IDLE_CHECK || self.client.simple_query("").is_ok()
    }

    /// Runs `f` in a transaction (committed when `f` succeeds, rolled back otherwise) with
    /// cached statements. (`BEGIN`/`COMMIT` by hand rather than `postgres::Transaction`, so
    /// that one statement cache type serves transactions and plain calls alike.)
    fn transaction<T>(&mut self, f: impl FnOnce(&mut Db<'_>) -> StoreResult<T>) -> StoreResult<T> {
        self.used_at = Instant::now();
        self.in_tx = true;
        self.client.batch_execute("BEGIN")?;
        let PgConn {
            client, statements, ..
        } = self;
        let out = match f(&mut Db { client, statements }) {
            Ok(out) => {
                self.client.batch_execute("COMMIT")?;
                Ok(out)
            }
            Err(e) => {
                if !self.client.is_closed() {
                    self.client.batch_execute("ROLLBACK")?;
                }
                Err(e)
            }
        };
        self.in_tx = false;
        out
    }

    /// Runs `f` outside a transaction (single statements, reads) with cached statements.
    fn plain<T>(&mut self, f: impl FnOnce(&mut Db<'_>) -> StoreResult<T>) -> StoreResult<T> {
        self.used_at = Instant::now();
        let PgConn {
            client, statements, ..
        } = self;
        f(&mut Db { client, statements })
    }
}

/// A connection or transaction with a statement cache: the queries of the engine's files.
pub(crate) struct Db<'a> {
    client: &'a mut Client,
    statements: &'a mut HashMap<String, Statement>,
}

impl Db<'_> {
    fn statement(&mut self, sql: &str) -> StoreResult<Statement> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    /// Every row.
    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.query(&st, params)?)
    }

    /// At most one row.
    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.query_opt(&st, params)?)
    }

    /// Exactly one row.
    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Row> {
        let st = self.statement(sql)?;
        Ok(self.client.query_one(&st, params)?)
    }

    /// Rows changed.
    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<u64> {
        let st = self.statement(sql)?;
        Ok(self.client.execute(&st, params)?)
    }
}

/// Opens pooled connections (r2d2) with their statement caches.
struct Manager {
    config: ::postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = ::postgres::Error;

    fn connect(&self) -> Result<PgConn, ::postgres::Error> {
        PgConn::connect(&self.config)
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), ::postgres::Error> {
        if conn.in_tx {
            // Cannot happen (has_broken drops such a connection first); a query tells.
            return conn.client.simple_query("ROLLBACK").map(|_| ());
        }
        if conn.used_at.elapsed() < IDLE_CHECK && !conn.client.is_closed() {
            return Ok(());
        }
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed() || conn.in_tx
    }
}

/// The PostgreSQL engine (see the module doc).
pub struct Postgres {
    pool: r2d2::Pool<Manager>,
    /// The group-commit writer's own connection (`None` after it was lost: reconnected on
    /// the next batch).
    writer: Mutex<Option<PgConn>>,
    config: ::postgres::Config,
    /// Set by `close`: background threads end.
    closing: Arc<AtomicBool>,
    listener: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Postgres {
    /// Connects, migrates the schema (under an advisory lock, so servers starting together
    /// take turns) and builds the pool. An unreachable database is an error naming it.
    pub fn open(config: &::postgres::Config) -> StoreResult<Postgres> {
        let mut config = config.clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(2));
        }
        // A server whose host dies mid-transaction must not hold its row locks (and so every
        // other server's posts) for the OS's two-hour keepalive: the database ends such a
        // session, waits for a lock are bounded, and a dead peer is noticed in seconds.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_secs(10));
        let options = match config.get_options() {
            Some(theirs) => format!("{SESSION_OPTIONS} {theirs}"),
            None => SESSION_OPTIONS.to_string(),
        };
        config.options(&options);
        if config.get_application_name().is_none() {
            config.application_name("zchat-server");
        }
        let mut first = PgConn::connect(&config)
            .map_err(|e| StoreError::Open(format!("cannot connect to PostgreSQL: {e}")))?;
        schema::migrate(&mut first.client)
            .map_err(|e| StoreError::Open(format!("cannot migrate the PostgreSQL schema: {e}")))?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .test_on_check_out(true)
            .build_unchecked(Manager {
                config: config.clone(),
            });
        Ok(Postgres {
            pool,
            writer: Mutex::new(Some(first)),
            config,
            closing: Arc::new(AtomicBool::new(false)),
            listener: Mutex::new(None),
        })
    }

    /// Stops the revocation listener.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let thread = self
            .listener
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the revocation listener panicked");
            }
        }
    }

    fn conn(&self) -> StoreResult<r2d2::PooledConnection<Manager>> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
    }

    /// A read or single statement on a pooled connection.
    fn read<T>(&self, f: impl FnOnce(&mut Db<'_>) -> StoreResult<T>) -> StoreResult<T> {
        self.conn()?.plain(f)
    }

    /// A transaction on a pooled connection, run again after a serialization failure.
    fn write<T>(&self, mut f: impl FnMut(&mut Db<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let mut tries = 0;
        loop {
            match conn.transaction(&mut f) {
                Err(e) if is_retryable(&e) && tries < BATCH_RETRIES => tries += 1,
                other => return other,
            }
        }
    }

    /// Stores a batch in one transaction on the writer's own connection (see the module
    /// doc for how seqs stay gap-free across servers).
    pub(crate) fn store_batch(&self, posts: &[&NewPost]) -> StoreResult<Vec<StoreResult<Stored>>> {
        let mut slot = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !slot.as_mut().is_some_and(PgConn::healthy) {
            *slot = None;
            *slot = Some(PgConn::connect(&self.config)?);
        }
        let Some(conn) = slot.as_mut() else {
            return Err(StoreError::Unavailable("no writer connection".into()));
        };
        let mut tries = 0;
        let outcome = loop {
            match conn.transaction(|db| messages::store_batch(db, posts)) {
                Err(e) if is_retryable(&e) && tries < BATCH_RETRIES => tries += 1,
                other => break other,
            }
        };
        if matches!(outcome, Err(StoreError::Unavailable(_))) {
            *slot = None;
        }
        outcome
    }

    /// Starts the thread that LISTENs for revocations made through any server.
    pub(crate) fn watch_revocations(&self, on: Box<dyn Fn(Revocation) + Send>) {
        let config = self.config.clone();
        let closing = self.closing.clone();
        match super::spawn("store-listen", move || listen::run(&config, &closing, &*on)) {
            Ok(thread) => {
                *self
                    .listener
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(thread);
            }
            Err(e) => tracing::error!("no revocation listener: {e}"),
        }
    }
}

/// Brings the database on `client` to [`VERSION`] (refusing a newer one), on a connection
/// of the caller's own: `copy-db` prepares its target with it, outside any pool.
pub(crate) fn migrate(client: &mut Client) -> Result<(), String> {
    schema::migrate(client)
}

/// Converts a stored non-negative count or seq.
fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A u64 nonce or seq as PostgreSQL's BIGINT (nonces keep their bits, as in SQLite).
fn signed(v: u64) -> i64 {
    v as i64
}

pub(super) fn user_by_name(db: &mut Db<'_>, name: &str) -> StoreResult<Option<UserRow>> {
    Ok(db
        .query_opt(
            "SELECT id, name FROM users WHERE name_key = $1",
            &[&name.to_lowercase()],
        )?
        .map(|r| UserRow {
            id: r.get(0),
            name: r.get(1),
        }))
}
