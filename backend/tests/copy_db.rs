//! `zchat-server copy-db`: a SQLite installation copied into a real, empty PostgreSQL
//! database (started from Debian's packages by `test_postgres`) must serve exactly what the
//! source served, through the public `Store` API, and carry on without id or seq
//! collisions; a non-empty target, a missing or foreign source and wrong URLs are refused
//! without changing anything.
//!
//! The bigger copy uses 20,000 messages; `ZCHAT_COPY_TEST_MESSAGES=N` changes that (to
//! measure the copy's speed on a bigger installation).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: fail loudly where they fail

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use zchat_backend::store::copy::{copy_db, CopyError};
use zchat_backend::store::{
    sqlite, DbUrl, NewPost, Store, StoreError, StoreResult, Stored, UserRow,
};
use zchat_backend::test_postgres::Postgres;
use zchat_protocol::Target;

/// A copy of the first release's database (see `fixtures/README.md`) in `dir`.
fn fixture_in(dir: &Path) -> PathBuf {
    let path = dir.join("zchat.db");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zchat-v1.db"),
        &path,
    )
    .expect("copy the fixture");
    path
}

/// A fresh, empty database on the shared test PostgreSQL, and its URL as text.
fn fresh_pg_url() -> (DbUrl, String) {
    let url = Postgres::shared()
        .expect("a real PostgreSQL for the tests")
        .fresh_database()
        .expect("a fresh database");
    (url.parse().expect("its URL"), url)
}

fn fresh_pg() -> DbUrl {
    fresh_pg_url().0
}

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .expect("open")
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}

/// Stores a post and waits for the outcome.
fn post(s: &Store, who: &UserRow, target: &Target, text: &str, now: i64) -> StoreResult<Stored> {
    let (tx, rx) = std::sync::mpsc::channel();
    s.submit_post(
        NewPost {
            sender: who.clone(),
            target: target.clone(),
            text: text.to_string(),
            nonce: None,
            now,
        },
        move |r| {
            let _ = tx.send(r);
        },
    );
    rx.recv().unwrap_or(Err(StoreError::WriterGone))
}

/// Everything a user can see, as the store serves it: credentials, channel lists with
/// read markers and unread counts, DM list, and every message of every conversation.
/// Returns how many messages were compared.
fn assert_same_view(src: &Store, dst: &Store) -> usize {
    let users = src.list_users().expect("users");
    assert_eq!(dst.list_users().expect("users"), users, "user list");
    let mut messages = 0;
    for info in &users {
        let creds = src.user_credentials(&info.name).expect("q").expect("user");
        assert_eq!(
            dst.user_credentials(&info.name).expect("q"),
            Some(creds.clone()),
            "{}: id and password hash",
            info.name
        );
        let user = creds.0;
        assert_eq!(
            dst.list_channels(user.id).expect("q"),
            src.list_channels(user.id).expect("q"),
            "{}: channels, members, read markers, unread",
            user.name
        );
        let joined = src.joined_channels(user.id).expect("q");
        assert_eq!(dst.joined_channels(user.id).expect("q"), joined);
        let dms = src.list_dms(user.id).expect("q");
        assert_eq!(dst.list_dms(user.id).expect("q"), dms, "{}: DMs", user.name);
        let targets = joined
            .iter()
            .map(|c| Target::Channel(c.name.clone()))
            .chain(dms.iter().map(|d| Target::User(d.peer.clone())));
        for target in targets {
            let a = src
                .history(&user, &target, None, None, u32::MAX)
                .expect("history");
            let b = dst
                .history(&user, &target, None, None, u32::MAX)
                .expect("history");
            assert_eq!(b, a, "{}: history of {target:?}", user.name);
            messages += a.messages.len();
        }
    }
    messages
}

