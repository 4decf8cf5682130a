//! Messages (channel posts and DMs), history pages, DM summaries and read markers.

use std::collections::BTreeSet;

use zchat_protocol::{DmSummary, Message, Target};

use super::channels::channel_id;
use super::*;
use crate::store::PageQuery;

const CHANNEL_PAGE: &str = "SELECT m.seq, m.ts, u.name, NULL::TEXT, m.text FROM channel_messages m
     JOIN users u ON u.id = m.sender_id WHERE m.channel_id = $1";

const DM_PAGE: &str = "SELECT m.seq, m.ts, su.name, ru.name, m.text FROM dm_messages m
     JOIN dm_conversations c ON c.id = m.conv_id
     JOIN users su ON su.id = m.sender_id
     JOIN users ru ON ru.id = CASE WHEN m.sender_id = c.user_a THEN c.user_b ELSE c.user_a END
     WHERE m.conv_id = $1";

impl Postgres {
    /// See `Store::history`.
    pub(crate) fn history(
        &self,
        user: &UserRow,
        target: &Target,
        after: Option<u64>,
        before: Option<u64>,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        self.read(|db| {
            let (conv_sql, conv_id, target) = match target {
                Target::Channel(name) => (CHANNEL_PAGE, channel_id(db, name)?, target.clone()),
                Target::User(peer) => {
                    let peer = user_by_name(db, peer)?
                        .ok_or_else(|| StoreError::NotFound(format!("no user named {peer:?}")))?;
                    let target = Target::User(peer.name.clone());
                    match conversation_id(db, user.id, peer.id)? {
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
                "{conv_sql} AND m.seq > $2 AND m.seq < $3 ORDER BY m.seq {} LIMIT $4",
                q.order
            );
            let msgs: Vec<Message> = db
                .query(&sql, &[&conv_id, &q.lo, &q.hi, &q.take])?
                .iter()
                .map(|r| row_to_message(r, &target))
                .collect();
            Ok(q.page(target, msgs))
        })
    }

    /// See `Store::list_dms`.
    pub(crate) fn list_dms(&self, user_id: i64) -> StoreResult<Vec<DmSummary>> {
        self.read(|db| {
            let rows: Vec<(i64, String, i64, i64)> = db
                .query(
                    "SELECT c.id, u.name, c.last_seq, coalesce(r.read_seq, 0)
                     FROM dm_conversations c
                     JOIN users u ON u.id = CASE WHEN c.user_a = $1 THEN c.user_b ELSE c.user_a END
                     LEFT JOIN dm_read r ON r.conv_id = c.id AND r.user_id = $1
                     WHERE c.user_a = $1 OR c.user_b = $1
                     ORDER BY c.last_ts DESC, c.id DESC",
                    &[&user_id],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect();
            let mut out = Vec::with_capacity(rows.len());
            for (conv_id, peer, last_seq, read_seq) in rows {
                let target = Target::User(peer.clone());
                let last = db
                    .query_opt(&format!("{DM_PAGE} AND m.seq = $2"), &[&conv_id, &last_seq])?
                    .map(|r| row_to_message(&r, &target));
                let unread: i64 = db
                    .query_one(
                        "SELECT count(*) FROM dm_messages WHERE conv_id = $1 AND seq > $2 AND sender_id <> $3",
                        &[&conv_id, &read_seq, &user_id],
                    )?
                    .get(0);
                out.push(DmSummary {
                    peer,
                    last,
                    last_seq: unsigned(last_seq),
                    read_seq: unsigned(read_seq),
                    unread: unsigned(unread),
                });
            }
            Ok(out)
        })
    }

    /// See `Store::mark_read`.
    pub(crate) fn mark_read(
        &self,
        user: &UserRow,
        target: &Target,
        seq: u64,
        now: i64,
    ) -> StoreResult<MarkerUpdate> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.write(|db| {
            let (target, before, marker): (Target, i64, i64) = match target {
                Target::Channel(name) => {
                    let channel_id = channel_id(db, name)?;
                    let before: i64 = db
                        .query_opt(
                            "SELECT read_seq FROM memberships WHERE channel_id = $1 AND user_id = $2",
                            &[&channel_id, &user.id],
                        )?
                        .map(|r| r.get(0))
                        .ok_or_else(|| {
                            StoreError::Forbidden(format!("you are not a member of #{name}"))
                        })?;
                    // The member may have left (through another server) since the SELECT.
                    let marker: i64 = db
                        .query_opt(
                            "UPDATE memberships SET read_seq = GREATEST(read_seq, LEAST($3, (SELECT last_seq FROM channels WHERE id = $1)))
                             WHERE channel_id = $1 AND user_id = $2 RETURNING read_seq",
                            &[&channel_id, &user.id, &seq],
                        )?
                        .map(|r| r.get(0))
                        .ok_or_else(|| {
                            StoreError::Forbidden(format!("you are not a member of #{name}"))
                        })?;
                    (target.clone(), before, marker)
                }
                Target::User(peer) => {
                    let peer = user_by_name(db, peer)?
                        .ok_or_else(|| StoreError::NotFound(format!("no user named {peer:?}")))?;
                    let target = Target::User(peer.name.clone());
                    let Some(conv_id) = conversation_id(db, user.id, peer.id)? else {
                        return Ok(MarkerUpdate {
                            target,
                            seq: 0,
                            moved: false,
                            inboxes: vec![],
                        });
                    };
                    let before: i64 = db
                        .query_opt(
                            "SELECT read_seq FROM dm_read WHERE conv_id = $1 AND user_id = $2",
                            &[&conv_id, &user.id],
                        )?
                        .map_or(0, |r| r.get(0));
                    let marker: i64 = db
                        .query_one(
                            "INSERT INTO dm_read AS r (conv_id, user_id, read_seq)
                             VALUES ($1, $2, LEAST($3, (SELECT last_seq FROM dm_conversations WHERE id = $1)))
                             ON CONFLICT (conv_id, user_id) DO UPDATE SET read_seq = GREATEST(r.read_seq, excluded.read_seq)
                             RETURNING r.read_seq",
                            &[&conv_id, &user.id, &seq],
                        )?
                        .get(0);
                    (target, before, marker)
                }
            };
            let moved = marker > before;
            let inboxes = if moved {
                live_inboxes(db, &[user.id], now)?
            } else {
                vec![]
            };
            Ok(MarkerUpdate {
                target,
                seq: unsigned(marker),
                moved,
                inboxes,
            })
        })
    }
}

/// Where a post goes, resolved before any lock is taken.
enum Resolved {
    Channel { id: i64, name: String },
    Dm { conv: i64, peer: UserRow },
}

/// Stores a batch inside the writer's transaction. First every conversation is resolved
/// (creating DM conversations as needed) and its row locked, in one global order (channels
/// by id, then DM conversations by id), so concurrent batches on other servers wait for
/// each other instead of deadlocking; then each post is checked and stored as on SQLite.
pub(super) fn store_batch(
    db: &mut Db<'_>,
    posts: &[&NewPost],
) -> StoreResult<Vec<StoreResult<Stored>>> {
    let mut resolved = Vec::with_capacity(posts.len());
    let mut channels = BTreeSet::new();
    let mut convs = BTreeSet::new();
    for p in posts {
        let r = match &p.target {
            Target::Channel(name) => channel_id(db, name).map(|id| Resolved::Channel {
                id,
                name: name.clone(),
            }),
            Target::User(peer) => match user_by_name(db, peer)? {
                None => Err(StoreError::NotFound(format!("no user named {peer:?}"))),
                Some(peer) => ensure_conversation(db, p.sender.id, peer.id)
                    .map(|conv| Resolved::Dm { conv, peer }),
            },
        };
        match &r {
            Ok(Resolved::Channel { id, .. }) => {
                channels.insert(*id);
            }
            Ok(Resolved::Dm { conv, .. }) => {
                convs.insert(*conv);
            }
            Err(StoreError::NotFound(_)) => {}
            Err(_) => return r.map(|_| vec![]),
        }
        resolved.push(r);
    }
    for id in &channels {
        db.query(
            "SELECT 1 FROM channels WHERE id = $1 FOR NO KEY UPDATE",
            &[id],
        )?;
    }
    for id in &convs {
        db.query(
            "SELECT 1 FROM dm_conversations WHERE id = $1 FOR NO KEY UPDATE",
            &[id],
        )?;
    }
    let mut results = Vec::with_capacity(posts.len());
    for (p, r) in posts.iter().zip(resolved) {
        let result = match r {
            Err(e) => Err(e),
            Ok(Resolved::Channel { id, name }) => post_channel(db, p, id, &name),
            Ok(Resolved::Dm { conv, peer }) => send_dm(db, p, conv, &peer),
        };
        match result {
            Err(e @ (StoreError::Postgres(_) | StoreError::Unavailable(_))) => return Err(e),
            other => results.push(other),
        }
    }
    Ok(results)
}

/// The message this sender already stored in this conversation with this nonce, if any;
/// the same nonce with another text is refused (as on SQLite).
fn replay(
    db: &mut Db<'_>,
    sql: &str,
    id: i64,
    p: &NewPost,
    target: &Target,
) -> StoreResult<Option<Stored>> {
    let Some(nonce) = p.nonce else {
        return Ok(None);
    };
    let found = db
        .query_opt(sql, &[&p.sender.id, &signed(nonce), &id])?
        .map(|r| (r.get(0), r.get(1), r.get(2)));
    Stored::replayed(&p.sender, target, &p.text, nonce, found)
}

fn post_channel(
    db: &mut Db<'_>,
    p: &NewPost,
    channel_id: i64,
    channel: &str,
) -> StoreResult<Stored> {
    let target = Target::Channel(channel.to_string());
    if let Some(original) = replay(
        db,
        "SELECT seq, ts, text FROM channel_messages WHERE sender_id = $1 AND nonce = $2 AND channel_id = $3",
        channel_id,
        p,
        &target,
    )? {
        return Ok(original);
    }
    let member = db.execute(
        "UPDATE memberships SET read_seq = (SELECT last_seq + 1 FROM channels WHERE id = $1)
         WHERE channel_id = $1 AND user_id = $2",
        &[&channel_id, &p.sender.id],
    )?;
    if member == 0 {
        return Err(StoreError::Forbidden(format!(
            "join #{channel} before posting to it"
        )));
    }
    let seq: i64 = db
        .query_one(
            "UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
            &[&channel_id],
        )?
        .get(0);
    db.execute(
        "INSERT INTO channel_messages (channel_id, seq, ts, sender_id, text, nonce)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &channel_id,
            &seq,
            &p.now,
            &p.sender.id,
            &p.text,
            &p.nonce.map(signed),
        ],
    )?;
    Ok(Stored::new_message(
        &p.sender,
        target,
        seq,
        p.now,
        &p.text,
        vec![],
    ))
}

fn send_dm(db: &mut Db<'_>, p: &NewPost, conv_id: i64, peer: &UserRow) -> StoreResult<Stored> {
    let target = Target::User(peer.name.clone());
    if let Some(mut original) = replay(
        db,
        "SELECT seq, ts, text FROM dm_messages WHERE sender_id = $1 AND nonce = $2 AND conv_id = $3",
        conv_id,
        p,
        &target,
    )? {
        // Published again (see `server::send`): to the participants' live inboxes.
        original.inboxes = live_inboxes(db, &[p.sender.id, peer.id], p.now)?;
        return Ok(original);
    }
    let seq: i64 = db
        .query_one(
            "UPDATE dm_conversations SET last_seq = last_seq + 1, last_ts = $2
             WHERE id = $1 RETURNING last_seq",
            &[&conv_id, &p.now],
        )?
        .get(0);
    db.execute(
        "INSERT INTO dm_messages (conv_id, seq, ts, sender_id, text, nonce)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &conv_id,
            &seq,
            &p.now,
            &p.sender.id,
            &p.text,
            &p.nonce.map(signed),
        ],
    )?;
    db.execute(
        "INSERT INTO dm_read AS r (conv_id, user_id, read_seq) VALUES ($1, $2, $3)
         ON CONFLICT (conv_id, user_id) DO UPDATE SET read_seq = GREATEST(r.read_seq, excluded.read_seq)",
        &[&conv_id, &p.sender.id, &seq],
    )?;
    let inboxes = live_inboxes(db, &[p.sender.id, peer.id], p.now)?;
    Ok(Stored::new_message(
        &p.sender, target, seq, p.now, &p.text, inboxes,
    ))
}

