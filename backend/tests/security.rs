//! Privacy, topic isolation, accounts and bad input: through the real binaries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::time::{Duration, Instant};

use common::*;
use zchat_client::api::HistoryQuery;
use zchat_protocol::{codec, topic, ErrorCode, Event, Reply, Request, RequestEnvelope, Target};

#[test]
fn subscribe_all_and_partial_prefixes_receive_no_dm() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    let bob = User::signup(&cluster, "bob");
    let mallory = User::signup(&cluster, "mallory");
    alice.create("public");
    let bob_inbox = bob.inbox();
    let public = topic::channel("public");
    // Mallory tries every trick: everything, every inbox, half of bob's inbox id (and the
    // public channel). Once her probe arrives (subscribed after all of them), the proxy has
    // dealt with every trick.
    let half = &bob_inbox[..bob_inbox.len() / 2];
    let snoop = Sub::connect(
        &cluster,
        &[b"", b"i", b"i/", half.as_bytes(), b"c/", public.as_bytes()],
    );
    snoop.await_probe();
    // A legitimate subscriber of bob's inbox and of the channel, to know messages flowed.
    let legit = Sub::connect(&cluster, &[bob_inbox.as_bytes(), public.as_bytes()]);
    legit.await_probe();

    let dm = alice.send("@bob", "secret for bob");
    let news = alice.send("#public", "public news");
    let (t, ev) = legit.next(TIMEOUT).expect("bob receives his DM");
    assert_eq!(t, bob_inbox);
    assert_eq!(ev, Event::Message { message: dm });
    assert_eq!(
        legit.until_message(&news).last().map(|(t, _)| t.as_str()),
        Some(public.as_str()),
        "channel subscribers still get news"
    );
    // The DM was published before the news: had it leaked, it came before it.
    let seen = snoop.until_message(&news);
    assert!(
        matches!(seen.last(), Some((_, Event::Message { message })) if *message == news),
        "mallory's legitimate subscription got nothing: {seen:?}"
    );
    let leaked: Vec<_> = seen.iter().filter(|(t, _)| *t != public).collect();
    assert!(leaked.is_empty(), "prefix subscriptions leaked: {leaked:?}");

    // Mallory can't read bob's DMs through history either: `@alice` means *her* conversation.
    let page = mallory.history("@alice", HistoryQuery::latest(50));
    assert!(page.messages.is_empty());
    let page = mallory.history("@bob", HistoryQuery::latest(50));
    assert!(page.messages.is_empty());
    bob.send("@alice", "still private");
}

#[test]
fn a_channel_subscriber_gets_nothing_from_a_channel_whose_name_extends_it() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    alice.create("dev");
    alice.create("devops");
    // Subscriber churn first: sockets that subscribe and vanish must not disturb the proxy.
    // (Each lives for a 10 ms poll: the churn itself is what is tested.)
    for _ in 0..20 {
        let s = Sub::connect(&cluster, &[topic::channel("dev").as_bytes(), b""]);
        s.next(Duration::from_millis(10));
    }
    let dev = Sub::connect(&cluster, &[topic::channel("dev").as_bytes()]);
    dev.await_probe();
    alice.send("#devops", "ops only");
    let m = alice.send("#dev", "dev only");
    // Published in this order by one server: a leak of #devops would arrive before `m`.
    let got = dev.until_message(&m);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, Event::Message { message: m });
}

/// Wire level on purpose: the replies' raw bytes are searched for secrets.
#[test]
fn no_reply_ever_carries_a_password_hash_or_another_users_secret() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    let bob = User::signup(&cluster, "bob");
    let bob_token = bob.token();
    let bob_inbox = bob.inbox();
    let wire = RawWire::connect(&cluster);
    for req in [
        Request::ListUsers,
        Request::Whoami,
        Request::ListChannels,
        Request::ListDms,
    ] {
        let frames = wire.send_frames(&[&encode_request(7, Some(alice.token()), req)]);
        let raw = String::from_utf8_lossy(frames.last().expect("frame")).into_owned();
        assert!(!raw.contains("argon2"), "hash leaked: {raw}");
        assert!(
            !raw.contains(&bob_token) && !raw.contains(&bob_inbox[2..34]),
            "bob's secrets leaked"
        );
    }
    assert_eq!(alice.ok(alice.api.users()).len(), 2);
    // The database holds no token in clear either.
    let db = std::fs::read(cluster.data_dir().join("zchat.db")).expect("db");
    let db = String::from_utf8_lossy(&db);
    assert!(!db.contains(&bob_token));
}

