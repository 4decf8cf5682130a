//! Several `zchat-server` processes on one broker and one database.

mod common;

use common::*;

#[test]
fn two_servers_share_one_database_without_gaps_or_duplicates() {
    let mut cluster = start();
    cluster.start_extra_server().expect("second server");
    let mut alice = Raw::signup(&cluster, "alice");
    alice.create("busy");
    let users: Vec<Raw> = (0..4)
        .map(|i| {
            let mut r = Raw::signup(&cluster, &format!("poster{i}"));
            r.join("busy");
            r
        })
        .collect();
    let handles: Vec<_> = users
        .into_iter()
        .map(|mut r| {
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| r.send("#busy", &format!("{} #{i}", r.user)).seq)
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
    let (page, _) = alice.history("#busy", Some(0), None, 500);
    assert_eq!(
        page.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>()
    );
    assert_eq!(alice.send("#busy", "still here").seq, 101);
}
