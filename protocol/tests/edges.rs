//! Protocol edges found by a client written from PROTOCOL.md alone (issue 10): optional
//! fields given as `nil`, ids of refused requests, error codes from error types, and the
//! Unicode text rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use serde_json::{json, Value};
use zchat_protocol::codec::{decode_request, read_request_id};
use zchat_protocol::validate::{self, ValidationError};
use zchat_protocol::*;

/// MessagePack of a JSON value: maps keyed by strings, `null` as MessagePack `nil` (0xc0).
fn pack(v: &Value) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("encode")
}

fn request(id: u64, body: Value) -> Value {
    json!({"v": 1, "id": id, "token": "t", "body": body})
}

fn decoded(bytes: &[u8]) -> RequestEnvelope {
    decode_request(bytes).unwrap_or_else(|e| panic!("refused: {e}"))
}

#[test]
fn every_optional_field_accepts_nil_and_absence_alike() {
    // (body with every optional field absent, the optional fields' names)
    let cases = [
        (
            json!({"op": "create_channel", "channel": "dev"}),
            &["description"][..],
        ),
        (
            json!({"op": "send", "target": "#dev", "text": "hi"}),
            &["nonce"][..],
        ),
        (
            json!({"op": "history", "target": "@Bob"}),
            &["after", "before", "limit"][..],
        ),
    ];
    for (absent, optional) in cases {
        let want = decoded(&pack(&request(9, absent.clone())));
        // Each optional field alone as nil, then all of them as nil at once.
        let mut all = absent.clone();
        for field in optional {
            all[field] = Value::Null;
            let mut one = absent.clone();
            one[field] = Value::Null;
            let bytes = pack(&request(9, one));
            assert!(bytes.contains(&0xc0), "the frame carries an explicit nil");
            assert_eq!(decoded(&bytes), want, "{field}: nil must read like absent");
        }
        assert_eq!(decoded(&pack(&request(9, all))), want);
    }
    // The envelope's optional token, too.
    let env = decoded(&pack(
        &json!({"v": 1, "id": 4, "token": null, "body": {"op": "ping"}}),
    ));
    assert_eq!(env.token, None);
    let env = decoded(&pack(&json!({"v": 1, "id": 4, "body": {"op": "ping"}})));
    assert_eq!(env.token, None);
    // nil description is the empty description.
    let env = decoded(&pack(&request(
        1,
        json!({"op": "create_channel", "channel": "dev", "description": null}),
    )));
    assert_eq!(
        env.body,
        Request::CreateChannel {
            channel: "dev".into(),
            description: String::new()
        }
    );
    // Required fields stay required: nil there is a bad request.
    let err = decode_request(&pack(&request(
        2,
        json!({"op": "send", "target": "#dev", "text": null}),
    )))
    .expect_err("text is required");
    assert_eq!((err.code, err.id), (ErrorCode::BadRequest, 2));
}

