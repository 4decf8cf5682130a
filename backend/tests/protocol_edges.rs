//! Protocol edges found by a client written from PROTOCOL.md alone (issue 10), through the
//! real binaries. Subscriptions are known to be live by the proxy's `probe` event (§5.2),
//! never by sleeping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use common::*;
use serde_json::{json, Value};
use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_protocol::{
    codec, topic, ErrorCode, Event, Message, Reply, Request, ResponseEnvelope, Target,
    MAX_REQUEST_BYTES,
};

/// MessagePack of a JSON value; `null` is written as an explicit `nil`.
fn pack(v: &Value) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("encode")
}

/// A signed-in user seen from the wire: the typed client signs up and posts, and requests
/// under test go out as exact bytes on a [`RawWire`] whose reply is checked as it arrives
/// (its id, its kind, its fields) — which is what these protocol-edge tests are about.
struct Wire {
    user: User,
    wire: RawWire,
    next_id: u64,
}

impl Wire {
    fn signup(cluster: &Cluster, name: &str) -> Wire {
        Wire {
            user: User::signup(cluster, name),
            wire: RawWire::connect(cluster),
            next_id: 1,
        }
    }

    fn token(&self) -> String {
        self.user.token()
    }

    /// One request with this session's token; the reply must carry the request's id.
    fn call(&mut self, request: Request) -> Reply {
        let id = self.next_id;
        self.next_id += 1;
        let resp = self
            .wire
            .send_raw(&encode_request(id, Some(self.token()), request));
        assert_eq!(resp.id, id, "response id matches request id");
        resp.body
    }

    fn expect_error(&mut self, request: Request, code: ErrorCode) -> String {
        match self.call(request) {
            Reply::Error { code: c, message } => {
                assert_eq!(c, code, "unexpected error code ({message})");
                message
            }
            other => panic!("expected error {code}, got {other:?}"),
        }
    }

    fn send(&self, target: &str, text: &str) -> Message {
        self.user.send(target, text)
    }

    fn history(
        &self,
        target: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: u32,
    ) -> (Vec<Message>, bool) {
        let query = HistoryQuery {
            after,
            before,
            limit: Some(limit),
        };
        let page = self.user.history(target, query);
        (page.messages, page.has_more)
    }

    fn create(&self, channel: &str) {
        self.user.create(channel);
    }

    fn join(&self, channel: &str) {
        self.user.join(channel);
    }

    fn send_raw(&self, payload: &[u8]) -> ResponseEnvelope {
        self.wire.send_raw(payload)
    }

    fn send_frames(&self, frames: &[&[u8]]) -> Vec<Vec<u8>> {
        self.wire.send_frames(frames)
    }
}

/// Sends a hand-built envelope `{v: 1, id, token, body}` and returns the response.
fn raw_call(raw: &Wire, id: u64, body: Value) -> ResponseEnvelope {
    raw.send_raw(&pack(
        &json!({"v": 1, "id": id, "token": raw.token(), "body": body}),
    ))
}