fn row_to_message(r: &Row, target: &Target) -> Message {
    let recipient: Option<String> = r.get(3);
    Message {
        target: match (target, recipient) {
            (Target::User(_), Some(to)) => Target::User(to),
            _ => target.clone(),
        },
        seq: unsigned(r.get(0)),
        ts: r.get(1),
        from: r.get(2),
        text: r.get(4),
    }
}

fn conversation_id(db: &mut Db<'_>, a: i64, b: i64) -> StoreResult<Option<i64>> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    Ok(db
        .query_opt(
            "SELECT id FROM dm_conversations WHERE user_a = $1 AND user_b = $2",
            &[&lo, &hi],
        )?
        .map(|r| r.get(0)))
}

fn ensure_conversation(db: &mut Db<'_>, a: i64, b: i64) -> StoreResult<i64> {
    if let Some(id) = conversation_id(db, a, b)? {
        return Ok(id);
    }
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    db.execute(
        "INSERT INTO dm_conversations (user_a, user_b) VALUES ($1, $2) ON CONFLICT (user_a, user_b) DO NOTHING",
        &[&lo, &hi],
    )?;
    conversation_id(db, a, b)?
        .ok_or_else(|| StoreError::Unavailable("the new conversation vanished".into()))
}

fn live_inboxes(db: &mut Db<'_>, users: &[i64], now: i64) -> StoreResult<Vec<String>> {
    let mut unique = users.to_vec();
    unique.sort_unstable();
    unique.dedup();
    Ok(db
        .query(
            "SELECT inbox FROM sessions WHERE user_id = ANY($1) AND expires_at > $2",
            &[&unique, &now],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