#[test]
fn the_first_release_database_is_copied_whole_and_the_copy_carries_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = fixture_in(dir.path());
    let (to, url) = fresh_pg_url();
    let report = copy_db(&DbUrl::Sqlite(path.clone()), &to).expect("copy");
    assert_eq!(report.upgraded_from, Some(1), "v1 source upgraded in place");
    assert_eq!(user_version(&path), sqlite::VERSION as i64);
    let counts: Vec<(&str, u64, u64)> = report
        .tables
        .iter()
        .map(|t| (t.table, t.source, t.target))
        .collect();
    assert_eq!(
        counts,
        [
            ("users", 3, 3),
            ("sessions", 2, 2),
            ("login_failures", 0, 0),
            ("channels", 2, 2),
            ("memberships", 5, 5),
            ("dm_conversations", 2, 2),
            ("dm_read", 3, 3),
            ("channel_messages", 12, 12),
            ("dm_messages", 3, 3),
        ]
    );
    assert_eq!(report.conversations, 4);
    let summary = report.to_string();
    assert!(summary.contains("channel_messages"), "{summary}");
    let password = url
        .split_once("zchat:")
        .and_then(|(_, rest)| rest.split_once('@'))
        .expect("password")
        .0;
    assert!(
        summary.contains(":***@") && !summary.contains(password),
        "password hidden: {summary}"
    );

    let src = Store::open(&DbUrl::Sqlite(path.clone()), false).expect("source");
    let dst = Store::open(&to, false).expect("target");
    // Each user sees every message in both channels and in their DMs.
    assert_eq!(
        assert_same_view(&src, &dst),
        (11 + 1 + 3) + (11 + 1 + 2) + (11 + 1)
    );

    // Sessions: the same token hashes are live on the target, for the same users and inboxes.
    let conn = rusqlite::Connection::open(&path).expect("source");
    let sessions: Vec<(Vec<u8>, i64)> = conn
        .prepare("SELECT token_hash, expires_at FROM sessions")
        .expect("q")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("q")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(sessions.len(), 2);
    for (hash, expires_at) in &sessions {
        let now = expires_at - 1;
        let theirs = src
            .session(hash, now)
            .expect("q")
            .expect("live in the source");
        assert_eq!(dst.session(hash, now).expect("q"), Some(theirs));
        assert_eq!(
            dst.session(hash, *expires_at).expect("q"),
            None,
            "expiry kept"
        );
    }
    src.close();

    // The copy carries on: seqs continue, and new users, channels and DM conversations get
    // ids past the copied ones (the identity sequences were moved).
    let bob = dst.user_by_name("bob").expect("q").expect("bob");
    let ana = dst.user_by_name("ana").expect("q").expect("Ana");
    let geral = Target::Channel("geral".into());
    assert_eq!(
        post(&dst, &bob, &geral, "on PostgreSQL", 10)
            .expect("post")
            .message
            .seq,
        12
    );
    let to_bob = Target::User("bob".into());
    let dm_seq = dst
        .list_dms(ana.id)
        .expect("q")
        .iter()
        .find(|d| d.peer == "bob")
        .expect("dm")
        .last_seq;
    assert_eq!(
        post(&dst, &ana, &to_bob, "hi", 11).expect("dm").message.seq,
        dm_seq + 1
    );
    let dora = dst.create_user("dora", "phc", 12).expect("a new user");
    assert_eq!(dora.id, 4);
    dst.create_channel(dora.id, "novo", "", 13)
        .expect("a new channel");
    dst.join_channel(dora.id, "geral", 14).expect("join");
    assert_eq!(
        post(&dst, &dora, &Target::Channel("novo".into()), "first", 15)
            .expect("post")
            .message
            .seq,
        1
    );
    assert_eq!(
        post(
            &dst,
            &dora,
            &Target::User("carla".into()),
            "hello carla",
            16
        )
        .expect("a new DM")
        .message
        .seq,
        1
    );
    let texts: Vec<String> = dst
        .history(&dora, &geral, None, None, 100)
        .expect("history")
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts.len(), 12);
    assert_eq!(texts[11], "on PostgreSQL");
    dst.close();
}

#[test]
fn a_non_empty_target_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = fixture_in(dir.path());
    let before = std::fs::read(&path).expect("read");
    let to = fresh_pg();
    let s = Store::open(&to, false).expect("a server started on the target");
    let ann = s.create_user("someone", "phc", 1).expect("user");
    s.create_channel(ann.id, "theirs", "", 2).expect("channel");
    s.close();

    let e = copy_db(&DbUrl::Sqlite(path.clone()), &to).expect_err("refused");
    assert!(matches!(e, CopyError::TargetNotEmpty(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("users: 1 rows") && msg.contains("channels: 1 rows"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "source not even upgraded"
    );

    let s = Store::open(&to, false).expect("target");
    let names: Vec<String> = s
        .list_users()
        .expect("q")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["someone"]);
    let channels: Vec<String> = s
        .list_channels(ann.id)
        .expect("q")
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(channels, ["theirs"]);
    s.close();
}

#[test]
fn a_missing_source_is_refused_and_not_created() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("nowhere").join("zchat.db");
    // The target is never reached: any well-formed PostgreSQL URL will do.
    let to: DbUrl = "postgres://zchat:pw@127.0.0.1:1/zchat"
        .parse()
        .expect("url");
    let e = copy_db(&DbUrl::Sqlite(missing.clone()), &to).expect_err("refused");
    assert!(matches!(e, CopyError::SourceMissing(_)), "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(
        !missing.exists() && !dir.path().join("nowhere").exists(),
        "nothing created"
    );
}

