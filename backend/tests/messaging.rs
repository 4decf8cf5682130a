//! Channels, direct messages, history, durability: through the real binaries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::time::{Duration, Instant};

use common::*;
use zchat_client::api::HistoryQuery;
use zchat_protocol::{codec, topic, ErrorCode, Event, Reply, Request, ResponseEnvelope, Target};

#[test]
fn two_users_chat_in_a_channel_and_by_dm_live() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    let bob = User::signup(&cluster, "Bob");
    alice.create("#dev");
    bob.join("dev");

    // Bob's inbox and the channel on one socket, the channel last: once a probe on the
    // channel arrives, the inbox subscription is in effect too.
    let inbox = bob.inbox();
    let live = Sub::connect(
        &cluster,
        &[inbox.as_bytes(), topic::channel("dev").as_bytes()],
    );
    live.await_probe();

    let m1 = alice.send("#dev", "olá, 世界 🎉");
    let (t, ev) = live.next(TIMEOUT).expect("live channel message");
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
    let (t, ev) = live.next(TIMEOUT).expect("live DM in bob's inbox");
    assert_eq!(t, inbox);
    assert_eq!(
        ev,
        Event::Message {
            message: dm.clone()
        }
    );

    // Bob replies; the conversation is shared, with one seq sequence.
    let reply = bob.send("@alice", "hi!");
    assert_eq!(reply.seq, 2);
    let page = alice.history("@bob", HistoryQuery::latest(10));
    assert_eq!(
        page.messages
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["psst, Bob", "hi!"]
    );

    // Bob's conversation list shows alice, unread counts what alice sent after his marker.
    let conversations = bob.ok(bob.api.dms());
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].peer, "alice");
    assert_eq!(conversations[0].unread, 0, "bob replied, so he has read it");
    assert_eq!(alice.ok(alice.api.dms())[0].unread, 1);
    let with_bob = Target::User("bob".into());
    assert_eq!(
        alice.ok(alice.api.mark_read(&with_bob, 99)),
        2,
        "clamped to the newest message"
    );
    assert_eq!(
        alice.ok(alice.api.mark_read(&with_bob, 1)),
        2,
        "never moves backwards"
    );
    assert_eq!(alice.ok(alice.api.dms())[0].unread, 0);
}

#[test]
fn posting_needs_membership_and_unread_counts_follow_markers() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    let carol = User::signup(&cluster, "carol");
    alice.create("general");
    let general = Target::Channel("general".into());
    let msg = carol.fails(carol.api.send(&general, "hi", None), ErrorCode::Forbidden);
    assert!(msg.contains("join"), "{msg}");
    carol.join("#general");
    carol.join("#general"); // idempotent
    for i in 0..3 {
        alice.send("#general", &format!("m{i}"));
    }
    let channels = carol.ok(carol.api.channels());
    let c = &channels[0];
    assert_eq!(
        (c.name.as_str(), c.members, c.unread, c.last_seq, c.joined),
        ("general", 2, 3, 3, true)
    );
    carol.ok(carol.api.mark_read(&general, 2));
    let me = carol.ok(carol.api.whoami());
    assert_eq!(me.user, "carol");
    assert_eq!(me.channels[0].unread, 1);
    let channel = carol.ok(carol.api.leave("general"));
    assert!(!channel.joined && channel.members == 1);
}

#[test]
fn history_pages_forwards_and_backwards() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    alice.create("log");
    for i in 1..=25 {
        assert_eq!(alice.send("#log", &format!("line {i}")).seq, i);
    }
    let seqs = |p: &zchat_client::Page| p.messages.iter().map(|m| m.seq).collect::<Vec<_>>();
    let latest = alice.history("#log", HistoryQuery::latest(10));
    assert_eq!(latest.messages.first().map(|m| m.seq), Some(16));
    assert_eq!(latest.messages.last().map(|m| m.seq), Some(25));
    assert!(latest.has_more);
    let older = alice.history("#log", HistoryQuery::before(16, 10));
    assert_eq!(seqs(&older), (6..=15).collect::<Vec<_>>());
    assert!(older.has_more);
    let oldest = alice.history("#log", HistoryQuery::before(6, 10));
    assert_eq!(oldest.messages.len(), 5);
    assert!(!oldest.has_more);
    let after = alice.history("#log", HistoryQuery::after(20, 3));
    assert_eq!(seqs(&after), vec![21, 22, 23]);
    assert!(after.has_more);
    let tail = alice.history("#log", HistoryQuery::after(23, 50));
    assert_eq!(tail.messages.len(), 2);
    assert!(!tail.has_more);
}

