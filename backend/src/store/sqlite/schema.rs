//! The SQLite schema and its migrations, applied in order by `PRAGMA user_version`, each
//! in its own transaction, at start-up.

use rusqlite::Connection;

use super::StoreError;

/// Each entry moves the schema from version `i` to `i + 1`. Append only; the PostgreSQL
/// engine's list (`store/postgres/schema.rs`) has the same versions with the same meaning.
const MIGRATIONS: &[&str] = &[
    // 1: the first release.
    r#"
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,           -- as registered (case kept for display)
    name_key    TEXT    NOT NULL UNIQUE,    -- lower case: uniqueness and lookup
    pw_hash     TEXT    NOT NULL,           -- argon2id PHC string; never leaves the server
    created_at  INTEGER NOT NULL
);
CREATE TABLE sessions (
    token_hash  BLOB    PRIMARY KEY,        -- SHA-256 of the bearer token; tokens are not stored
    user_id     INTEGER NOT NULL REFERENCES users(id),
    inbox       TEXT    NOT NULL UNIQUE,    -- 128-bit hex inbox id for this session's DMs
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id, expires_at);
CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,    -- normalised lower case
    description TEXT    NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE memberships (
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    joined_at   INTEGER NOT NULL,
    read_seq    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_by_user ON memberships(user_id);
CREATE TABLE channel_messages (
    channel_id  INTEGER NOT NULL REFERENCES channels(id),
    seq         INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    sender_id   INTEGER NOT NULL REFERENCES users(id),
    text        TEXT    NOT NULL,
    nonce       INTEGER,
    PRIMARY KEY (channel_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX channel_messages_nonce ON channel_messages(channel_id, sender_id, nonce) WHERE nonce IS NOT NULL;
CREATE TABLE dm_conversations (
    id          INTEGER PRIMARY KEY,
    user_a      INTEGER NOT NULL REFERENCES users(id),  -- user_a <= user_b
    user_b      INTEGER NOT NULL REFERENCES users(id),
    last_seq    INTEGER NOT NULL DEFAULT 0,
    last_ts     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_a, user_b)
);
CREATE INDEX dm_conversations_by_b ON dm_conversations(user_b);
CREATE TABLE dm_messages (
    conv_id     INTEGER NOT NULL REFERENCES dm_conversations(id),
    seq         INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    sender_id   INTEGER NOT NULL REFERENCES users(id),
    text        TEXT    NOT NULL,
    nonce       INTEGER,
    PRIMARY KEY (conv_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX dm_messages_nonce ON dm_messages(conv_id, sender_id, nonce) WHERE nonce IS NOT NULL;
CREATE TABLE dm_read (
    conv_id     INTEGER NOT NULL REFERENCES dm_conversations(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    read_seq    INTEGER NOT NULL,
    PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;
"#,
    // 2: failed logins are counted in the database, so every server agrees.
    r#"
CREATE TABLE login_failures (
    name_key    TEXT    PRIMARY KEY,        -- lower-case user name (existing or not)
    failures    INTEGER NOT NULL,           -- counted attempts since the last success
    last_at     INTEGER NOT NULL            -- ms since the epoch of the last counted attempt
) WITHOUT ROWID;
"#,
];

/// The newest schema version.
pub const VERSION: usize = MIGRATIONS.len();

/// Per-connection settings. WAL lets readers run beside the single writer;
/// `synchronous=NORMAL` in WAL mode makes every commit durable against a process crash
/// (`kill -9`), and `FULL` (the `--fsync` flag) also against power loss.
pub fn configure(conn: &Connection, fsync: bool) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// Brings the database up to the newest schema version, in one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > VERSION {
        return Err(StoreError::Open(format!(
            "the database has schema version {current}, newer than this zchat-server knows ({VERSION}); upgrade zchat-server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another server process sharing the file may have migrated meanwhile.
        let now: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > i {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}