fn error_code(reply: &Reply) -> ErrorCode {
    match reply {
        Reply::Error { code, .. } => *code,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn target(s: &str) -> Target {
    Target::parse(s).expect("target")
}

/// A SUB socket subscribed to `topics` and to the session's inbox, returned once a probe
/// proved all of that live.
fn live_sub(raw: &Wire, cluster: &Cluster, topics: &[String]) -> Sub {
    let inbox = raw.user.inbox();
    let mut all: Vec<&[u8]> = topics.iter().map(std::string::String::as_bytes).collect();
    all.push(inbox.as_bytes());
    let sub = Sub::connect(cluster, &all);
    sub.await_probe();
    sub
}

fn next_message(sub: &Sub) -> Message {
    match sub.next(TIMEOUT) {
        Some((_, Event::Message { message })) => message,
        other => panic!("expected a message event, got {other:?}"),
    }
}

// ----- 1. optional fields ---------------------------------------------------------------

#[test]
fn nil_optional_fields_are_accepted_like_absent_ones() {
    let cluster = start();
    let alice = Wire::signup(&cluster, "alice");
    // create_channel with an explicit nil description (the report).
    let r = raw_call(
        &alice,
        11,
        json!({"op": "create_channel", "channel": "dev", "description": null}),
    );
    assert_eq!(r.id, 11);
    match r.body {
        Reply::Channel { channel } => assert_eq!(channel.description, ""),
        other => panic!("create_channel with nil description: {other:?}"),
    }
    let r = raw_call(
        &alice,
        12,
        json!({"op": "create_channel", "channel": "ops"}),
    );
    assert!(matches!(r.body, Reply::Channel { .. }), "{:?}", r.body);
    // send with a nil nonce, history with nil after/before/limit.
    let r = raw_call(
        &alice,
        13,
        json!({"op": "send", "target": "#dev", "text": "hi", "nonce": null}),
    );
    assert!(matches!(r.body, Reply::Sent { .. }), "{:?}", r.body);
    let r = raw_call(
        &alice,
        14,
        json!({"op": "history", "target": "#dev", "after": null, "before": null, "limit": null}),
    );
    match r.body {
        Reply::History { messages, .. } => assert_eq!(messages.len(), 1),
        other => panic!("history with nil bounds: {other:?}"),
    }
    // A nil token on a request that needs none.
    let r = alice.send_raw(&pack(
        &json!({"v": 1, "id": 15, "token": null, "body": {"op": "ping"}}),
    ));
    assert!(matches!(r.body, Reply::Pong { .. }));
}

// ----- 2. ids of refused requests, typed invalid_name -----------------------------------

#[test]
fn refused_requests_are_answered_with_their_id() {
    let cluster = start();
    let alice = Wire::signup(&cluster, "alice");
    alice.create("dev");
    // Over the server's request limit, under the sockets' frame limit: too_large, id kept.
    let text = "x".repeat(MAX_REQUEST_BYTES + 1);
    let r = raw_call(
        &alice,
        21,
        json!({"op": "send", "target": "#dev", "text": text}),
    );
    assert_eq!((r.id, error_code(&r.body)), (21, ErrorCode::TooLarge));
    let r = alice.send_raw(&pack(&json!({"v": 3, "id": 22, "body": {"op": "ping"}})));
    assert_eq!(
        (r.id, error_code(&r.body)),
        (22, ErrorCode::UnsupportedVersion)
    );
    let r = raw_call(
        &alice,
        23,
        json!({"op": "send", "target": "dev", "text": "hi"}),
    );
    assert_eq!((r.id, error_code(&r.body)), (23, ErrorCode::InvalidName));
    let r = raw_call(
        &alice,
        24,
        json!({"op": "history", "target": "#dev", "after": "invalid target"}),
    );
    assert_eq!((r.id, error_code(&r.body)), (24, ErrorCode::BadRequest));
    let r = raw_call(&alice, 25, json!({"op": "self_destruct"}));
    assert_eq!((r.id, error_code(&r.body)), (25, ErrorCode::UnknownRequest));
    // Unreadable: id 0.
    let r = alice.send_raw(b"\xc1 not msgpack");
    assert_eq!((r.id, error_code(&r.body)), (0, ErrorCode::BadRequest));
}

#[test]
fn deeply_nested_frames_are_refused_and_the_server_survives() {
    let cluster = start();
    let alice = Wire::signup(&cluster, "alice");
    // {"id": 41, "x": [[[[…]]]]}: refused at the depth bound, with the id, nothing crashes.
    for len in [5_000, 60_000] {
        let mut deep = vec![0x82, 0xa2, b'i', b'd', 41, 0xa1, b'x'];
        deep.extend_from_slice(&vec![0x91; len]);
        let r = alice.send_raw(&deep);
        assert_eq!((r.id, error_code(&r.body)), (41, ErrorCode::BadRequest));
    }
    assert!(matches!(
        raw_call(&alice, 42, json!({"op": "ping"})).body,
        Reply::Pong { .. }
    ));
}

#[test]
fn the_wire_limit_is_per_frame_and_the_request_limit_is_the_payload_frame() {
    let cluster = start();
    let alice = Wire::signup(&cluster, "alice");
    // Three frames adding up to more than 262,144 bytes, each under it: delivered, and the
    // last one (the payload) is answered; the frames before it come back as the envelope.
    let filler = vec![b'f'; 200 * 1024];
    let payload = pack(&json!({"v": 1, "id": 31, "body": {"op": "ping"}}));
    let frames = alice.send_frames(&[&filler, &filler, &payload]);
    assert_eq!(
        frames.len(),
        4,
        "delimiter, the two filler frames, the reply"
    );
    assert_eq!(frames[1].len(), filler.len());
    let r: ResponseEnvelope = codec::decode(frames.last().expect("reply")).expect("decode");
    assert_eq!(r.id, 31);
    assert!(matches!(r.body, Reply::Pong { .. }));
}

// ----- 3. text rules --------------------------------------------------------------------

#[test]
fn the_server_refuses_bidi_controls_invisible_text_and_separators() {
    let cluster = start();
    let mut alice = Wire::signup(&cluster, "alice");
    alice.create("dev");
    for bad in [
        "\u{202E}gnp.exe",
        "\u{200B}\u{200B}",
        "\u{2060}\u{FEFF}",
        "one\u{2028}two",
        "one\u{2029}two",
        "left\u{2066}isolate",
    ] {
        alice.expect_error(
            Request::Send {
                target: target("#dev"),
                text: bad.into(),
                nonce: None,
            },
            ErrorCode::InvalidText,
        );
    }
    for bad in ["\u{202E}", "\u{200B}", "two\nlines"] {
        alice.expect_error(
            Request::CreateChannel {
                channel: "other".into(),
                description: bad.into(),
            },
            ErrorCode::InvalidText,
        );
    }
    // Emoji ZWJ sequences and variation selectors stay allowed.
    for ok in ["👨\u{200D}👩\u{200D}👧", "❤\u{FE0F} ok", "a\u{200B}b"] {
        assert_eq!(alice.send("#dev", ok).text, ok);
    }
    match alice.call(Request::CreateChannel {
        channel: "family".into(),
        description: "👨\u{200D}👩\u{200D}👧 ❤\u{FE0F}".into(),
    }) {
        Reply::Channel { channel } => {
            assert_eq!(channel.description, "👨\u{200D}👩\u{200D}👧 ❤\u{FE0F}");
        }
        other => panic!("{other:?}"),
    }
}

// ----- 4. canonical spelling ------------------------------------------------------------

#[test]
fn user_targets_come_back_in_the_registered_spelling() {
    let cluster = start();
    let mut alice = Wire::signup(&cluster, "alice");
    let bob = Wire::signup(&cluster, "Bob");
    let sub = live_sub(&alice, &cluster, &[]);

    let sent = alice.send("@BOB", "hi");
    assert_eq!(sent.target, target("@Bob"));
    assert_eq!(next_message(&sub), sent);
    bob.send("@ALICE", "hello");
    assert_eq!(next_message(&sub).target, target("@alice"));

    match alice.call(Request::History {
        target: target("@bOB"),
        after: None,
        before: None,
        limit: None,
    }) {
        Reply::History {
            target: t,
            messages,
            ..
        } => {
            assert_eq!(t, target("@Bob"));
            assert_eq!(messages.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    match alice.call(Request::MarkRead {
        target: target("@BOB"),
        seq: 2,
    }) {
        Reply::Marked { target: t, seq } => assert_eq!((t, seq), (target("@Bob"), 2)),
        other => panic!("{other:?}"),
    }
    match sub.next(TIMEOUT) {
        Some((_, Event::ReadMarker { target: t, seq })) => {
            assert_eq!((t, seq), (target("@Bob"), 2));
        }
        other => panic!("expected the read marker, got {other:?}"),
    }
    // Channels come back folded to lower case, and so does a conversation that is empty.
    alice.create("Dev");
    match alice.call(Request::History {
        target: target("#DEV"),
        after: None,
        before: None,
        limit: None,
    }) {
        Reply::History { target: t, .. } => assert_eq!(t, target("#dev")),
        other => panic!("{other:?}"),
    }
    let _carol = Wire::signup(&cluster, "Carol");
    match alice.call(Request::MarkRead {
        target: target("@CAROL"),
        seq: 5,
    }) {
        Reply::Marked { target: t, seq } => assert_eq!((t, seq), (target("@Carol"), 0)),
        other => panic!("{other:?}"),
    }
    match alice.call(Request::History {
        target: target("@carol"),
        after: None,
        before: None,
        limit: None,
    }) {
        Reply::History {
            target: t,
            messages,
            has_more,
        } => assert_eq!((t, messages.len(), has_more), (target("@Carol"), 0, false)),
        other => panic!("{other:?}"),
    }
}

// ----- 5. documented semantics, and the fixes among them --------------------------------

#[test]
fn history_with_after_and_before_is_a_range() {
    let cluster = start();
    let alice = Wire::signup(&cluster, "alice");
    alice.create("log");
    for i in 1..=10 {
        alice.send("#log", &format!("line {i}"));
    }
    let seqs = |m: Vec<Message>| m.into_iter().map(|m| m.seq).collect::<Vec<_>>();
    // Both: after < seq < before, the first `limit` of them; has_more = more in the range.
    let (page, more) = alice.history("#log", Some(2), Some(8), 3);
    assert_eq!((seqs(page), more), (vec![3, 4, 5], true));
    let (page, more) = alice.history("#log", Some(5), Some(8), 3);
    assert_eq!((seqs(page), more), (vec![6, 7], false));
    let (page, more) = alice.history("#log", Some(2), Some(8), 50);
    assert_eq!((seqs(page), more), (vec![3, 4, 5, 6, 7], false));
    let (page, more) = alice.history("#log", Some(7), Some(8), 5);
    assert_eq!((seqs(page), more), (vec![], false));
    let (page, more) = alice.history("#log", Some(8), Some(3), 5);
    assert_eq!((seqs(page), more), (vec![], false), "an empty range");
    // Either alone, and neither, as before.
    let (page, more) = alice.history("#log", Some(7), None, 2);
    assert_eq!((seqs(page), more), (vec![8, 9], true));
    let (page, more) = alice.history("#log", None, Some(4), 2);
    assert_eq!((seqs(page), more), (vec![2, 3], true));
    let (page, more) = alice.history("#log", None, Some(3), 2);
    assert_eq!((seqs(page), more), (vec![1, 2], false));
    let (page, more) = alice.history("#log", None, None, 3);
    assert_eq!((seqs(page), more), (vec![8, 9, 10], true));
    let (page, more) = alice.history("#log", None, None, 10);
    assert_eq!((seqs(page), more), ((1..=10).collect::<Vec<_>>(), false));
}

#[test]
fn not_found_and_forbidden_cases_give_the_documented_codes() {
    let cluster = start();
    let mut alice = Wire::signup(&cluster, "alice");
    let _bob = Wire::signup(&cluster, "bob");
    let carol = Wire::signup(&cluster, "carol");
    carol.create("closed");
    let h = |t: &str| Request::History {
        target: target(t),
        after: None,
        before: None,
        limit: None,
    };
    let mark = |t: &str| Request::MarkRead {
        target: target(t),
        seq: 1,
    };
    let send = |t: &str| Request::Send {
        target: target(t),
        text: "x".into(),
        nonce: None,
    };
    for (request, code) in [
        (
            Request::JoinChannel {
                channel: "nope".into(),
            },
            ErrorCode::NotFound,
        ),
        (
            Request::LeaveChannel {
                channel: "nope".into(),
            },
            ErrorCode::NotFound,
        ),
        (h("#nope"), ErrorCode::NotFound),
        (h("@ghost"), ErrorCode::NotFound),
        (mark("#nope"), ErrorCode::NotFound),
        (mark("@ghost"), ErrorCode::NotFound),
        (mark("#closed"), ErrorCode::Forbidden),
        (send("#nope"), ErrorCode::NotFound),
        (send("@ghost"), ErrorCode::NotFound),
        (send("#closed"), ErrorCode::Forbidden),
        (
            Request::CreateChannel {
                channel: "closed".into(),
                description: String::new(),
            },
            ErrorCode::AlreadyExists,
        ),
    ] {
        alice.expect_error(request, code);
    }
    // An existing user with whom there is no conversation yet: an empty page, not an error.
    match alice.call(h("@bob")) {
        Reply::History {
            messages, has_more, ..
        } => assert!(messages.is_empty() && !has_more),
        other => panic!("{other:?}"),
    }
    // Leaving a channel one is not in is fine (idempotent).
    match alice.call(Request::LeaveChannel {
        channel: "closed".into(),
    }) {
        Reply::Channel { channel } => assert!(!channel.joined),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deduplicated_retry_is_stored_once_and_published_again_as_the_same_message() {
    let cluster = start();
    let mut alice = Wire::signup(&cluster, "alice");
    let bob = Wire::signup(&cluster, "bob");
    alice.create("dup");
    let sub = live_sub(&alice, &cluster, &[topic::channel("dup")]);
    let chan = |nonce| Request::Send {
        target: target("#dup"),
        text: "once".into(),
        nonce: Some(nonce),
    };
    let dm = |nonce| Request::Send {
        target: target("@bob"),
        text: "once".into(),
        nonce: Some(nonce),
    };
    let first = alice.call(chan(7));
    let first_dm = alice.call(dm(8));
    for _ in 0..3 {
        assert_eq!(alice.call(chan(7)), first, "the retry returns the original");
        assert_eq!(alice.call(dm(8)), first_dm);
    }
    let (Reply::Sent { message: chan_msg }, Reply::Sent { message: dm_msg }) = (&first, &first_dm)
    else {
        panic!("{first:?} {first_dm:?}");
    };
    // Each retry publishes the original again (its first publication may have been lost
    // with a crashed server): the very same message, same seq, which subscribers drop as a
    // copy. Nothing new is stored.
    for round in 0..4 {
        assert_eq!(&next_message(&sub), chan_msg, "round {round}");
        assert_eq!(&next_message(&sub), dm_msg, "round {round}");
    }
    let after = alice.send("#dup", "after the retries");
    assert_eq!(next_message(&sub), after);
    assert_eq!(after.seq, chan_msg.seq + 1, "the retries stored nothing");
    let (msgs, _) = bob.history("@alice", None, None, 10);
    assert_eq!(msgs.len(), 1);
}

#[test]
fn a_mark_read_that_does_not_move_the_marker_publishes_nothing() {
    let cluster = start();
    let mut alice = Wire::signup(&cluster, "alice");
    let bob = Wire::signup(&cluster, "bob");
    bob.send("@alice", "one");
    bob.send("@alice", "two");
    alice.create("dev");
    let sub = live_sub(&alice, &cluster, &[]);
    let mark = |t: &str, seq| Request::MarkRead {
        target: target(t),
        seq,
    };
    assert_eq!(
        alice.call(mark("@bob", 2)),
        Reply::Marked {
            target: target("@bob"),
            seq: 2
        }
    );
    assert_eq!(
        sub.next(TIMEOUT).map(|(_, e)| e),
        Some(Event::ReadMarker {
            target: target("@bob"),
            seq: 2
        })
    );
    // Backwards, equal, past the end (clamped to where it is): none of them moves it.
    for seq in [1, 2, 99] {
        assert_eq!(
            alice.call(mark("@bob", seq)),
            Reply::Marked {
                target: target("@bob"),
                seq: 2
            }
        );
    }
    // The creator's marker is at the (empty) channel's end already.
    assert_eq!(
        alice.call(mark("#dev", 5)),
        Reply::Marked {
            target: target("#dev"),
            seq: 0
        }
    );
    // None of those published: the next event is the one published after them.
    bob.send("@alice", "three");
    assert_eq!(next_message(&sub).text, "three");
}

#[test]
fn a_dm_to_yourself_arrives_once() {
    let cluster = start();
    let alice = Wire::signup(&cluster, "alice");
    let sub = live_sub(&alice, &cluster, &[]);
    let sent = alice.send("@ALICE", "note to self");
    assert_eq!(sent.target, target("@alice"));
    assert_eq!(next_message(&sub), sent);
    // Once: the next event is the next message.
    let second = alice.send("@alice", "second note");
    assert_eq!(next_message(&sub), second);
    let (msgs, _) = alice.history("@alice", None, None, 10);
    assert_eq!(msgs, vec![sent, second], "each stored once");
}

// ----- 7. probe ---------------------------------------------------------------------------

#[test]
fn a_probe_proves_earlier_subscriptions_live_and_reaches_only_its_subscriber() {
    let cluster = start();
    let alice = Wire::signup(&cluster, "alice");
    let bob = Wire::signup(&cluster, "bob");
    alice.create("dev");
    bob.join("dev");
    // No sleep: the channel subscription was sent before the probe topic, so the probe's
    // arrival proves it live, and the very next channel message is received.
    let sub = live_sub(&bob, &cluster, &[topic::channel("dev")]);
    let m = alice.send("#dev", "first");
    assert_eq!(next_message(&sub), m);

    // A subscription added later is proved by a later probe.
    alice.create("ops");
    bob.join("ops");
    sub.socket
        .set_subscribe(topic::channel("ops").as_bytes())
        .expect("subscribe");
    sub.await_probe();
    let m = alice.send("#ops", "second");
    assert_eq!(next_message(&sub), m);

    // Another subscriber does not see this one's probes: its next event is a real message.
    let mut bob2 = Wire {
        user: User::connect(&cluster),
        wire: RawWire::connect(&cluster),
        next_id: 1,
    };
    bob2.user.login("bob");
    let sub2 = live_sub(&bob2, &cluster, &[topic::channel("dev")]);
    sub.await_probe();
    let m = alice.send("#dev", "third");
    assert_eq!(next_message(&sub2), m);
    assert_eq!(next_message(&sub), m);

    // There is no `probe` request.
    let anon = RawWire::connect(&cluster);
    let r = anon.send_raw(&pack(
        &json!({"v": 1, "id": 9, "body": {"op": "probe", "value": 1}}),
    ));
    assert_eq!((r.id, error_code(&r.body)), (9, ErrorCode::UnknownRequest));
}