#[test]
fn a_retried_send_with_the_same_nonce_is_stored_once() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    alice.create("dup");
    let dup = Target::Channel("dup".into());
    let a = alice.ok(alice.api.send(&dup, "once", Some(42)));
    let b = alice.ok(alice.api.send(&dup, "once", Some(42)));
    assert_eq!(a, b, "the retry returns the original message");
    let page = alice.history("#dup", HistoryQuery::latest(10));
    assert_eq!(page.messages.len(), 1);
}

#[test]
fn everything_survives_a_restart_and_acknowledged_messages_survive_kill_9() {
    let mut cluster = start();
    let alice = User::signup(&cluster, "alice");
    let bob = User::signup(&cluster, "bob");
    alice.create("durable");
    bob.join("durable");
    alice.send("#durable", "before restart");
    alice.send("@bob", "dm before restart");

    cluster.restart_server().expect("restart");
    // Sessions, users, channels, memberships, messages are all still there.
    let me = bob
        .run(bob.api.whoami())
        .unwrap_or_else(|e| panic!("session lost across restart: {e}"));
    assert_eq!(me.channels[0].name, "durable");
    let acked: Vec<_> = (0..20)
        .map(|i| alice.send("#durable", &format!("acked {i}")).seq)
        .collect();
    let dm = alice.send("@bob", "acked dm");
    cluster.kill_server(); // SIGKILL right after the acknowledgements
    cluster.start_server().expect("start");
    cluster.wait_ready(TIMEOUT).expect("ready");
    let page = bob.history("#durable", HistoryQuery::latest(100));
    let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs.len(), 21);
    for s in acked {
        assert!(
            seqs.contains(&s),
            "acknowledged message {s} lost after kill -9"
        );
    }
    let dms = bob.history("@alice", HistoryQuery::latest(10));
    assert_eq!(dms.messages.last(), Some(&dm));
    // Numbering continues without reuse.
    assert_eq!(alice.send("#durable", "after").seq, 22);
    // Logging in still works (password hashes persisted).
    let mut again = User::connect(&cluster);
    assert_eq!(again.login("ALICE").user, "alice");
}

#[test]
fn logout_revokes_the_token() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    alice.ok(alice.api.logout());
    // The client forgets the token on logout; send it anyway: the server must refuse it.
    alice.api.set_token(Some(alice.token()));
    alice.fails(alice.api.whoami(), ErrorCode::Unauthorized);
    alice.fails(alice.api.logout(), ErrorCode::Unauthorized);
}

/// Wire level on purpose: a burst pipelined on one DEALER with no retry, and only what the
/// stopping server answered counts as acknowledged.
#[test]
fn a_graceful_stop_with_requests_in_flight_loses_no_acknowledged_message() {
    let mut cluster = start();
    let alice = User::signup(&cluster, "alice");
    alice.create("busy");
    let wire = RawWire::connect(&cluster);
    // Pipeline a burst of sends without waiting, then stop the server in the middle of it.
    let token = Some(alice.token());
    for i in 0..200u64 {
        let send = Request::Send {
            target: Target::Channel("busy".into()),
            text: format!("burst {i}"),
            nonce: Some(i),
        };
        let frame = encode_request(1000 + i, token.clone(), send);
        wire.dealer
            .send_multipart([&b""[..], &frame[..]], 0)
            .expect("send");
    }
    cluster.stop_server();
    cluster.start_server().expect("restart");
    // A ping sent now is answered by the new server, after everything the old one
    // answered: collect every reply until the pong.
    const PING_ID: u64 = 1;
    wire.dealer
        .send_multipart(
            [&b""[..], &encode_request(PING_ID, None, Request::Ping)[..]],
            0,
        )
        .expect("send");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut acked = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            wire.dealer
                .poll(zmq::POLLIN, left.as_millis() as i64)
                .expect("poll")
                > 0,
            "the restarted server never answered the ping"
        );
        let frames = wire.dealer.recv_multipart(0).expect("recv");
        let resp: ResponseEnvelope =
            codec::decode(frames.last().expect("frame")).expect("decodable");
        match resp.body {
            Reply::Pong { .. } if resp.id == PING_ID => break,
            Reply::Sent { message } => acked.push(message),
            other => panic!("unexpected reply during shutdown: {other:?}"),
        }
    }
    cluster.wait_ready(TIMEOUT).expect("ready");
    let stored = alice.history("#busy", HistoryQuery::after(0, 500)).messages;
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