#[test]
fn account_rules() {
    let cluster = start();
    let mut zoe = User::connect(&cluster);
    let api = zoe.api.clone();
    assert_eq!(zoe.ok(api.register("Zoe", PASSWORD)), "Zoe");
    zoe.fails(api.register("zoe", PASSWORD), ErrorCode::AlreadyExists);
    zoe.fails(api.register("ZOE", PASSWORD), ErrorCode::AlreadyExists);
    zoe.fails(api.register("9lives", PASSWORD), ErrorCode::InvalidName);
    zoe.fails(api.register("café", PASSWORD), ErrorCode::InvalidName);
    zoe.fails(api.register("short", "1234"), ErrorCode::InvalidPassword);
    zoe.fails(
        api.login("zoe", "wrong password"),
        ErrorCode::WrongCredentials,
    );
    zoe.fails(api.login("nobody", PASSWORD), ErrorCode::WrongCredentials);
    // Repeated failures are slowed down: the 5th wrong attempt waits before it is checked.
    for _ in 0..3 {
        zoe.fails(api.login("zoe", "wrong again"), ErrorCode::WrongCredentials);
    }
    let started = Instant::now();
    zoe.fails(api.login("zoe", "wrong again"), ErrorCode::WrongCredentials);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "no slow-down after failures"
    );
    // Channel rules.
    zoe.login("zoe");
    zoe.fails(api.create_channel("has space", ""), ErrorCode::InvalidName);
    zoe.fails(
        api.create_channel(&"x".repeat(33), ""),
        ErrorCode::InvalidName,
    );
    assert_eq!(zoe.create("#Mixed").name, "mixed");
    zoe.fails(api.create_channel("mixed", ""), ErrorCode::AlreadyExists);
    zoe.fails(
        api.create_channel("ok", &"x".repeat(201)),
        ErrorCode::InvalidText,
    );
}