#[test]
fn refused_requests_are_answered_with_their_id_when_it_can_be_read() {
    let big = "x".repeat(MAX_REQUEST_BYTES + 10);
    let refused = |v: &Value| decode_request(&pack(v)).expect_err("refused");

    // too_large: the id is read anyway, before or after the oversized field.
    let e = refused(&request(
        77,
        json!({"op": "send", "target": "#dev", "text": big}),
    ));
    assert_eq!((e.code, e.id), (ErrorCode::TooLarge, 77));
    let e =
        refused(&json!({"body": {"op": "send", "target": "#dev", "text": big}, "v": 1, "id": 78}));
    assert_eq!((e.code, e.id), (ErrorCode::TooLarge, 78));
    // Oversized garbage has no id to read.
    let e = decode_request(&vec![0xc1; MAX_REQUEST_BYTES + 1]).expect_err("garbage");
    assert_eq!((e.code, e.id), (ErrorCode::TooLarge, 0));

    // Readable envelope, refused for another reason: the id comes back.
    let e = refused(&json!({"v": 2, "id": 5, "body": {"op": "ping"}}));
    assert_eq!((e.code, e.id), (ErrorCode::UnsupportedVersion, 5));
    let e = refused(&json!({"v": 70000, "id": 5, "body": {"op": "ping"}}));
    assert_eq!((e.code, e.id), (ErrorCode::UnsupportedVersion, 5));
    let e = refused(&json!({"id": 6, "v": "one", "body": {"op": "ping"}}));
    assert_eq!((e.code, e.id), (ErrorCode::BadRequest, 6));
    let e = refused(&json!({"v": 1, "id": 7}));
    assert_eq!((e.code, e.id), (ErrorCode::BadRequest, 7));
    let e = refused(&json!({"v": 1, "id": 8, "body": {"op": "nuke"}}));
    assert_eq!((e.code, e.id), (ErrorCode::UnknownRequest, 8));

    // A frame cut short after its id: not MessagePack any more, id still readable.
    let whole = pack(&json!({"id": 9, "v": 1, "body": {"op": "ping"}}));
    let e = decode_request(&whole[..whole.len() - 3]).expect_err("truncated");
    assert_eq!((e.code, e.id), (ErrorCode::BadRequest, 9));

    // The lenient reader itself: any key types before `id`, an unreadable id is 0.
    assert_eq!(
        read_request_id(&pack(&json!({"a": [1, {"b": null}], "id": 11}))),
        11
    );
    assert_eq!(read_request_id(&pack(&json!({"id": -1}))), 0);
    assert_eq!(read_request_id(&pack(&json!({"id": "12"}))), 0);
    assert_eq!(read_request_id(&pack(&json!([1, 2]))), 0);
    assert_eq!(read_request_id(b""), 0);
    let mut map_with_int_key = vec![0x82, 0x01, 0x02, 0xa2, b'i', b'd', 0x0d];
    assert_eq!(read_request_id(&map_with_int_key), 13);
    map_with_int_key.truncate(3);
    assert_eq!(read_request_id(&map_with_int_key), 0);
    // `id` first, then bytes that are not MessagePack at all (0xc1 is never used).
    let mut id_then_garbage = vec![0x83, 0xa2, b'i', b'd', 0xcd, 0x01, 0x00];
    id_then_garbage.extend([0xc1; 100]);
    assert_eq!(read_request_id(&id_then_garbage), 256);
    let e = decode_request(&id_then_garbage).expect_err("garbage");
    assert_eq!((e.code, e.id), (ErrorCode::BadRequest, 256));
    // Deeply nested arrays, under and over the request limit, before and after the id:
    // refused without overflowing the stack (the decoder's depth is bounded).
    for len in [2_000, 60_000, 250_000] {
        let mut deep = vec![0x82, 0xa1, b'x'];
        deep.extend_from_slice(&vec![0x91; len]);
        let e = decode_request(&deep).expect_err("deep");
        assert_eq!(e.id, 0);
        let mut id_first = vec![0x82, 0xa2, b'i', b'd', 0x05, 0xa1, b'x'];
        id_first.extend_from_slice(&vec![0x91; len]);
        let e = decode_request(&id_first).expect_err("deep");
        assert_eq!(e.id, 5);
        let code = if len > MAX_REQUEST_BYTES {
            ErrorCode::TooLarge
        } else {
            ErrorCode::BadRequest
        };
        assert_eq!(e.code, code);
    }
    // Legitimate nesting is far below the bound.
    let nested = json!({"v": 1, "id": 1, "body": {"op": "ping", "extra": [[[[{"a": [1]}]]]]}});
    assert_eq!(decoded(&pack(&nested)).body, Request::Ping);
}

#[test]
fn invalid_name_comes_from_the_validation_error_type_not_from_message_text() {
    let refused = |body: Value| decode_request(&pack(&request(3, body))).expect_err("refused");
    for bad in ["dev", "#a/b", "@x", "@2pac", "#", ""] {
        let e = refused(json!({"op": "send", "target": bad, "text": "hi"}));
        let want = Target::parse(bad).expect_err("invalid");
        assert_eq!(
            (e.code, e.id, e.message.as_str()),
            (ErrorCode::InvalidName, 3, want.to_string().as_str()),
            "{bad:?}"
        );
        assert_eq!(want.code(), ErrorCode::InvalidName);
    }
    for op in ["history", "mark_read"] {
        assert_eq!(
            refused(json!({"op": op, "target": "#A B", "seq": 1})).code,
            ErrorCode::InvalidName
        );
    }
    // A mistyped field whose decoder message quotes the words "invalid target" is still
    // only a bad request (the old code searched the message text and said invalid_name).
    let e = refused(json!({"op": "history", "target": "#dev", "after": "invalid target"}));
    assert_eq!(e.code, ErrorCode::BadRequest, "{}", e.message);
    let e = refused(
        json!({"op": "send", "target": "#dev", "text": "hi", "nonce": "invalid channel name"}),
    );
    assert_eq!(e.code, ErrorCode::BadRequest, "{}", e.message);
    // A target of the wrong type is malformed, not a naming error.
    assert_eq!(
        refused(json!({"op": "send", "target": 5, "text": "hi"})).code,
        ErrorCode::BadRequest
    );
    // Validation errors map to codes by variant.
    assert_eq!(ValidationError::Password.code(), ErrorCode::InvalidPassword);
    assert_eq!(ValidationError::EmptyText.code(), ErrorCode::InvalidText);
    assert_eq!(
        ValidationError::BidiControl('\u{202E}').code(),
        ErrorCode::InvalidText
    );
}

