//! Group commit: one thread per server stores every message.
//!
//! Posting is the hot write path. Instead of each request paying a transaction of its own,
//! requests queue a [`PostJob`]; the writer takes everything queued (up to [`MAX_BATCH`]),
//! has the engine store it in one transaction (a refused post is refused before it writes
//! anything, so it never undoes the others), commits once, and only then publishes and
//! answers, in queue order. So: an acknowledged message is committed; messages of one
//! conversation leave this server in `seq` order; and under load the commit cost is shared.

use std::sync::mpsc::Receiver;

use super::{Engine, NewPost, Store, StoreError, StoreResult, Stored};

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
    post: NewPost,
    /// Runs on the writer thread once the outcome is known (after the commit), in queue
    /// order: publishes and answers.
    done: Box<dyn FnOnce(StoreResult<Stored>) + Send>,
}

/// The writer loop; returns when every sender is gone (the store was closed or dropped),
/// after storing and answering everything queued before that.
pub(super) fn run(engine: &Engine, jobs: Receiver<PostJob>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let posts: Vec<&NewPost> = batch.iter().map(|job| &job.post).collect();
        match engine.store_batch(&posts) {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    (job.done)(result);
                }
            }
            Err(e) => {
                tracing::error!("message batch not stored: {e}");
                // A lost database keeps its own code (clients see `unavailable`).
                let failed = |e: &StoreError| match e {
                    StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
                    other => StoreError::BatchFailed(other.to_string()),
                };
                for job in batch {
                    (job.done)(Err(failed(&e)));
                }
            }
        }
    }
}
