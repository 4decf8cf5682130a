//! Privacy, topic isolation, accounts and bad input: through the real binaries.

mod common;

use std::time::{Duration, Instant};

use common::*;
use zchat_protocol::{codec, topic, ErrorCode, Event, Reply, Request, RequestEnvelope, Target};

#[test]
fn subscribe_all_and_partial_prefixes_receive_no_dm() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    let mut bob = Raw::signup(&cluster, "bob");
    let mallory = Raw::signup(&cluster, "mallory");
    alice.create("public");
    let bob_inbox = bob.inbox.clone().expect("inbox");
    // Mallory tries every trick: everything, every inbox, half of bob's inbox id.
    let half = &bob_inbox[..bob_inbox.len() / 2];
    let snoop = Sub::connect(
        &mallory,
        &cluster,
        &[b"", b"i", b"i/", half.as_bytes(), b"c/"],
    );
    // A legitimate subscriber of bob's inbox, and of the channel, to know messages flowed.
    let legit = Sub::connect(&bob, &cluster, &[bob_inbox.as_bytes()]);
    let chan = Sub::connect(&bob, &cluster, &[topic::channel("public").as_bytes()]);
    await_subscription(&chan, &mut alice, "#public");
    std::thread::sleep(Duration::from_millis(300));

    let dm = alice.send("@bob", "secret for bob");
    alice.send("#public", "public news");
    let (_, ev) = legit.next(TIMEOUT).expect("bob receives his DM");
    assert_eq!(ev, Event::Message { message: dm });
    assert!(
        chan.next(TIMEOUT).is_some(),
        "channel subscribers still get news"
    );
    let leaked = snoop.drain(Duration::from_secs(1));
    assert!(leaked.is_empty(), "prefix subscriptions leaked: {leaked:?}");

    // Mallory can't read bob's DMs through history either: `@alice` means *her* conversation.
    let mut mallory = mallory;
    let (msgs, _) = mallory.history("@alice", None, None, 50);
    assert!(msgs.is_empty());
    let (msgs, _) = mallory.history("@bob", None, None, 50);
    assert!(msgs.is_empty());
    bob.send("@alice", "still private");
}

#[test]
fn a_channel_subscriber_gets_nothing_from_a_channel_whose_name_extends_it() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    alice.create("dev");
    alice.create("devops");
    // Subscriber churn first: sockets that subscribe and vanish must not disturb the proxy.
    for _ in 0..20 {
        let s = Sub::connect(&alice, &cluster, &[topic::channel("dev").as_bytes(), b""]);
        s.next(Duration::from_millis(10));
    }
    let dev = Sub::connect(&alice, &cluster, &[topic::channel("dev").as_bytes()]);
    await_subscription(&dev, &mut alice, "#dev");
    alice.send("#devops", "ops only");
    let m = alice.send("#dev", "dev only");
    let got = dev.drain(Duration::from_secs(1));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, Event::Message { message: m });
}

#[test]
fn no_reply_ever_carries_a_password_hash_or_another_users_secret() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    let bob = Raw::signup(&cluster, "bob");
    let bob_token = bob.token.clone().expect("token");
    let bob_inbox = bob.inbox.clone().expect("inbox");
    for req in [
        Request::ListUsers,
        Request::Whoami,
        Request::ListChannels,
        Request::ListDms,
    ] {
        let env = RequestEnvelope::new(7, alice.token.clone(), req);
        let frames = alice.send_frames(&[&codec::encode(&env).expect("encode")]);
        let raw = String::from_utf8_lossy(frames.last().expect("frame")).into_owned();
        assert!(!raw.contains("argon2"), "hash leaked: {raw}");
        assert!(
            !raw.contains(&bob_token) && !raw.contains(&bob_inbox[2..34]),
            "bob's secrets leaked"
        );
    }
    match alice.call(Request::ListUsers) {
        Reply::Users { users } => assert_eq!(users.len(), 2),
        other => panic!("{other:?}"),
    }
    // The database holds no token in clear either.
    let db = std::fs::read(cluster.data_dir().join("zchat.db")).expect("db");
    let db = String::from_utf8_lossy(&db);
    assert!(!db.contains(&bob_token));
}

