//! Messages (channel posts and DMs), history pages, DM summaries and read markers. Every
//! message is stored by the group-commit writer ([`super::writer`], `Store::submit_post`),
//! which calls the functions at the end of this file inside its transaction.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use zchat_protocol::{DmSummary, Message, Target};

use super::channels::channel_id;
use super::*;
use crate::store::PageQuery;

impl Sqlite {
    /// A page of a conversation, oldest first, and whether more exist in that direction.
    /// With `after` (and optionally `before`): the first `limit` messages with
    /// `after < seq < before`, `has_more` if later ones exist in that range. With only
    /// `before`: the last `limit` messages with `seq < before`, `has_more` if earlier ones
    /// exist. With neither: the newest `limit`, `has_more` if earlier ones exist.
    pub(crate) fn history(
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
            let q = PageQuery::new(after, before, limit);
            let sql = format!(
                "{conv_sql} AND m.seq > ?2 AND m.seq < ?3 ORDER BY m.seq {} LIMIT ?4",
                q.order
            );
            let msgs: Vec<Message> = c
                .prepare_cached(&sql)?
                .query_map(params![conv_id, q.lo, q.hi, q.take], |r| {
                    row_to_message(r, &target)
                })?
                .collect::<Result<_, _>>()?;
            Ok(q.page(target, msgs))
        })
    }

    /// The user's direct conversations, most recent first.
    pub(crate) fn list_dms(&self, user_id: i64) -> StoreResult<Vec<DmSummary>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT c.id, u.name, c.last_seq, coalesce(r.read_seq, 0)
                 FROM dm_conversations c
                 JOIN users u ON u.id = CASE WHEN c.user_a = ?1 THEN c.user_b ELSE c.user_a END
                 LEFT JOIN dm_read r ON r.conv_id = c.id AND r.user_id = ?1
                 WHERE c.user_a = ?1 OR c.user_b = ?1
                 ORDER BY c.last_ts DESC, c.id DESC",
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
    pub(crate) fn mark_read(
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
pub(super) enum Replay {
    Channel(i64),
    Dm(i64),
}

/// The message this sender already stored in this conversation with this nonce, if any
/// (a retried `send`): returned as not fresh. The same nonce with another text is refused.
pub(super) fn replay(
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
    Stored::replayed(sender, target, text, nonce, existing)
}

/// Stores one channel message inside the caller's transaction (see `super::writer`). A repeated
/// `nonce` from the same sender in the same channel returns the original message
/// (`fresh == false`). Every refusal (no such channel, not a member, nonce reused) is found
/// before anything is written, so the writer needs no savepoint per message.
pub(super) fn post_channel_in(
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
    Ok(Stored::new_message(sender, target, seq, now, text, vec![]))
}

/// Stores one direct message inside the caller's transaction; `Stored::inboxes` lists
/// every live session inbox of both participants.
pub(super) fn send_dm_in(
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
    if let Some(mut original) = replay(tx, Replay::Dm(conv_id), sender, &target, text, nonce)? {
        // Published again (see `server::send`): to the participants' live inboxes.
        original.inboxes = live_inboxes(tx, &[sender.id, peer.id], now)?;
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
    Ok(Stored::new_message(sender, target, seq, now, text, inboxes))
}

const CHANNEL_PAGE: &str = "SELECT m.seq, m.ts, u.name, NULL, m.text FROM channel_messages m
     JOIN users u ON u.id = m.sender_id WHERE m.channel_id = ?1";

const DM_PAGE: &str = "SELECT m.seq, m.ts, su.name, ru.name, m.text FROM dm_messages m
     JOIN dm_conversations c ON c.id = m.conv_id
     JOIN users su ON su.id = m.sender_id
     JOIN users ru ON ru.id = CASE WHEN m.sender_id = c.user_a THEN c.user_b ELSE c.user_a END
     WHERE m.conv_id = ?1";

pub(super) fn row_to_message(r: &rusqlite::Row<'_>, target: &Target) -> rusqlite::Result<Message> {
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

pub(super) fn conversation_id(c: &Connection, a: i64, b: i64) -> StoreResult<Option<i64>> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    Ok(
        c.prepare_cached("SELECT id FROM dm_conversations WHERE user_a = ?1 AND user_b = ?2")?
            .query_row(params![lo, hi], |r| r.get(0))
            .optional()?,
    )
}

pub(super) fn ensure_conversation(c: &Connection, a: i64, b: i64) -> StoreResult<i64> {
    if let Some(id) = conversation_id(c, a, b)? {
        return Ok(id);
    }
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    c.prepare_cached("INSERT INTO dm_conversations (user_a, user_b) VALUES (?1, ?2)")?
        .execute(params![lo, hi])?;
    Ok(c.last_insert_rowid())
}

pub(super) fn live_inboxes(c: &Connection, users: &[i64], now: i64) -> StoreResult<Vec<String>> {
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