#[test]
fn foreign_and_newer_sources_are_refused_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    let to: DbUrl = "postgres://zchat:pw@127.0.0.1:1/zchat"
        .parse()
        .expect("url");

    let newer = fixture_in(dir.path());
    rusqlite::Connection::open(&newer)
        .expect("open")
        .pragma_update(None, "user_version", 99)
        .expect("set");
    let e = copy_db(&DbUrl::Sqlite(newer.clone()), &to).expect_err("refused");
    assert!(
        matches!(e, CopyError::SourceTooNew { found: 99, known } if known == sqlite::VERSION),
        "{e}"
    );
    assert_eq!(user_version(&newer), 99);

    let foreign = dir.path().join("other.db");
    rusqlite::Connection::open(&foreign)
        .expect("open")
        .execute_batch("CREATE TABLE notes (body TEXT)")
        .expect("create");
    let e = copy_db(&DbUrl::Sqlite(foreign.clone()), &to).expect_err("refused");
    assert!(matches!(e, CopyError::NotZchat { .. }), "{e}");
    let tables: i64 = rusqlite::Connection::open(&foreign)
        .expect("open")
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .expect("q");
    assert_eq!(tables, 1, "no zchat schema written into a foreign file");

    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a database at all, just some text that is long enough",
    )
    .expect("write");
    let e = copy_db(&DbUrl::Sqlite(text), &to).expect_err("refused");
    assert!(matches!(e, CopyError::Source { .. }), "{e}");
}

#[test]
fn urls_of_the_wrong_engine_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let pg: DbUrl = "postgres://zchat:pw@127.0.0.1:1/zchat"
        .parse()
        .expect("url");
    let e = copy_db(&pg, &pg).expect_err("refused");
    assert!(matches!(e, CopyError::SourceNotSqlite(_)), "{e}");
    let path = fixture_in(dir.path());
    let other = dir.path().join("other.db");
    let e = copy_db(&DbUrl::Sqlite(path), &DbUrl::Sqlite(other.clone())).expect_err("refused");
    assert!(matches!(e, CopyError::TargetNotPostgres(_)), "{e}");
    assert!(!other.exists());
}

fn zchat_server() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zchat-server"));
    c.env_remove("ZCHAT_COPY_FROM")
        .env_remove("ZCHAT_COPY_TO")
        .env("RUST_LOG", "warn");
    c
}

#[test]
fn the_command_line_copies_verifies_and_exits_non_zero_on_refusal() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = fixture_in(dir.path());
    let (_, to) = fresh_pg_url();
    let from = format!("sqlite:{}", path.display());
    let out = zchat_server()
        .args(["copy-db", "--from", &from])
        .env("ZCHAT_COPY_TO", &to)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("channel_messages"))
        .unwrap_or_else(|| panic!("no summary row: {stdout}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["channel_messages", "12", "12"]
    );
    assert!(stdout.contains("verified"), "{stdout}");
    assert!(
        !stdout.contains(&to),
        "the password is not printed: {stdout}"
    );

    // Again into the same (now full) database: refused.
    let out = zchat_server()
        .args(["copy-db", "--from", &from, "--to", &to])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not empty"), "{stderr}");

    for (args, says) in [
        (
            vec!["--from", "mysql://a@b/c", "--to", &to],
            "unsupported database URL",
        ),
        (
            vec!["--from", &from, "--to", "sqlite:/tmp/x.db"],
            "--to must name a PostgreSQL database",
        ),
        (
            vec!["--from", "postgres://a:b@c/d", "--to", &to],
            "--from must name a SQLite database",
        ),
        (vec!["--to", &to], "--from"),
        (
            vec![
                "--from",
                &from,
                "--to",
                "postgres://zchat:hunter2@db:port/zchat",
            ],
            "bad PostgreSQL URL",
        ),
    ] {
        let out = zchat_server()
            .arg("copy-db")
            .args(&args)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "a password was echoed: {stderr}"
        );
    }
}

