//! Several `zchat-server` processes on one broker and one database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use common::*;
use zchat_client::api::HistoryQuery;

#[test]
fn two_servers_share_one_database_without_gaps_or_duplicates() {
    let mut cluster = start();
    cluster.start_extra_server().expect("second server");
    let alice = User::signup(&cluster, "alice");
    alice.create("busy");
    let users: Vec<User> = (0..4)
        .map(|i| {
            let u = User::signup(&cluster, &format!("poster{i}"));
            u.join("busy");
            u
        })
        .collect();
    let handles: Vec<_> = users
        .into_iter()
        .map(|u| {
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| u.send("#busy", &format!("{} #{i}", u.name())).seq)
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut acked: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("poster thread"))
        .collect();
    acked.sort_unstable();
    assert_eq!(
        acked,
        (1..=100).collect::<Vec<_>>(),
        "every ack has a distinct seq, no gaps"
    );

    // Either server can go away; the other keeps serving the same data.
    cluster.kill_server();
    let page = alice.history("#busy", HistoryQuery::after(0, 500));
    assert_eq!(
        page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>()
    );
    assert_eq!(alice.send("#busy", "still here").seq, 101);
}