#[test]
fn account_rules() {
    let cluster = start();
    let mut raw = Raw::connect(&cluster);
    let reg = |u: &str, p: &str| Request::Register {
        user: u.into(),
        password: p.into(),
    };
    assert!(matches!(
        raw.call(reg("Zoe", PASSWORD)),
        Reply::Registered { .. }
    ));
    raw.expect_error(reg("zoe", PASSWORD), ErrorCode::AlreadyExists);
    raw.expect_error(reg("ZOE", PASSWORD), ErrorCode::AlreadyExists);
    raw.expect_error(reg("9lives", PASSWORD), ErrorCode::InvalidName);
    raw.expect_error(reg("café", PASSWORD), ErrorCode::InvalidName);
    raw.expect_error(reg("short", "1234"), ErrorCode::InvalidPassword);
    let login = |u: &str, p: &str| Request::Login {
        user: u.into(),
        password: p.into(),
    };
    raw.expect_error(login("zoe", "wrong password"), ErrorCode::WrongCredentials);
    raw.expect_error(login("nobody", PASSWORD), ErrorCode::WrongCredentials);
    // Repeated failures are slowed down: the 5th wrong attempt waits before it is checked.
    for _ in 0..3 {
        raw.expect_error(login("zoe", "wrong again"), ErrorCode::WrongCredentials);
    }
    let started = Instant::now();
    raw.expect_error(login("zoe", "wrong again"), ErrorCode::WrongCredentials);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "no slow-down after failures"
    );
    // Channel rules.
    raw.login("zoe");
    let create = |c: &str| Request::CreateChannel {
        channel: c.into(),
        description: String::new(),
    };
    raw.expect_error(create("has space"), ErrorCode::InvalidName);
    raw.expect_error(create(&"x".repeat(33)), ErrorCode::InvalidName);
    assert!(
        matches!(raw.call(create("#Mixed")), Reply::Channel { channel } if channel.name == "mixed")
    );
    raw.expect_error(create("mixed"), ErrorCode::AlreadyExists);
    raw.expect_error(
        Request::CreateChannel {
            channel: "ok".into(),
            description: "x".repeat(201),
        },
        ErrorCode::InvalidText,
    );
}

