//! Group commit: one thread stores every message.
//!
//! Posting is the hot write path. Instead of each request taking the write lock and paying a
//! transaction of its own, requests queue a [`PostJob`]; the writer takes everything queued
//! (up to [`MAX_BATCH`]), stores it in one `IMMEDIATE` transaction (a refused post is refused
//! before it writes anything, so it never undoes the others), commits once, and only then
//! publishes and answers, in queue order. So: an acknowledged message is committed; messages of one
//! conversation are published in `seq` order; and under load the commit cost is shared.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, TransactionBehavior};
use zchat_protocol::Target;

use super::messages::{post_channel_in, send_dm_in};
use super::{NewPost, Store, StoreError, StoreResult, Stored};

/// Most messages stored in one transaction.
pub const MAX_BATCH: usize = 256;

impl Store {
    /// Queues a message for the group-commit writer, the one way a message is stored.
    /// `done` runs on the writer thread with the outcome, after the commit, in queue order
    /// (so the publications it makes leave in `seq` order).
    pub fn submit_post(
        &self,
        post: NewPost,
        done: impl FnOnce(StoreResult<Stored>) + Send + 'static,
    ) {
        let job = PostJob {
            post,
            done: Box::new(done),
        };
        if let Err(std::sync::mpsc::SendError(job)) = self.posts.send(job) {
            (job.done)(Err(StoreError::WriterGone));
        }
    }
}

/// One message to store, publish and acknowledge.
pub struct PostJob {
    pub(super) post: NewPost,
    /// Runs on the writer thread once the outcome is known (after the commit), in queue
    /// order: publishes and answers.
    pub(super) done: Box<dyn FnOnce(StoreResult<Stored>) + Send>,
}

/// The writer loop; returns when every sender is gone (the store was closed or dropped),
/// after storing and answering everything queued before that.
pub(super) fn run(conn: Arc<Mutex<Connection>>, jobs: Receiver<PostJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = {
            let mut c = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            store_batch(&mut c, &batch)
        };
        match outcome {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    (job.done)(result);
                }
            }
            Err(e) => {
                tracing::error!("message batch not stored: {e}");
                let why = e.to_string();
                for job in batch {
                    (job.done)(Err(StoreError::BatchFailed(why.clone())));
                }
            }
        }
    }
}

/// Stores a batch in one transaction. A refused message (not found, forbidden, nonce reused)
/// is refused before it writes anything, so it is simply reported; a database error aborts
/// and rolls back the whole batch.
fn store_batch(c: &mut Connection, batch: &[PostJob]) -> StoreResult<Vec<StoreResult<Stored>>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let p = &job.post;
        let result = match &p.target {
            Target::Channel(name) => post_channel_in(&tx, &p.sender, name, &p.text, p.nonce, p.now),
            Target::User(peer) => send_dm_in(&tx, &p.sender, peer, &p.text, p.nonce, p.now),
        };
        match result {
            Err(e @ (StoreError::Db(_) | StoreError::Pool(_))) => return Err(e),
            other => results.push(other),
        }
    }
    tx.commit()?;
    Ok(results)
}
