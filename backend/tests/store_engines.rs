//! The store's test suite, run against both engines: every test below runs once on SQLite
//! (a file in a temp dir) and once on PostgreSQL (a fresh database in a real PostgreSQL
//! started from Debian's packages by `test_postgres`). Both engines must keep the same rules
//! and refuse the same bad input with the same errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: fail loudly where they fail

use std::sync::Arc;

use zchat_backend::store::{
    DbUrl, NewPost, Revocation, Store, StoreError, StoreResult, Stored, UserRow,
};
use zchat_backend::test_postgres::Postgres;
use zchat_protocol::Target;

/// A database of one engine, and what keeps it alive.
struct Db {
    url: DbUrl,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("tmp");
        Db {
            url: DbUrl::sqlite_in(dir.path()),
            _dir: Some(dir),
        }
    }

    fn postgres() -> Db {
        let pg = Postgres::shared().expect("a real PostgreSQL for the tests");
        let url = pg.fresh_database().expect("a fresh database");
        Db {
            url: url.parse().expect("its URL"),
            _dir: None,
        }
    }

    fn open(&self) -> Store {
        Store::open(&self.url, false).expect("open")
    }
}

/// Runs each test body once per engine.
macro_rules! on_both_engines {
    ($($name:ident($db:ident) $body:block)*) => {
        mod sqlite {
            use super::*;
            $(#[test] fn $name() { let $db = Db::sqlite(); $body })*
        }
        mod postgres {
            use super::*;
            $(#[test] fn $name() { let $db = Db::postgres(); $body })*
        }
    };
}

fn dev() -> Target {
    Target::Channel("dev".into())
}

/// Queues a post; the receiver yields its outcome after the commit.
fn submit(
    s: &Store,
    who: &UserRow,
    target: &Target,
    text: &str,
    nonce: Option<u64>,
    now: i64,
) -> std::sync::mpsc::Receiver<StoreResult<Stored>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let post = NewPost {
        sender: who.clone(),
        target: target.clone(),
        text: text.to_string(),
        nonce,
        now,
    };
    s.submit_post(post, move |r| {
        let _ = tx.send(r);
    });
    rx
}

/// Stores a post and waits for the outcome.
fn post(
    s: &Store,
    who: &UserRow,
    target: &Target,
    text: &str,
    nonce: Option<u64>,
    now: i64,
) -> StoreResult<Stored> {
    submit(s, who, target, text, nonce, now)
        .recv()
        .unwrap_or(Err(StoreError::WriterGone))
}

/// The error's kind, for comparing engines.
fn kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::NotFound(_) => "not_found",
        StoreError::AlreadyExists(_) => "already_exists",
        StoreError::Forbidden(_) => "forbidden",
        StoreError::NonceReused(_) => "nonce_reused",
        StoreError::Unavailable(_) => "unavailable",
        _ => "other",
    }
}

