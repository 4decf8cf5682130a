//! Accounts and sessions.

use rusqlite::{params, OptionalExtension};
use zchat_protocol::UserInfo;

use super::*;

impl Sqlite {
    /// Registers a user. Names are unique ignoring case.
    pub(crate) fn create_user(&self, name: &str, pw_hash: &str, now: i64) -> StoreResult<UserRow> {
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
    pub(crate) fn user_credentials(&self, name: &str) -> StoreResult<Option<(UserRow, String)>> {
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
    pub(crate) fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRow>> {
        self.read(|c| user_by_name(c, name))
    }

    /// Every user, sorted by name. No secrets.
    pub(crate) fn list_users(&self) -> StoreResult<Vec<UserInfo>> {
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

    /// Stores a new session (by token hash).
    pub(crate) fn create_session(
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
    pub(crate) fn session(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<SessionRow>> {
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
    pub(crate) fn delete_session(&self, token_hash: &[u8]) -> StoreResult<bool> {
        self.write(|c| {
            Ok(c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])? > 0)
        })
    }

    /// Deletes expired sessions; returns how many.
    pub(crate) fn purge_expired_sessions(&self, now: i64) -> StoreResult<usize> {
        self.write(|c| Ok(c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?))
    }

    /// Counts a login attempt for `key` (lower case); see `Store::count_login_attempt`.
    pub(crate) fn count_login_attempt(
        &self,
        key: &str,
        now: i64,
        window_ms: i64,
    ) -> StoreResult<u32> {
        self.write(|c| {
            let earlier: i64 = c
                .prepare_cached(
                    "INSERT INTO login_failures (name_key, failures, last_at) VALUES (?1, 1, ?2)
                     ON CONFLICT(name_key) DO UPDATE SET
                         failures = CASE WHEN last_at < ?2 - ?3 THEN 1 ELSE failures + 1 END,
                         last_at = ?2
                     RETURNING failures - 1",
                )?
                .query_row(params![key, now, window_ms], |r| r.get(0))?;
            Ok(u32::try_from(earlier).unwrap_or(u32::MAX))
        })
    }

    /// See `Store::purge_login_failures`.
    pub(crate) fn purge_login_failures(&self, before: i64) -> StoreResult<usize> {
        self.write(|c| {
            Ok(
                c.prepare_cached("DELETE FROM login_failures WHERE last_at < ?1")?
                    .execute([before])?,
            )
        })
    }

    /// Forgets the failures of `key` (lower case).
    pub(crate) fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        self.write(|c| {
            c.prepare_cached("DELETE FROM login_failures WHERE name_key = ?1")?
                .execute([key])?;
            Ok(())
        })
    }
}
