//! Every request, reply and event survives encode → decode unchanged, and garbage is
//! classified, never accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use zchat_protocol::codec::{decode, decode_request, encode};
use zchat_protocol::*;

fn msg(target: &str, seq: u64) -> Message {
    Message {
        target: Target::parse(target).expect("target"),
        seq,
        ts: 1_700_000_000_000,
        from: "alice".into(),
        text: "olá 世界 🎉\nsecond line".into(),
    }
}

fn channel() -> ChannelInfo {
    ChannelInfo {
        name: "dev".into(),
        description: "Développement".into(),
        members: 3,
        last_seq: 10,
        joined: true,
        read_seq: 7,
        unread: 2,
    }
}

#[test]
fn every_request_round_trips() {
    let t = Target::parse("#dev").expect("t");
    let requests = vec![
        Request::Ping,
        Request::Register {
            user: "alice".into(),
            password: "pässwörd🔑".into(),
        },
        Request::Login {
            user: "alice".into(),
            password: "x".into(),
        },
        Request::Logout,
        Request::Whoami,
        Request::ListUsers,
        Request::ListChannels,
        Request::CreateChannel {
            channel: "dev".into(),
            description: "d".into(),
        },
        Request::JoinChannel {
            channel: "dev".into(),
        },
        Request::LeaveChannel {
            channel: "dev".into(),
        },
        Request::Send {
            target: t.clone(),
            text: "hi".into(),
            nonce: Some(u64::MAX),
        },
        Request::Send {
            target: Target::parse("@bob").expect("t"),
            text: "hi".into(),
            nonce: None,
        },
        Request::History {
            target: t.clone(),
            after: Some(3),
            before: None,
            limit: Some(20),
        },
        Request::ListDms,
        Request::MarkRead { target: t, seq: 9 },
    ];
    assert_eq!(requests.len(), Request::OPS.len() + 1);
    for r in requests {
        let env = RequestEnvelope::new(42, Some("tok".into()), r.clone());
        let bytes = encode(&env).expect("encode");
        assert_eq!(decode_request(&bytes).expect("decode"), env, "{}", r.op());
        assert!(Request::OPS.contains(&r.op()));
    }
}

#[test]
fn every_reply_and_event_round_trips() {
    let replies = vec![
        Reply::Pong { server_time: 1 },
        Reply::Registered {
            user: "alice".into(),
        },
        Reply::Session {
            user: "alice".into(),
            token: "t".into(),
            inbox: "i/x/".into(),
            expires_at: 5,
        },
        Reply::Me {
            user: "a".into(),
            inbox: "i".into(),
            expires_at: 1,
            channels: vec![channel()],
        },
        Reply::Done,
        Reply::Users {
            users: vec![UserInfo {
                name: "a".into(),
                created_at: 1,
            }],
        },
        Reply::Channels {
            channels: vec![channel()],
        },
        Reply::Channel { channel: channel() },
        Reply::Sent {
            message: msg("#dev", 1),
        },
        Reply::History {
            target: Target::Channel("dev".into()),
            messages: vec![msg("#dev", 1), msg("#dev", 2)],
            has_more: true,
        },
        Reply::Dms {
            conversations: vec![DmSummary {
                peer: "bob".into(),
                last: Some(msg("@bob", 4)),
                last_seq: 4,
                read_seq: 1,
                unread: 3,
            }],
        },
        Reply::Marked {
            target: Target::User("bob".into()),
            seq: 3,
        },
        Reply::error(ErrorCode::NotFound, "no such channel"),
    ];
    for r in replies {
        let env = ResponseEnvelope::new(7, r);
        let back: ResponseEnvelope = decode(&encode(&env).expect("encode")).expect("decode");
        assert_eq!(back, env);
    }
    for e in [
        Event::Message {
            message: msg("@bob", 2),
        },
        Event::ReadMarker {
            target: Target::Channel("dev".into()),
            seq: 4,
        },
        Event::Probe { value: 1 },
    ] {
        let env = EventEnvelope::new(e);
        let back: EventEnvelope = decode(&encode(&env).expect("encode")).expect("decode");
        assert_eq!(back, env);
    }
}

#[test]
fn the_wire_uses_named_fields_and_tags() {
    let env = RequestEnvelope::new(
        1,
        None,
        Request::JoinChannel {
            channel: "dev".into(),
        },
    );
    let value: serde_json::Value = rmp_serde::from_slice(&encode(&env).expect("enc")).expect("dec");
    assert_eq!(
        value,
        serde_json::json!({"v": 1, "id": 1, "token": null, "body": {"op": "join_channel", "channel": "dev"}})
    );
}

#[test]
fn garbage_is_classified() {
    let code = |b: &[u8]| decode_request(b).expect_err("must fail").code;
    assert_eq!(code(b""), ErrorCode::BadRequest);
    assert_eq!(code(b"\xff\xff"), ErrorCode::BadRequest);
    assert_eq!(
        code(&vec![0x90; MAX_REQUEST_BYTES + 1]),
        ErrorCode::TooLarge
    );
    let no_v = rmp_serde::to_vec_named(&serde_json::json!({"id": 3, "body": {"op": "ping"}}))
        .expect("enc");
    assert_eq!(code(&no_v), ErrorCode::BadRequest);
    let unknown =
        rmp_serde::to_vec_named(&serde_json::json!({"v": 1, "id": 3, "body": {"op": "nuke"}}))
            .expect("enc");
    let err = decode_request(&unknown).expect_err("unknown");
    assert_eq!((err.code, err.id), (ErrorCode::UnknownRequest, 3));
    let bad_target = rmp_serde::to_vec_named(
        &serde_json::json!({"v": 1, "id": 3, "body": {"op": "send", "target": "dev", "text": "x"}}),
    )
    .expect("enc");
    assert_eq!(code(&bad_target), ErrorCode::InvalidName);
    let bad_channel = rmp_serde::to_vec_named(
        &serde_json::json!({"v": 1, "id": 3, "body": {"op": "history", "target": "#a/b"}}),
    )
    .expect("enc");
    assert_eq!(code(&bad_channel), ErrorCode::InvalidName);
    // Optional fields may be omitted entirely.
    let minimal = rmp_serde::to_vec_named(
        &serde_json::json!({"v": 1, "id": 3, "body": {"op": "history", "target": "@Bob"}}),
    )
    .expect("enc");
    assert!(matches!(
        decode_request(&minimal).expect("ok").body,
        Request::History { limit: None, .. }
    ));
    // Unknown error codes from a newer server don't break an older client.
    let reply = rmp_serde::to_vec_named(&serde_json::json!({"v": 1, "id": 1, "body": {"kind": "error", "code": "brand_new", "message": "m"}})).expect("enc");
    let env: ResponseEnvelope = decode(&reply).expect("decode");
    assert_eq!(env.body, Reply::error(ErrorCode::Unknown, "m"));
}