on_both_engines! {
    sessions_expire_and_are_purged(db) {
        let s = db.open();
        let u = s.create_user("ann", "phc", 0).expect("user");
        s.create_session(u.id, b"live", "a".repeat(32).as_str(), 0, 1_000).expect("session");
        s.create_session(u.id, b"old", "b".repeat(32).as_str(), 0, 10).expect("session");
        assert!(s.session(b"live", 500).expect("q").is_some());
        assert!(s.session(b"old", 500).expect("q").is_none(), "expired");
        assert!(s.session(b"live", 1_000).expect("q").is_none(), "expiry is exclusive");
        assert_eq!(s.purge_expired_sessions(500).expect("purge"), 1);
        assert!(s.delete_session(b"live").expect("delete"));
        assert!(!s.delete_session(b"live").expect("delete"));
    }

    users_are_unique_ignoring_case_and_listed_in_order(db) {
        let s = db.open();
        let ann = s.create_user("Ann", "phc-a", 5).expect("user");
        assert_eq!(ann.name, "Ann");
        let e = s.create_user("ANN", "x", 6).expect_err("taken");
        assert_eq!(kind(&e), "already_exists");
        s.create_user("bob", "phc-b", 7).expect("user");
        s.create_user("_z", "phc", 7).expect("user");
        s.create_user("a-b", "phc", 7).expect("user");
        let (row, phc) = s.user_credentials("aNN").expect("q").expect("found");
        assert_eq!((row, phc.as_str()), (ann.clone(), "phc-a"));
        assert!(s.user_credentials("nobody").expect("q").is_none());
        let names: Vec<String> = s.list_users().expect("q").into_iter().map(|u| u.name).collect();
        assert_eq!(names, ["_z", "a-b", "Ann", "bob"], "byte order of the lower-case name");
    }

    channels_join_leave_and_list(db) {
        let s = db.open();
        let ann = s.create_user("ann", "phc", 0).expect("user");
        let bob = s.create_user("bob", "phc", 0).expect("user");
        let info = s.create_channel(ann.id, "dev", "the dev room", 1).expect("channel");
        assert_eq!((info.members, info.joined, info.last_seq), (1, true, 0));
        assert_eq!(kind(&s.create_channel(bob.id, "dev", "", 2).expect_err("dup")), "already_exists");
        s.create_channel(bob.id, "a-team", "", 2).expect("channel");
        post(&s, &ann, &dev(), "before bob", None, 3).expect("post");
        let joined = s.join_channel(bob.id, "dev", 4).expect("join");
        assert_eq!((joined.members, joined.read_seq, joined.unread), (2, 1, 0), "joins with the past read");
        assert_eq!(s.join_channel(bob.id, "dev", 5).expect("again").members, 2, "idempotent");
        assert_eq!(kind(&s.join_channel(bob.id, "nope", 5).expect_err("missing")), "not_found");
        let all: Vec<String> = s.list_channels(ann.id).expect("q").into_iter().map(|c| c.name).collect();
        assert_eq!(all, ["a-team", "dev"]);
        let mine: Vec<String> = s.joined_channels(ann.id).expect("q").into_iter().map(|c| c.name).collect();
        assert_eq!(mine, ["dev"]);
        post(&s, &ann, &dev(), "for bob", None, 6).expect("post");
        let seen = s.joined_channels(bob.id).expect("q");
        let dev_for_bob = seen.iter().find(|c| c.name == "dev").expect("dev");
        assert_eq!(dev_for_bob.unread, 1);
        let left = s.leave_channel(bob.id, "dev").expect("leave");
        assert_eq!((left.members, left.joined), (1, false));
        s.leave_channel(bob.id, "dev").expect("idempotent");
        let e = post(&s, &bob, &dev(), "not a member", None, 7).expect_err("refused");
        assert_eq!(kind(&e), "forbidden");
    }

    a_refused_post_in_a_batch_does_not_undo_the_others(db) {
        let s = db.open();
        let ann = s.create_user("ann", "phc", 0).expect("user");
        let bob = s.create_user("bob", "phc", 0).expect("user");
        s.create_channel(ann.id, "dev", "", 0).expect("channel");
        // Queue several posts at once so they share a batch: bob is not a member, and
        // some go to a channel or a user that does not exist.
        let pending: Vec<_> = (0..12)
            .map(|i| match i % 4 {
                0 => submit(&s, &bob, &dev(), "x", None, i),
                1 => submit(&s, &ann, &Target::Channel("nope".into()), "x", None, i),
                2 => submit(&s, &ann, &Target::User("nobody".into()), "x", None, i),
                _ => submit(&s, &ann, &dev(), "x", None, i),
            })
            .collect();
        let results: Vec<_> = pending.into_iter().map(|rx| rx.recv().expect("answered")).collect();
        let kinds: Vec<&str> = results
            .iter()
            .map(|r| r.as_ref().map_or_else(kind, |_| "ok"))
            .collect();
        assert_eq!(
            kinds,
            ["forbidden", "not_found", "not_found", "ok"].repeat(3),
        );
        let seqs: Vec<u64> = results.iter().flatten().map(|st| st.message.seq).collect();
        assert_eq!(seqs, [1, 2, 3], "gap-free, in queue order");
    }

    a_retry_with_the_same_nonce_returns_the_original(db) {
        let s = db.open();
        let u = s.create_user("ann", "phc", 0).expect("user");
        s.create_channel(u.id, "dev", "", 0).expect("channel");
        let a = post(&s, &u, &dev(), "x", Some(7), 1).expect("post");
        let b = post(&s, &u, &dev(), "x", Some(7), 2).expect("post");
        assert_eq!(a.message, b.message);
        assert!(a.fresh && !b.fresh, "only the first is fresh (published)");
        let e = post(&s, &u, &dev(), "other text", Some(7), 3).expect_err("reused");
        assert_eq!(kind(&e), "nonce_reused");
        // The same nonce in another conversation is another message; u64 nonces keep
        // their high bit.
        s.create_channel(u.id, "ops", "", 0).expect("channel");
        assert!(post(&s, &u, &Target::Channel("ops".into()), "x", Some(7), 3).expect("post").fresh);
        let dm = post(&s, &u, &Target::User("ann".into()), "x", Some(u64::MAX), 4).expect("dm");
        assert!(dm.fresh);
        let again = post(&s, &u, &Target::User("ann".into()), "x", Some(u64::MAX), 5).expect("dm");
        assert_eq!((again.fresh, again.message.seq), (false, dm.message.seq));
    }

    history_pages_in_both_directions(db) {
        let s = db.open();
        let u = s.create_user("ann", "phc", 0).expect("user");
        s.create_channel(u.id, "dev", "", 0).expect("channel");
        for i in 1..=10 {
            post(&s, &u, &dev(), &format!("m{i}"), None, i).expect("post");
        }
        let seqs = |p: &zchat_backend::store::HistoryPage| -> Vec<u64> {
            p.messages.iter().map(|m| m.seq).collect()
        };
        let newest = s.history(&u, &dev(), None, None, 3).expect("q");
        assert_eq!((seqs(&newest), newest.has_more), (vec![8, 9, 10], true));
        let older = s.history(&u, &dev(), None, Some(8), 3).expect("q");
        assert_eq!((seqs(&older), older.has_more), (vec![5, 6, 7], true));
        let first = s.history(&u, &dev(), None, Some(3), 5).expect("q");
        assert_eq!((seqs(&first), first.has_more), (vec![1, 2], false));
        let after = s.history(&u, &dev(), Some(8), None, 5).expect("q");
        assert_eq!((seqs(&after), after.has_more), (vec![9, 10], false));
        let range = s.history(&u, &dev(), Some(2), Some(7), 2).expect("q");
        assert_eq!((seqs(&range), range.has_more), (vec![3, 4], true));
        let huge = s.history(&u, &dev(), Some(u64::MAX), None, 5).expect("q");
        assert!(huge.messages.is_empty());
        assert_eq!(newest.messages[2].text, "m10");
        let e = s.history(&u, &Target::Channel("nope".into()), None, None, 5).expect_err("missing");
        assert_eq!(kind(&e), "not_found");
        let e = s.history(&u, &Target::User("nobody".into()), None, None, 5).expect_err("missing");
        assert_eq!(kind(&e), "not_found");
    }

    direct_messages_markers_and_summaries(db) {
        let s = db.open();
        let ann = s.create_user("Ann", "phc", 0).expect("user");
        let bob = s.create_user("bob", "phc", 0).expect("user");
        let cat = s.create_user("cat", "phc", 0).expect("user");
        s.create_session(bob.id, b"bob-live", &"1".repeat(32), 0, i64::MAX).expect("session");
        s.create_session(bob.id, b"bob-old", &"2".repeat(32), 0, 1).expect("session");
        let to_bob = Target::User("BOB".into());
        let first = post(&s, &ann, &to_bob, "hi bob", None, 10).expect("dm");
        assert_eq!(first.message.target, Target::User("bob".into()), "canonical spelling");
        assert_eq!(first.inboxes, vec!["1".repeat(32)], "live sessions only");
        post(&s, &ann, &to_bob, "again", None, 11).expect("dm");
        post(&s, &cat, &Target::User("ann".into()), "from cat", None, 12).expect("dm");
        let e = post(&s, &ann, &Target::User("nobody".into()), "x", None, 13).expect_err("refused");
        assert_eq!(kind(&e), "not_found");
        let dms = s.list_dms(bob.id).expect("q");
        assert_eq!(dms.len(), 1);
        assert_eq!((dms[0].peer.as_str(), dms[0].unread, dms[0].last_seq), ("Ann", 2, 2));
        let anns: Vec<String> = s.list_dms(ann.id).expect("q").into_iter().map(|d| d.peer).collect();
        assert_eq!(anns, ["cat", "bob"], "most recent first");
        // Markers move forward only, never past the newest message.
        let m = s.mark_read(&bob, &Target::User("ann".into()), 1, 20).expect("mark");
        assert_eq!((m.seq, m.moved, m.target.clone()), (1, true, Target::User("Ann".into())));
        assert_eq!(m.inboxes, vec!["1".repeat(32)]);
        let back = s.mark_read(&bob, &Target::User("ann".into()), 0, 21).expect("mark");
        assert_eq!((back.seq, back.moved, back.inboxes.len()), (1, false, 0));
        let past = s.mark_read(&bob, &Target::User("ann".into()), 99, 22).expect("mark");
        assert_eq!((past.seq, past.moved), (2, true));
        assert_eq!(s.list_dms(bob.id).expect("q")[0].unread, 0);
        let page = s.history(&bob, &Target::User("ANN".into()), None, None, 10).expect("q");
        let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["hi bob", "again"]);
        assert_eq!(page.messages[0].target, Target::User("bob".into()), "each message names its recipient");
        // Channel markers: members only.
        s.create_channel(ann.id, "dev", "", 0).expect("channel");
        let e = s.mark_read(&bob, &dev(), 1, 23).expect_err("not a member");
        assert_eq!(kind(&e), "forbidden");
        let none = s.mark_read(&cat, &Target::User("bob".into()), 5, 24).expect("no conversation");
        assert_eq!((none.seq, none.moved), (0, false));
    }

    login_failures_are_counted_cleared_and_forgotten(db) {
        let s = db.open();
        let counts: Vec<u32> = (0..4).map(|i| s.count_login_attempt("Zoe", 1_000 + i, 60_000).expect("count")).collect();
        assert_eq!(counts, [0, 1, 2, 3], "each attempt sees the ones before it; names ignore case");
        assert_eq!(s.count_login_attempt("ZOE", 2_000, 60_000).expect("count"), 4);
        s.clear_login_failures("zoe").expect("clear");
        assert_eq!(s.count_login_attempt("zoe", 3_000, 60_000).expect("count"), 0);
        // Forgotten a window after the last attempt.
        assert_eq!(s.count_login_attempt("zoe", 3_000 + 60_001, 60_000).expect("count"), 0);
        assert_eq!(s.count_login_attempt("other", 0, 60_000).expect("count"), 0);
        // Stale counts are purged; recent ones stay.
        assert_eq!(s.purge_login_failures(1).expect("purge"), 1, "only `other` is that old");
        assert_eq!(s.count_login_attempt("zoe", 3_000 + 60_002, 60_000).expect("count"), 1);
    }

    reopening_keeps_everything(db) {
        {
            let s = db.open();
            let u = s.create_user("Ann", "phc", 1).expect("user");
            s.create_channel(u.id, "dev", "d", 1).expect("channel");
            post(&s, &u, &dev(), "hello", None, 2).expect("post");
            s.close();
        }
        let s = db.open();
        let u = s.user_by_name("ANN").expect("q").expect("user");
        assert_eq!(u.name, "Ann");
        let page = s.history(&u, &dev(), None, None, 10).expect("history");
        assert_eq!((page.messages.len(), page.has_more), (1, false));
        assert_eq!(s.joined_channels(u.id).expect("q")[0].last_seq, 1);
    }

    two_servers_writing_at_once_keep_seqs_unique_gap_free_and_nonces_once(db) {
        // Two stores on one database: what two server processes do.
        let a = Arc::new(db.open());
        let b = Arc::new(db.open());
        let ann = a.create_user("ann", "phc", 0).expect("user");
        let bob = a.create_user("bob", "phc", 0).expect("user");
        a.create_channel(ann.id, "dev", "", 0).expect("channel");
        a.create_channel(ann.id, "ops", "", 0).expect("channel");
        b.join_channel(bob.id, "dev", 0).expect("join");
        b.join_channel(bob.id, "ops", 0).expect("join");
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let store = if t % 2 == 0 { a.clone() } else { b.clone() };
                let other = if t % 2 == 0 { b.clone() } else { a.clone() };
                let who = if t < 2 { ann.clone() } else { bob.clone() };
                std::thread::spawn(move || {
                    let mut stored = Vec::new();
                    for i in 0..60u64 {
                        // Alternate conversations so batches lock rows in both orders.
                        let target = match i % 3 {
                            0 => Target::Channel("dev".into()),
                            1 => Target::Channel("ops".into()),
                            _ => Target::User(if t < 2 { "bob" } else { "ann" }.into()),
                        };
                        let nonce = t * 1_000 + i;
                        let first = submit(&store, &who, &target, &format!("{t}/{i}"), Some(nonce), 1);
                        // Every third send is also retried through the other server at once.
                        let retry = (i % 3 == 0).then(|| submit(&other, &who, &target, &format!("{t}/{i}"), Some(nonce), 2));
                        let first = first.recv().expect("answer").expect("stored");
                        if let Some(retry) = retry {
                            let retry = retry.recv().expect("answer").expect("stored");
                            assert_eq!(retry.message, first.message, "the retry returns the original");
                        }
                        stored.push(first.message);
                    }
                    stored
                })
            })
            .collect();
        let mut messages: Vec<_> = threads.into_iter().flat_map(|t| t.join().expect("thread")).collect();
        for (target, reader) in [
            (Target::Channel("dev".into()), &ann),
            (Target::Channel("ops".into()), &ann),
            (Target::User("bob".into()), &ann),
        ] {
            let page = a.history(reader, &target, None, None, 1_000).expect("history");
            let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, (1..=80).collect::<Vec<_>>(), "{target:?}: unique and gap-free, each message once");
            let mut texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
            texts.sort_unstable();
            texts.dedup();
            assert_eq!(texts.len(), 80, "{target:?}: no message stored twice");
        }
        messages.sort_by_key(|m| (format!("{:?}", m.target), m.seq));
        assert_eq!(messages.len(), 240);
    }
}