/// Every kind of garbage gets an error reply with a stable code, and changes nothing.
/// Wire level where the typed API cannot produce the bytes; typed where it can.
#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    alice.create("safe");
    alice.send("#safe", "keep me");
    let wire = RawWire::connect(&cluster);

    let code_of = |r: zchat_protocol::ResponseEnvelope| match r.body {
        Reply::Error { code, message } => {
            assert!(!message.is_empty());
            code
        }
        other => panic!("expected an error, got {other:?}"),
    };
    // Not MessagePack at all.
    assert_eq!(
        code_of(wire.send_raw(b"\xc1\xc1\xc1 garbage")),
        ErrorCode::BadRequest
    );
    assert_eq!(code_of(wire.send_raw(b"")), ErrorCode::BadRequest);
    // Valid MessagePack, wrong shape.
    assert_eq!(
        code_of(wire.send_raw(&rmp_serde::to_vec(&(1, 2, 3)).expect("enc"))),
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
    let r = wire.send_raw(&enc(99, "ping"));
    assert_eq!(r.id, 77);
    assert_eq!(code_of(r), ErrorCode::UnsupportedVersion);
    assert_eq!(
        code_of(wire.send_raw(&enc(1, "drop_tables"))),
        ErrorCode::UnknownRequest
    );
    // Known op, missing fields.
    assert_eq!(
        code_of(wire.send_raw(&enc(1, "send"))),
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
        token: Some(&alice.token()),
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
    assert_eq!(code_of(wire.send_raw(&bad)), ErrorCode::BadRequest);
    // Oversize request.
    let huge = RequestEnvelope::new(
        9,
        Some(alice.token()),
        Request::Send {
            target: Target::Channel("safe".into()),
            text: "x".repeat(100_000),
            nonce: None,
        },
    );
    assert_eq!(
        code_of(wire.send_raw(&codec::encode(&huge).expect("enc"))),
        ErrorCode::TooLarge
    );
    // Oversize text within the frame limit, and terminal escapes.
    let safe = Target::Channel("safe".into());
    for text in ["x".repeat(5000), "\u{1b}]0;pwned\u{7}".into(), "   ".into()] {
        alice.fails(alice.api.send(&safe, &text, None), ErrorCode::InvalidText);
    }
    // Wrong and missing tokens.
    let good = alice.api.token();
    alice.api.set_token(Some("0".repeat(64)));
    alice.fails(alice.api.whoami(), ErrorCode::Unauthorized);
    alice.api.set_token(None);
    alice.fails(alice.api.channels(), ErrorCode::Unauthorized);
    alice.api.set_token(good);
    // Nonexistent things.
    alice.fails(alice.api.join("nope"), ErrorCode::NotFound);
    alice.fails(
        alice.api.send(&Target::User("ghost".into()), "boo", None),
        ErrorCode::NotFound,
    );
    // Extra frames and an empty payload frame: still a reply, routed back.
    let frames = wire.send_frames(&[b"extra", b"frames", b"\x93\x01\x02"]);
    assert!(!frames.is_empty());

    // A message larger than the broker's wire limit: the broker drops that connection, not
    // itself. A fresh connection still works.
    {
        let rogue = RawWire::connect(&cluster);
        let monitor =
            zchat_protocol::net::monitor(&rogue.ctx, &rogue.dealer, "rogue").expect("monitor");
        let blob = vec![0u8; 300 * 1024];
        rogue
            .dealer
            .send_multipart([&b""[..], &blob[..]], 0)
            .expect("send");
        // Wait until the broker has dropped the connection.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                monitor
                    .poll(zmq::POLLIN, left.as_millis() as i64)
                    .expect("poll")
                    > 0,
                "the broker kept a connection that sent {} bytes",
                blob.len()
            );
            let event = monitor.recv_multipart(0).expect("monitor event");
            if zchat_protocol::net::monitor_event(&event)
                == Some(zchat_protocol::net::EVENT_DISCONNECTED)
            {
                break;
            }
        }
    }
    // Nothing changed; everyone is still up.
    let mut fresh = User::connect(&cluster);
    fresh.login("alice");
    let page = fresh.history("#safe", HistoryQuery::latest(10));
    assert_eq!(
        page.messages
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["keep me"]
    );
    fresh.ok(fresh.api.ping());
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
    use std::io::{Read, Write};
    // The hand-made ZMTP peer speaks the NULL mechanism.
    let cluster = start_plaintext();
    let alice = User::signup(&cluster, "alice");
    alice.create("dev");
    let legit = Sub::connect(&cluster, &[topic::channel("dev").as_bytes()]);
    legit.await_probe();
    let mut rogue = raw_zmtp_sub(&cluster.proxy_endpoint());
    let frame = |body: &[u8]| {
        let mut frame = vec![0x00, body.len() as u8];
        frame.extend(body);
        frame
    };
    for _ in 0..5 {
        rogue.write_all(&frame(b"\x00c/dev/")).expect("unsubscribe");
    }
    // Then a real subscription: the proxy handles one peer's messages in order, so once a
    // publication reaches the rogue, its unsubscribes have all been processed.
    rogue.write_all(&frame(b"\x01c/dev/")).expect("subscribe");
    rogue
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let deadline = Instant::now() + TIMEOUT;
    let mut byte = [0u8; 1];
    loop {
        assert!(
            Instant::now() < deadline,
            "the rogue's subscription never took effect"
        );
        alice.send("#dev", "probe");
        if rogue.read(&mut byte).is_ok_and(|n| n == 1) {
            break;
        }
    }
    let m = alice.send("#dev", "still flowing");
    let got = legit.until_message(&m);
    assert!(
        got.iter()
            .any(|(_, e)| *e == Event::Message { message: m.clone() }),
        "the legitimate subscriber was silenced: {got:?}"
    );
}

#[test]
fn parallel_wrong_guesses_are_throttled_and_the_owner_is_never_locked_out() {
    let cluster = start();
    let _zoe = User::signup(&cluster, "zoe");
    // Three wrong guesses first, one at a time (they use up the free attempts), so every
    // parallel guess admitted below waits at least 250 ms before it is checked: the first
    // four are surely still in progress when the last two arrive, however slow the machine.
    for i in 0..3 {
        let guesser = User::connect(&cluster);
        let code = guesser
            .run(guesser.api.login("zoe", &format!("early guess {i}")))
            .err()
            .and_then(|e| e.code());
        assert_eq!(code, Some(ErrorCode::WrongCredentials));
    }
    let started = Instant::now();
    let guesses: Vec<_> = (0..6)
        .map(|i| {
            let guesser = User::connect(&cluster);
            std::thread::spawn(move || {
                match guesser.run(guesser.api.login("zoe", &format!("guess {i}"))) {
                    Err(e) => e
                        .code()
                        .unwrap_or_else(|| panic!("not a server error: {e}")),
                    Ok(session) => panic!("a wrong guess logged in: {session:?}"),
                }
            })
        })
        .collect();
    let mut codes: Vec<ErrorCode> = guesses
        .into_iter()
        .map(|g| g.join().expect("guess"))
        .collect();
    codes.sort_by_key(|c| c.as_str());
    // At most 4 attempts per name run at once; each admitted one waits 250 ms or more.
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
    let mut owner = User::connect(&cluster);
    assert_eq!(owner.login("zoe").user, "zoe");
}
