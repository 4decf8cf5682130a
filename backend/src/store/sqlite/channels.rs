//! Channels and memberships.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use zchat_protocol::ChannelInfo;

use super::*;

impl Sqlite {
    /// Creates a channel; the creator becomes its first member.
    pub(crate) fn create_channel(
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
    pub(crate) fn join_channel(
        &self,
        user_id: i64,
        name: &str,
        now: i64,
    ) -> StoreResult<ChannelInfo> {
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
    pub(crate) fn leave_channel(&self, user_id: i64, name: &str) -> StoreResult<ChannelInfo> {
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
    pub(crate) fn list_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
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
    pub(crate) fn joined_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
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
}

pub(super) fn channel_id(c: &Connection, name: &str) -> StoreResult<i64> {
    c.prepare_cached("SELECT id FROM channels WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no channel named #{name}")))
}

pub(super) fn channel_info(
    c: &Connection,
    channel_id: i64,
    user_id: i64,
) -> StoreResult<ChannelInfo> {
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