#[test]
fn a_database_written_by_the_first_release_upgrades_in_place_with_nothing_lost() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("zchat.db");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zchat-v1.db"),
        &path,
    )
    .expect("copy the fixture");
    let s = Store::open(&DbUrl::Sqlite(path.clone()), false).expect("upgrade");
    let ana = s.user_by_name("ana").expect("q").expect("Ana");
    let bob = s.user_by_name("bob").expect("q").expect("bob");
    assert_eq!(ana.name, "Ana");
    let (_, phc) = s.user_credentials("carla").expect("q").expect("carla");
    assert!(phc.starts_with("$argon2id$"), "password hashes kept");
    let names: Vec<String> = s
        .list_users()
        .expect("q")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["Ana", "bob", "carla"]);
    let geral = s
        .history(&bob, &Target::Channel("geral".into()), None, None, 100)
        .expect("history");
    let seqs: Vec<u64> = geral.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=11).collect::<Vec<_>>());
    assert_eq!(geral.messages[0].text, "olá 1 — ação ✓");
    assert_eq!(geral.messages[1].text, "bob 1 👍🏽");
    assert_eq!(geral.messages[10].from, "carla");
    let channels = s.joined_channels(ana.id).expect("q");
    let summary: Vec<(String, u64, u64)> = channels
        .iter()
        .map(|c| (c.name.clone(), c.last_seq, c.unread))
        .collect();
    assert_eq!(
        summary,
        [("dev".into(), 1, 1), ("geral".into(), 11, 2)],
        "read markers kept"
    );
    let dms = s.list_dms(ana.id).expect("q");
    let peers: Vec<(&str, u64)> = dms.iter().map(|d| (d.peer.as_str(), d.unread)).collect();
    assert_eq!(peers, [("carla", 1), ("bob", 1)]);
    // Live sessions survive the upgrade: Ana's and bob's (carla logged out).
    assert_eq!(s.purge_expired_sessions(0).expect("purge"), 0);
    // And the new schema works: login failures are counted.
    assert_eq!(s.count_login_attempt("ana", 1, 1_000).expect("count"), 0);
    let stored = post(
        &s,
        &bob,
        &Target::Channel("geral".into()),
        "after the upgrade",
        Some(1),
        2,
    )
    .expect("post");
    assert_eq!(stored.message.seq, 12);
    s.close();
    // Opening again finds nothing left to migrate.
    let again = Store::open(&DbUrl::Sqlite(path), false).expect("reopen");
    assert_eq!(
        again
            .history(&bob, &Target::Channel("geral".into()), None, None, 100)
            .expect("q")
            .messages
            .len(),
        12
    );
}