/// Every kind of garbage gets an error reply with a stable code, and changes nothing.
#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    alice.create("safe");
    alice.send("#safe", "keep me");

    let code_of = |r: zchat_protocol::ResponseEnvelope| match r.body {
        Reply::Error { code, message } => {
            assert!(!message.is_empty());
            code
        }
        other => panic!("expected an error, got {other:?}"),
    };
    // Not MessagePack at all.
    assert_eq!(
        code_of(alice.send_raw(b"\xc1\xc1\xc1 garbage")),
        ErrorCode::BadRequest
    );
    assert_eq!(code_of(alice.send_raw(b"")), ErrorCode::BadRequest);
    // Valid MessagePack, wrong shape.
    assert_eq!(
        code_of(alice.send_raw(&rmp_serde::to_vec(&(1, 2, 3)).expect("enc"))),
        ErrorCode::BadRequest
    );
    // Wrong version, echoing the id.
    #[derive(serde::Serialize)]
    struct Env<'a, B> {
        v: u16,
        id: u64,
        token: Option<&'a str>,
        body: B,
    }
    #[derive(serde::Serialize)]
    struct Op<'a> {
        op: &'a str,
    }
    let enc = |v: u16, op: &str| {
        rmp_serde::to_vec_named(&Env {
            v,
            id: 77,
            token: None,
            body: Op { op },
        })
        .expect("enc")
    };
    let r = alice.send_raw(&enc(99, "ping"));
    assert_eq!(r.id, 77);
    assert_eq!(code_of(r), ErrorCode::UnsupportedVersion);
    assert_eq!(
        code_of(alice.send_raw(&enc(1, "drop_tables"))),
        ErrorCode::UnknownRequest
    );
    // Known op, missing fields.
    assert_eq!(
        code_of(alice.send_raw(&enc(1, "send"))),
        ErrorCode::BadRequest
    );
    // Invalid UTF-8 inside the text string.
    #[derive(serde::Serialize)]
    struct SendBody<'a> {
        op: &'a str,
        target: &'a str,
        #[serde(with = "serde_bytes_as_str")]
        text: &'a [u8],
    }
    mod serde_bytes_as_str {
        pub fn serialize<S: serde::Serializer>(b: &&[u8], s: S) -> Result<S::Ok, S::Error> {
            // Write a MessagePack *str* header with non-UTF-8 bytes.
            s.serialize_bytes(b)
        }
    }
    let mut bad = rmp_serde::to_vec_named(&Env {
        v: 1,
        id: 5,
        token: alice.token.as_deref(),
        body: SendBody {
            op: "send",
            target: "#safe",
            text: b"\xff\xfe bad",
        },
    })
    .expect("enc");
    // Patch the bin8 marker (0xc4, len) of the text into a str8 marker (0xd9, len).
    let pos = bad
        .windows(2)
        .rposition(|w| w == [0xc4, 6])
        .expect("bin marker");
    bad[pos] = 0xd9;
    assert_eq!(code_of(alice.send_raw(&bad)), ErrorCode::BadRequest);
    // Oversize request.
    let huge = RequestEnvelope::new(
        9,
        alice.token.clone(),
        Request::Send {
            target: Target::Channel("safe".into()),
            text: "x".repeat(100_000),
            nonce: None,
        },
    );
    assert_eq!(
        code_of(alice.send_raw(&codec::encode(&huge).expect("enc"))),
        ErrorCode::TooLarge
    );
    // Oversize text within the frame limit, and terminal escapes.
    alice.expect_error(
        Request::Send {
            target: Target::Channel("safe".into()),
            text: "x".repeat(5000),
            nonce: None,
        },
        ErrorCode::InvalidText,
    );
    alice.expect_error(
        Request::Send {
            target: Target::Channel("safe".into()),
            text: "\u{1b}]0;pwned\u{7}".into(),
            nonce: None,
        },
        ErrorCode::InvalidText,
    );
    alice.expect_error(
        Request::Send {
            target: Target::Channel("safe".into()),
            text: "   ".into(),
            nonce: None,
        },
        ErrorCode::InvalidText,
    );
    // Wrong and missing tokens.
    let good = alice.token.clone();
    alice.token = Some("0".repeat(64));
    alice.expect_error(Request::Whoami, ErrorCode::Unauthorized);
    alice.token = None;
    alice.expect_error(Request::ListChannels, ErrorCode::Unauthorized);
    alice.token = good;
    // Nonexistent things.
    alice.expect_error(
        Request::JoinChannel {
            channel: "nope".into(),
        },
        ErrorCode::NotFound,
    );
    alice.expect_error(
        Request::Send {
            target: Target::User("ghost".into()),
            text: "boo".into(),
            nonce: None,
        },
        ErrorCode::NotFound,
    );
    // Extra frames and an empty payload frame: still a reply, routed back.
    let frames = alice.send_frames(&[b"extra", b"frames", b"\x93\x01\x02"]);
    assert!(!frames.is_empty());

    // A message larger than the broker's wire limit: the broker drops that connection, not
    // itself. A fresh connection still works.
    {
        let rogue = Raw::connect(&cluster);
        let blob = vec![0u8; 300 * 1024];
        rogue
            .dealer
            .send_multipart([&b""[..], &blob[..]], 0)
            .expect("send");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Nothing changed; everyone is still up.
    let mut fresh = Raw::connect(&cluster);
    fresh.login("alice");
    let (msgs, _) = fresh.history("#safe", None, None, 10);
    assert_eq!(
        msgs.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["keep me"]
    );
    assert!(matches!(fresh.call(Request::Ping), Reply::Pong { .. }));
    assert!(
        cluster.log("server").find("panicked").is_none(),
        "server panicked"
    );
}

