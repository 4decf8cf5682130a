//! Channels, direct messages, history, durability: through the real binaries.

mod common;

use std::time::Duration;

use common::*;
use zchat_protocol::{topic, ErrorCode, Event, Reply, Request, Target};

#[test]
fn two_users_chat_in_a_channel_and_by_dm_live() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    let mut bob = Raw::signup(&cluster, "Bob");
    alice.create("#dev");
    bob.join("dev");

    let chan = Sub::connect(&bob, &cluster, &[topic::channel("dev").as_bytes()]);
    await_subscription(&chan, &mut alice, "#dev");
    let inbox = Sub::connect(
        &bob,
        &cluster,
        &[bob.inbox.clone().expect("inbox").as_bytes()],
    );
    std::thread::sleep(Duration::from_millis(300)); // inbox subscription settles

    let m1 = alice.send("#dev", "olá, 世界 🎉");
    let (t, ev) = chan.next(TIMEOUT).expect("live channel message");
    assert_eq!(t, "c/dev/");
    assert_eq!(
        ev,
        Event::Message {
            message: m1.clone()
        }
    );
    assert_eq!(m1.from, "alice");
    assert_eq!(m1.text, "olá, 世界 🎉");

    let dm = alice.send("@bob", "psst, Bob");
    assert_eq!(
        dm.target,
        Target::User("Bob".into()),
        "canonical case of the peer"
    );
    assert_eq!(dm.seq, 1);
    let (_, ev) = inbox.next(TIMEOUT).expect("live DM in bob's inbox");
    assert_eq!(
        ev,
        Event::Message {
            message: dm.clone()
        }
    );

    // Bob replies; the conversation is shared, with one seq sequence.
    let reply = bob.send("@alice", "hi!");
    assert_eq!(reply.seq, 2);
    let (msgs, _) = alice.history("@bob", None, None, 10);
    assert_eq!(
        msgs.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["psst, Bob", "hi!"]
    );

    // Bob's conversation list shows alice, unread counts what alice sent after his marker.
    match bob.call(Request::ListDms) {
        Reply::Dms { conversations } => {
            assert_eq!(conversations.len(), 1);
            assert_eq!(conversations[0].peer, "alice");
            assert_eq!(conversations[0].unread, 0, "bob replied, so he has read it");
        }
        other => panic!("{other:?}"),
    }
    match alice.call(Request::ListDms) {
        Reply::Dms { conversations } => assert_eq!(conversations[0].unread, 1),
        other => panic!("{other:?}"),
    }
    match alice.call(Request::MarkRead {
        target: Target::User("bob".into()),
        seq: 99,
    }) {
        Reply::Marked { seq, .. } => assert_eq!(seq, 2, "clamped to the newest message"),
        other => panic!("{other:?}"),
    }
    match alice.call(Request::MarkRead {
        target: Target::User("bob".into()),
        seq: 1,
    }) {
        Reply::Marked { seq, .. } => assert_eq!(seq, 2, "never moves backwards"),
        other => panic!("{other:?}"),
    }
    match alice.call(Request::ListDms) {
        Reply::Dms { conversations } => assert_eq!(conversations[0].unread, 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn posting_needs_membership_and_unread_counts_follow_markers() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    let mut carol = Raw::signup(&cluster, "carol");
    alice.create("general");
    let msg = carol.expect_error(
        Request::Send {
            target: Target::Channel("general".into()),
            text: "hi".into(),
            nonce: None,
        },
        ErrorCode::Forbidden,
    );
    assert!(msg.contains("join"), "{msg}");
    carol.join("#general");
    carol.join("#general"); // idempotent
    for i in 0..3 {
        alice.send("#general", &format!("m{i}"));
    }
    match carol.call(Request::ListChannels) {
        Reply::Channels { channels } => {
            let c = &channels[0];
            assert_eq!(
                (c.name.as_str(), c.members, c.unread, c.last_seq, c.joined),
                ("general", 2, 3, 3, true)
            );
        }
        other => panic!("{other:?}"),
    }
    carol.call(Request::MarkRead {
        target: Target::Channel("general".into()),
        seq: 2,
    });
    match carol.call(Request::Whoami) {
        Reply::Me { channels, user, .. } => {
            assert_eq!(user, "carol");
            assert_eq!(channels[0].unread, 1);
        }
        other => panic!("{other:?}"),
    }
    match carol.call(Request::LeaveChannel {
        channel: "general".into(),
    }) {
        Reply::Channel { channel } => assert!(!channel.joined && channel.members == 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn history_pages_forwards_and_backwards() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    alice.create("log");
    for i in 1..=25 {
        assert_eq!(alice.send("#log", &format!("line {i}")).seq, i);
    }
    let (latest, more) = alice.history("#log", None, None, 10);
    assert_eq!(latest.first().map(|m| m.seq), Some(16));
    assert_eq!(latest.last().map(|m| m.seq), Some(25));
    assert!(more);
    let (older, more) = alice.history("#log", None, Some(16), 10);
    assert_eq!(
        older.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (6..=15).collect::<Vec<_>>()
    );
    assert!(more);
    let (oldest, more) = alice.history("#log", None, Some(6), 10);
    assert_eq!(oldest.len(), 5);
    assert!(!more);
    let (after, more) = alice.history("#log", Some(20), None, 3);
    assert_eq!(
        after.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![21, 22, 23]
    );
    assert!(more);
    let (tail, more) = alice.history("#log", Some(23), None, 50);
    assert_eq!(tail.len(), 2);
    assert!(!more);
}

#[test]
fn a_retried_send_with_the_same_nonce_is_stored_once() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    alice.create("dup");
    let send = || Request::Send {
        target: Target::Channel("dup".into()),
        text: "once".into(),
        nonce: Some(42),
    };
    let a = alice.call(send());
    let b = alice.call(send());
    assert_eq!(a, b, "the retry returns the original message");
    let (msgs, _) = alice.history("#dup", None, None, 10);
    assert_eq!(msgs.len(), 1);
}

#[test]
fn everything_survives_a_restart_and_acknowledged_messages_survive_kill_9() {
    let mut cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    let mut bob = Raw::signup(&cluster, "bob");
    alice.create("durable");
    bob.join("durable");
    alice.send("#durable", "before restart");
    alice.send("@bob", "dm before restart");

    cluster.restart_server().expect("restart");
    // Sessions, users, channels, memberships, messages are all still there.
    match bob.call(Request::Whoami) {
        Reply::Me { channels, .. } => assert_eq!(channels[0].name, "durable"),
        other => panic!("session lost across restart: {other:?}"),
    }
    let acked: Vec<_> = (0..20)
        .map(|i| alice.send("#durable", &format!("acked {i}")).seq)
        .collect();
    let dm = alice.send("@bob", "acked dm");
    cluster.kill_server(); // SIGKILL right after the acknowledgements
    cluster.start_server().expect("start");
    cluster.wait_ready(TIMEOUT).expect("ready");
    let (msgs, _) = bob.history("#durable", None, None, 100);
    let seqs: Vec<u64> = msgs.iter().map(|m| m.seq).collect();
    assert_eq!(seqs.len(), 21);
    for s in acked {
        assert!(
            seqs.contains(&s),
            "acknowledged message {s} lost after kill -9"
        );
    }
    let (dms, _) = bob.history("@alice", None, None, 10);
    assert_eq!(dms.last(), Some(&dm));
    // Numbering continues without reuse.
    assert_eq!(alice.send("#durable", "after").seq, 22);
    // Logging in still works (password hashes persisted).
    let mut again = Raw::connect(&cluster);
    again.login("ALICE");
    assert_eq!(again.user, "alice");
}

#[test]
fn logout_revokes_the_token() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    assert_eq!(alice.call(Request::Logout), Reply::Done);
    alice.expect_error(Request::Whoami, ErrorCode::Unauthorized);
    alice.expect_error(Request::Logout, ErrorCode::Unauthorized);
}

#[test]
fn a_graceful_stop_with_requests_in_flight_loses_no_acknowledged_message() {
    let mut cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    alice.create("busy");
    // Pipeline a burst of sends without waiting, then stop the server in the middle of it.
    let token = alice.token.clone();
    let burst: Vec<Vec<u8>> = (0..200u64)
        .map(|i| {
            let env = zchat_protocol::RequestEnvelope::new(
                1000 + i,
                token.clone(),
                Request::Send {
                    target: Target::Channel("busy".into()),
                    text: format!("burst {i}"),
                    nonce: Some(i),
                },
            );
            zchat_protocol::codec::encode(&env).expect("encode")
        })
        .collect();
    for frame in &burst {
        alice
            .dealer
            .send_multipart([&b""[..], &frame[..]], 0)
            .expect("send");
    }
    cluster.stop_server();
    // Collect whatever was answered before the stop.
    let mut acked = Vec::new();
    while alice.dealer.poll(zmq::POLLIN, 500).expect("poll") > 0 {
        let frames = alice.dealer.recv_multipart(0).expect("recv");
        let resp: zchat_protocol::ResponseEnvelope =
            zchat_protocol::codec::decode(frames.last().expect("frame")).expect("decodable");
        match resp.body {
            Reply::Sent { message } => acked.push(message),
            other => panic!("unexpected reply during shutdown: {other:?}"),
        }
    }
    cluster.start_server().expect("restart");
    cluster.wait_ready(TIMEOUT).expect("ready");
    let (stored, _) = alice.history("#busy", Some(0), None, 500);
    for m in &acked {
        assert!(stored.contains(m), "acknowledged {m:?} was lost");
    }
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "no gaps"
    );
}