#[test]
fn postgres_logout_reaches_every_server_at_once() {
    let db = Db::postgres();
    let a = db.open();
    let b = db.open();
    let (tx, rx) = std::sync::mpsc::channel();
    assert!(b.watch_revocations(move |r| {
        let _ = tx.send(r);
    }));
    assert!(
        !Db::sqlite().open().watch_revocations(|_| {}),
        "SQLite has no such channel"
    );
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(30)),
        Ok(Revocation::Resumed)
    );
    let u = a.create_user("ann", "phc", 0).expect("user");
    a.create_session(u.id, b"token-hash", &"f".repeat(32), 0, i64::MAX)
        .expect("session");
    assert!(a.delete_session(b"token-hash").expect("logout"));
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(30)),
        Ok(Revocation::Session(b"token-hash".to_vec())),
        "the other server hears of the logout"
    );
    b.close();
}

#[test]
fn postgres_lost_mid_run_is_unavailable_then_recovers_by_itself() {
    let mut pg = Postgres::start().expect("a PostgreSQL of this test's own");
    let url: DbUrl = pg.url().parse().expect("url");
    let s = Store::open(&url, false).expect("open");
    let (tx, rx) = std::sync::mpsc::channel();
    s.watch_revocations(move |r| {
        let _ = tx.send(r);
    });
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(30)),
        Ok(Revocation::Resumed)
    );
    let ann = s.create_user("ann", "phc", 0).expect("user");
    s.create_channel(ann.id, "dev", "", 0).expect("channel");
    let before = post(&s, &ann, &dev(), "before", Some(1), 1).expect("stored");
    pg.kill().expect("kill -9 PostgreSQL");
    let e = post(&s, &ann, &dev(), "while down", Some(2), 2).expect_err("not stored");
    assert_eq!(kind(&e), "unavailable", "{e}");
    let e = s
        .history(&ann, &dev(), None, None, 10)
        .expect_err("no history");
    assert_eq!(kind(&e), "unavailable", "{e}");
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(30)),
        Ok(Revocation::Suspended)
    );
    pg.restart().expect("PostgreSQL back");
    // The pool and the writer reconnect by themselves: the client's retry (same nonce)
    // is stored once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let after = loop {
        match post(&s, &ann, &dev(), "while down", Some(2), 3) {
            Ok(stored) => break stored,
            Err(e) if kind(&e) == "unavailable" && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("not recovered: {e}"),
        }
    };
    assert_eq!(
        after.message.seq,
        before.message.seq + 1,
        "nothing lost, no gap"
    );
    let page = loop {
        match s.history(&ann, &dev(), None, None, 10) {
            Ok(page) => break page,
            Err(e) if kind(&e) == "unavailable" && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("history not recovered: {e}"),
        }
    };
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["before", "while down"]);
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(30)),
        Ok(Revocation::Resumed),
        "the listener is back"
    );
    s.close();
}
