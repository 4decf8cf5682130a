//! Channels and memberships.

use zchat_protocol::ChannelInfo;

use super::*;

impl Postgres {
    /// See `Store::create_channel`.
    pub(crate) fn create_channel(
        &self,
        user_id: i64,
        name: &str,
        description: &str,
        now: i64,
    ) -> StoreResult<ChannelInfo> {
        self.write(|db| {
            let Some(row) = db.query_opt(
                "INSERT INTO channels (name, description, created_by, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO NOTHING RETURNING id",
                &[&name, &description, &user_id, &now],
            )?
            else {
                return Err(StoreError::AlreadyExists(format!(
                    "channel #{name} already exists"
                )));
            };
            let channel_id: i64 = row.get(0);
            db.execute(
                "INSERT INTO memberships (channel_id, user_id, joined_at) VALUES ($1, $2, $3)",
                &[&channel_id, &user_id, &now],
            )?;
            channel_info(db, channel_id, user_id)
        })
    }

    /// See `Store::join_channel`.
    pub(crate) fn join_channel(
        &self,
        user_id: i64,
        name: &str,
        now: i64,
    ) -> StoreResult<ChannelInfo> {
        self.write(|db| {
            let channel_id = channel_id(db, name)?;
            db.execute(
                "INSERT INTO memberships (channel_id, user_id, joined_at, read_seq)
                 SELECT $1, $2, $3, last_seq FROM channels WHERE id = $1
                 ON CONFLICT DO NOTHING",
                &[&channel_id, &user_id, &now],
            )?;
            channel_info(db, channel_id, user_id)
        })
    }

    /// See `Store::leave_channel`.
    pub(crate) fn leave_channel(&self, user_id: i64, name: &str) -> StoreResult<ChannelInfo> {
        self.write(|db| {
            let channel_id = channel_id(db, name)?;
            db.execute(
                "DELETE FROM memberships WHERE channel_id = $1 AND user_id = $2",
                &[&channel_id, &user_id],
            )?;
            channel_info(db, channel_id, user_id)
        })
    }

    /// See `Store::list_channels`.
    pub(crate) fn list_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
        self.read(|db| {
            let ids: Vec<i64> = db
                .query("SELECT id FROM channels ORDER BY name COLLATE \"C\"", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect();
            ids.into_iter()
                .map(|id| channel_info(db, id, user_id))
                .collect()
        })
    }

    /// See `Store::joined_channels`.
    pub(crate) fn joined_channels(&self, user_id: i64) -> StoreResult<Vec<ChannelInfo>> {
        self.read(|db| {
            let ids: Vec<i64> = db
                .query(
                    "SELECT c.id FROM channels c JOIN memberships m ON m.channel_id = c.id
                     WHERE m.user_id = $1 ORDER BY c.name COLLATE \"C\"",
                    &[&user_id],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            ids.into_iter()
                .map(|id| channel_info(db, id, user_id))
                .collect()
        })
    }
}

pub(super) fn channel_id(db: &mut Db<'_>, name: &str) -> StoreResult<i64> {
    db.query_opt("SELECT id FROM channels WHERE name = $1", &[&name])?
        .map(|r| r.get(0))
        .ok_or_else(|| StoreError::NotFound(format!("no channel named #{name}")))
}

pub(super) fn channel_info(
    db: &mut Db<'_>,
    channel_id: i64,
    user_id: i64,
) -> StoreResult<ChannelInfo> {
    let r = db.query_one(
        "SELECT c.name, c.description, c.last_seq,
                (SELECT count(*) FROM memberships WHERE channel_id = c.id),
                (SELECT read_seq FROM memberships WHERE channel_id = c.id AND user_id = $2)
         FROM channels c WHERE c.id = $1",
        &[&channel_id, &user_id],
    )?;
    let (name, description, last_seq, members, read_seq): (String, String, i64, i64, Option<i64>) =
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
    let unread: i64 = match read_seq {
        Some(read) => db
            .query_one(
                "SELECT count(*) FROM channel_messages WHERE channel_id = $1 AND seq > $2 AND sender_id <> $3",
                &[&channel_id, &read, &user_id],
            )?
            .get(0),
        None => 0,
    };
    Ok(ChannelInfo {
        name,
        description,
        members: unsigned(members),
        last_seq: unsigned(last_seq),
        joined: read_seq.is_some(),
        read_seq: unsigned(read_seq.unwrap_or(0)),
        unread: unsigned(unread),
    })
}