/// A hand-made ZMTP 3.0 SUB peer that can send what libzmq's own SUB never would:
/// unsubscribes for topics it never subscribed to.
fn raw_zmtp_sub(endpoint: &str) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("tcp://");
    let mut s = std::net::TcpStream::connect(addr).expect("tcp");
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let mut greeting = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0];
    let mut mechanism = b"NULL".to_vec();
    mechanism.resize(20, 0);
    greeting.extend(mechanism);
    greeting.push(0); // as-server
    greeting.resize(64, 0);
    s.write_all(&greeting).expect("greeting");
    let mut peer = [0u8; 64];
    s.read_exact(&mut peer).expect("peer greeting");
    let mut ready = vec![5];
    ready.extend(b"READY");
    ready.push(11);
    ready.extend(b"Socket-Type");
    ready.extend(3u32.to_be_bytes());
    ready.extend(b"SUB");
    let mut cmd = vec![0x04, ready.len() as u8];
    cmd.extend(ready);
    s.write_all(&cmd).expect("ready");
    // The peer's READY: flags, size, body.
    let mut head = [0u8; 2];
    s.read_exact(&mut head).expect("peer ready");
    let mut body = vec![0u8; head[1] as usize];
    s.read_exact(&mut body).expect("peer ready body");
    s
}

#[test]
fn unbalanced_unsubscribes_from_a_rogue_peer_silence_nobody() {
    use std::io::Write;
    let cluster = start();
    let mut alice = Raw::signup(&cluster, "alice");
    alice.create("dev");
    let legit = Sub::connect(&alice, &cluster, &[topic::channel("dev").as_bytes()]);
    await_subscription(&legit, &mut alice, "#dev");
    let mut rogue = raw_zmtp_sub(&cluster.proxy_endpoint());
    let unsubscribe = b"\x00c/dev/";
    for _ in 0..5 {
        let mut frame = vec![0x00, unsubscribe.len() as u8];
        frame.extend(unsubscribe);
        rogue.write_all(&frame).expect("unsubscribe");
    }
    std::thread::sleep(Duration::from_millis(500));
    let m = alice.send("#dev", "still flowing");
    let got = legit.drain(Duration::from_secs(2));
    assert!(
        got.iter()
            .any(|(_, e)| *e == Event::Message { message: m.clone() }),
        "the legitimate subscriber was silenced: {got:?}"
    );
}

#[test]
fn parallel_wrong_guesses_are_throttled_and_the_owner_is_never_locked_out() {
    let cluster = start();
    let _zoe = Raw::signup(&cluster, "zoe");
    let started = Instant::now();
    let guesses: Vec<_> = (0..6)
        .map(|i| {
            let mut raw = Raw::connect(&cluster);
            std::thread::spawn(move || {
                match raw.call(Request::Login {
                    user: "zoe".into(),
                    password: format!("guess {i}"),
                }) {
                    Reply::Error { code, .. } => code,
                    other => panic!("a wrong guess logged in: {other:?}"),
                }
            })
        })
        .collect();
    let mut codes: Vec<ErrorCode> = guesses
        .into_iter()
        .map(|g| g.join().expect("guess"))
        .collect();
    codes.sort_by_key(|c| c.as_str());
    // At most 4 attempts per name run at once; the 4th already waits for the 3 before it.
    let wrong = codes
        .iter()
        .filter(|c| **c == ErrorCode::WrongCredentials)
        .count();
    let limited = codes
        .iter()
        .filter(|c| **c == ErrorCode::RateLimited)
        .count();
    assert_eq!((wrong, limited), (4, 2), "{codes:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "parallel guesses were not slowed down"
    );
    // No lock-out: the right password still works (after its delay).
    let mut owner = Raw::connect(&cluster);
    owner.login("zoe");
    assert_eq!(owner.user, "zoe");
}
