//! Accounts, sessions and login failures.

use zchat_protocol::UserInfo;

use super::*;

/// Channel of the revocation notices (`NOTIFY`), payload the token hash in hex.
pub(super) const REVOKED_CHANNEL: &str = "zchat_revoked";

impl Postgres {
    /// See `Store::create_user`.
    pub(crate) fn create_user(&self, name: &str, pw_hash: &str, now: i64) -> StoreResult<UserRow> {
        self.read(|db| {
            let row = db.query_opt(
                "INSERT INTO users (name, name_key, pw_hash, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name_key) DO NOTHING RETURNING id",
                &[&name, &name.to_lowercase(), &pw_hash, &now],
            )?;
            match row {
                Some(r) => Ok(UserRow {
                    id: r.get(0),
                    name: name.to_string(),
                }),
                None => Err(StoreError::AlreadyExists(format!(
                    "user name {name:?} is taken"
                ))),
            }
        })
    }

    /// See `Store::user_credentials`.
    pub(crate) fn user_credentials(&self, name: &str) -> StoreResult<Option<(UserRow, String)>> {
        self.read(|db| {
            Ok(db
                .query_opt(
                    "SELECT id, name, pw_hash FROM users WHERE name_key = $1",
                    &[&name.to_lowercase()],
                )?
                .map(|r| {
                    (
                        UserRow {
                            id: r.get(0),
                            name: r.get(1),
                        },
                        r.get(2),
                    )
                }))
        })
    }

    /// See `Store::user_by_name`.
    pub(crate) fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRow>> {
        self.read(|db| user_by_name(db, name))
    }

    /// See `Store::list_users`.
    pub(crate) fn list_users(&self) -> StoreResult<Vec<UserInfo>> {
        self.read(|db| {
            Ok(db
                .query(
                    "SELECT name, created_at FROM users ORDER BY name_key COLLATE \"C\"",
                    &[],
                )?
                .iter()
                .map(|r| UserInfo {
                    name: r.get(0),
                    created_at: r.get(1),
                })
                .collect())
        })
    }

    /// See `Store::create_session`.
    pub(crate) fn create_session(
        &self,
        user_id: i64,
        token_hash: &[u8],
        inbox: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.read(|db| {
            db.execute(
                "INSERT INTO sessions (token_hash, user_id, inbox, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&token_hash, &user_id, &inbox, &now, &expires_at],
            )?;
            Ok(())
        })
    }

    /// See `Store::session`.
    pub(crate) fn session(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<SessionRow>> {
        self.read(|db| {
            Ok(db
                .query_opt(
                    "SELECT u.id, u.name, s.inbox, s.expires_at FROM sessions s
                     JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = $1 AND s.expires_at > $2",
                    &[&token_hash, &now],
                )?
                .map(|r| SessionRow {
                    user: UserRow {
                        id: r.get(0),
                        name: r.get(1),
                    },
                    inbox: r.get(2),
                    expires_at: r.get(3),
                }))
        })
    }

    /// See `Store::delete_session`: the `NOTIFY` is part of the transaction, so every
    /// server hears of the logout exactly when it commits.
    pub(crate) fn delete_session(&self, token_hash: &[u8]) -> StoreResult<bool> {
        self.write(|db| {
            let n = db.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])?;
            if n > 0 {
                db.query(
                    "SELECT pg_notify($1, $2)",
                    &[&REVOKED_CHANNEL, &hex::encode(token_hash)],
                )?;
            }
            Ok(n > 0)
        })
    }

    /// See `Store::purge_expired_sessions`.
    pub(crate) fn purge_expired_sessions(&self, now: i64) -> StoreResult<usize> {
        self.read(|db| {
            let n = db.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    /// See `Store::count_login_attempt`.
    pub(crate) fn count_login_attempt(
        &self,
        key: &str,
        now: i64,
        window_ms: i64,
    ) -> StoreResult<u32> {
        self.read(|db| {
            let earlier: i64 = db
                .query_one(
                    "INSERT INTO login_failures AS f (name_key, failures, last_at) VALUES ($1, 1, $2)
                     ON CONFLICT (name_key) DO UPDATE SET
                         failures = CASE WHEN f.last_at < $2 - $3 THEN 1 ELSE f.failures + 1 END,
                         last_at = $2
                     RETURNING f.failures - 1",
                    &[&key, &now, &window_ms],
                )?
                .get(0);
            Ok(u32::try_from(earlier).unwrap_or(u32::MAX))
        })
    }

    /// See `Store::purge_login_failures`.
    pub(crate) fn purge_login_failures(&self, before: i64) -> StoreResult<usize> {
        self.read(|db| {
            let n = db.execute("DELETE FROM login_failures WHERE last_at < $1", &[&before])?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    /// See `Store::clear_login_failures`.
    pub(crate) fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        self.read(|db| {
            db.execute("DELETE FROM login_failures WHERE name_key = $1", &[&key])?;
            Ok(())
        })
    }
}