#[test]
fn probe_is_an_event_on_a_probe_topic_not_a_request() {
    let e = decode_request(&pack(&request(4, json!({"op": "probe", "value": 42}))))
        .expect_err("no such request");
    assert_eq!((e.code, e.id), (ErrorCode::UnknownRequest, 4));
    assert!(!Request::OPS.contains(&"probe"));
    assert_eq!(topic::probe(42), "p/000000000000002a/");
    let event: Value = rmp_serde::from_slice(
        &codec::encode(&EventEnvelope::new(Event::Probe { value: 42 })).expect("enc"),
    )
    .expect("dec");
    assert_eq!(
        event,
        json!({"v": 1, "body": {"kind": "probe", "value": 42}})
    );
}

#[test]
fn text_rules_follow_unicode_categories() {
    use ValidationError as V;
    // Allowed: scripts, emoji ZWJ sequences, variation selectors, skin tones, flags, and
    // format characters inside visible text.
    for ok in [
        "olá, 世界 🎉\nline two\ttab",
        "👨\u{200D}👩\u{200D}👧",
        "❤\u{FE0F}",
        "👍🏽 🇧🇷",
        "a\u{200B}b",
        "co\u{00AD}operate",
        "مرحبا بالعالم",
    ] {
        assert_eq!(validate::text(ok), Ok(()), "{ok:?}");
        assert_eq!(
            validate::description(&ok.replace(['\n', '\t'], " ")),
            Ok(())
        );
    }
    // Bidi controls (the Bidi_Control property) are refused everywhere.
    for c in [
        '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
        '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    ] {
        let s = format!("invoice_{c}fdp.exe");
        assert_eq!(validate::text(&s), Err(V::BidiControl(c)));
        assert_eq!(validate::description(&s), Err(V::BidiControl(c)));
    }
    // Line and paragraph separators (Zl, Zp) count as control characters; so does C1.
    for s in [
        "a\u{2028}b",
        "a\u{2029}b",
        "a\u{85}b",
        "a\u{1b}[2Jb",
        "a\rb",
        "a\0b",
    ] {
        assert_eq!(validate::text(s), Err(V::ControlCharacters), "{s:?}");
        assert_eq!(validate::description(s), Err(V::ControlCharacters), "{s:?}");
    }
    // Newline and tab: allowed in messages only.
    assert_eq!(validate::description("a\nb"), Err(V::ControlCharacters));
    assert_eq!(validate::description("a\tb"), Err(V::ControlCharacters));
    // Only whitespace and invisible format characters: empty.
    for s in [
        "",
        " \n\t",
        "\u{200B}",
        "\u{200B}\u{200B}\u{200B}",
        "\u{2060}\u{FEFF} \u{3000}\u{00A0}",
        "\u{200D}",
    ] {
        assert_eq!(validate::text(s), Err(V::EmptyText), "{s:?}");
    }
    assert_eq!(
        validate::description(""),
        Ok(()),
        "a description may be empty"
    );
    for s in [" ", "\u{200B}", "\u{FEFF}\u{2060}"] {
        assert_eq!(validate::description(s), Err(V::BlankDescription), "{s:?}");
    }
    // Lengths: message text counts bytes of UTF-8, descriptions count characters.
    assert_eq!(validate::text(&"é".repeat(MAX_TEXT_BYTES / 2)), Ok(()));
    assert_eq!(
        validate::text(&"é".repeat(MAX_TEXT_BYTES / 2 + 1)),
        Err(V::TextTooLong(MAX_TEXT_BYTES + 2))
    );
    assert_eq!(
        validate::description(&"é".repeat(MAX_DESCRIPTION_CHARS)),
        Ok(())
    );
    assert_eq!(
        validate::description(&"é".repeat(MAX_DESCRIPTION_CHARS + 1)),
        Err(V::DescriptionTooLong)
    );
    // Passwords count characters too.
    assert_eq!(validate::password(&"é".repeat(8)), Ok(()));
    assert_eq!(validate::password(&"é".repeat(257)), Err(V::Password));
}