#[test]
fn a_bigger_installation_is_copied_quickly_and_completely() {
    let total: usize = std::env::var("ZCHAT_COPY_TEST_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("zchat.db");
    let from = DbUrl::Sqlite(path.clone());
    // Accounts, channels and conversations through the Store API, the bulk of the
    // messages by direct SQL (the API would take minutes to write them one by one).
    let s = Store::open(&from, false).expect("source");
    let users: Vec<UserRow> = (0..10)
        .map(|i| {
            s.create_user(&format!("user{i}"), &format!("phc-{i}"), i)
                .expect("user")
        })
        .collect();
    for c in 0..5 {
        s.create_channel(users[0].id, &format!("c{c}"), "load", 100)
            .expect("channel");
        for u in &users[1..] {
            s.join_channel(u.id, &format!("c{c}"), 101).expect("join");
        }
    }
    for u in &users[1..] {
        post(&s, &users[0], &Target::User(u.name.clone()), "hi", 102).expect("dm");
    }
    s.count_login_attempt("ghost", 103, 60_000).expect("count");
    s.count_login_attempt("ghost", 104, 60_000).expect("count");
    s.close();
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    let tx = conn.transaction().expect("tx");
    let per_channel = total * 4 / 5 / 5;
    let per_dm = (total - per_channel * 5) / 9;
    for c in 1..=5_i64 {
        let mut st = tx
            .prepare("INSERT INTO channel_messages (channel_id, seq, ts, sender_id, text, nonce) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .expect("prepare");
        for seq in 1..=per_channel as i64 {
            let sender = users[(seq % 10) as usize].id;
            let nonce = (seq % 2 == 0).then_some(seq * 7919 + c);
            st.execute(rusqlite::params![
                c,
                seq,
                1_000 + seq,
                sender,
                format!("message {seq} in c{c} — ✓"),
                nonce
            ])
            .expect("insert");
        }
        tx.execute(
            "UPDATE channels SET last_seq = ?1 WHERE id = ?2",
            [per_channel as i64, c],
        )
        .expect("last_seq");
    }
    let convs: Vec<(i64, i64, i64)> = tx
        .prepare("SELECT id, user_a, user_b FROM dm_conversations")
        .expect("q")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("q")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(convs.len(), 9);
    // Distinct `last_ts` per conversation: the DM list is ordered by it, and the two engines
    // break its ties differently (that is not the copy's business).
    for (id, a, b) in &convs {
        let mut st = tx
            .prepare("INSERT INTO dm_messages (conv_id, seq, ts, sender_id, text, nonce) VALUES (?1, ?2, ?3, ?4, ?5, NULL)")
            .expect("prepare");
        for seq in 2..=(per_dm as i64 + 1) {
            let sender = if seq % 3 == 0 { b } else { a };
            st.execute(rusqlite::params![
                id,
                seq,
                2_000 + seq * 10 + id,
                sender,
                format!("dm {seq}")
            ])
            .expect("insert");
        }
        tx.execute(
            "UPDATE dm_conversations SET last_seq = ?1, last_ts = ?2 WHERE id = ?3",
            [
                per_dm as i64 + 1,
                2_000 + (per_dm as i64 + 1) * 10 + id,
                *id,
            ],
        )
        .expect("last_seq");
    }
    tx.commit().expect("commit");
    drop(conn);
    let channel_messages = (per_channel * 5) as u64;
    let dm_messages = (9 * (per_dm + 1)) as u64;

    let to = fresh_pg();
    let started = Instant::now();
    let report = copy_db(&from, &to).expect("copy");
    let took = started.elapsed();
    eprintln!("{report}\n(whole call {:.2} s)", took.as_secs_f64());
    assert_eq!(report.upgraded_from, None);
    assert_eq!(report.rows("channel_messages"), channel_messages);
    assert_eq!(report.rows("dm_messages"), dm_messages);
    assert_eq!(report.rows("users"), 10);
    assert_eq!(report.rows("memberships"), 50);
    assert_eq!(report.rows("login_failures"), 1);
    assert!(report.tables.iter().all(|t| t.source == t.target));
    assert_eq!(report.conversations, 5 + 9);
    assert!(took.as_secs() < 120, "{total} messages took {took:?}");

    let src = Store::open(&from, false).expect("source");
    let dst = Store::open(&to, false).expect("target");
    assert_eq!(
        assert_same_view(&src, &dst) as u64,
        // Each of the 10 users sees all 5 channels; the 9 DMs are each seen by both ends.
        10 * channel_messages + 2 * dm_messages
    );
    src.close();
    assert_eq!(
        dst.count_login_attempt("ghost", 105, 60_000)
            .expect("count"),
        2,
        "throttling kept"
    );
    let c0 = Target::Channel("c0".into());
    assert_eq!(
        post(&dst, &users[3], &c0, "next", 200)
            .expect("post")
            .message
            .seq,
        per_channel as u64 + 1
    );
    let newcomer = dst.create_user("newcomer", "phc", 201).expect("user");
    assert_eq!(newcomer.id, 11);
    dst.close();
}
