//! The real server on PostgreSQL when PostgreSQL goes away mid-run and comes back: requests
//! are answered `unavailable` (never hang, never a wrong answer), nothing acknowledged is
//! lost, and the server recovers by itself — no restart of zchat.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::time::{Duration, Instant};

use common::User;
use zchat_backend::test_postgres::Postgres;
use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_protocol::{ErrorCode, Target};

#[test]
fn postgres_stopped_and_restarted_mid_run_gives_unavailable_then_recovers() {
    let mut pg = Postgres::start().expect("a PostgreSQL of this test's own");
    let cluster = Cluster::builder().db(pg.url()).start().expect("cluster");
    let ann = User::signup(&cluster, "ann");
    ann.create("dev");
    let dev = Target::Channel("dev".into());
    let before = ann.send("#dev", "before the outage");

    pg.stop().expect("stop PostgreSQL (fast shutdown)");
    // While it is down: a clear error with a stable code, for a post and for a read.
    let said = ann.fails(
        ann.api.send(&dev, "during the outage", Some(42)),
        ErrorCode::Unavailable,
    );
    assert!(said.contains("database"), "{said}");
    ann.fails(
        ann.api.history(&dev, HistoryQuery::latest(10)),
        ErrorCode::Unavailable,
    );

    pg.restart().expect("PostgreSQL back");
    // The same send, retried with its nonce until the server has reconnected.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        match ann.run(ann.api.send(&dev, "during the outage", Some(42))) {
            Ok(m) => break m,
            Err(e) if e.code() == Some(ErrorCode::Unavailable) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("not recovered: {e}"),
        }
    };
    assert_eq!(after.seq, before.seq + 1, "nothing lost, no gap");
    let page = ann.history("#dev", HistoryQuery::latest(10));
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["before the outage", "during the outage"]);
    // A fresh login works too (sessions, login failures: all in the database).
    let mut again = User::connect(&cluster);
    assert_eq!(again.login("ann").user, "ann");
    let log = std::fs::read_to_string(cluster.dir().join("server.log")).expect("log");
    assert!(!log.contains("panicked"), "{log}");
}
