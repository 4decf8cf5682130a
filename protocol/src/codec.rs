//! MessagePack encoding of envelopes, and request decoding that classifies every failure.
//!
//! Structs are encoded as maps keyed by field name (`rmp_serde::to_vec_named`), so the wire
//! is self-describing and readable by any MessagePack library.

use std::cell::Cell;

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

use crate::{ErrorCode, Request, RequestEnvelope, Target, MAX_REQUEST_BYTES, PROTOCOL_VERSION};

/// A frame that could not be encoded or decoded.
#[derive(Debug, Error)]
pub enum CodecError {
    /// Encoding failed (only possible for types that cannot be MessagePack).
    #[error("cannot encode: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// Decoding failed: not MessagePack, wrong shape, or invalid UTF-8.
    #[error("cannot decode: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
}

/// Encodes any protocol value as MessagePack with named fields.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    Ok(rmp_serde::to_vec_named(value)?)
}

/// Decodes any protocol value from MessagePack.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    Ok(rmp_serde::from_slice(bytes)?)
}

/// How deeply a request frame may nest arrays and maps. A real request nests 3 levels
/// (envelope, body, field). rmp-serde's default bound (1024 levels) is more than a 2 MiB
/// thread stack takes in a debug build when skipping values (`IgnoredAny`, as unknown fields
/// and [`read_request_id`] do): a 2 KB frame of nested arrays (`[[[[…]]]]`) overflowed the
/// stack of a test thread.
pub const MAX_REQUEST_DEPTH: usize = 32;

/// Decodes a request frame (or a part of one) with the nesting depth bounded.
fn from_request<'a, T: Deserialize<'a>>(frame: &'a [u8]) -> Result<T, rmp_serde::decode::Error> {
    let mut de = rmp_serde::Deserializer::from_read_ref(frame);
    de.set_max_depth(MAX_REQUEST_DEPTH);
    T::deserialize(&mut de)
}

/// Why a request frame was refused, with the id to answer to when it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct RequestDecodeError {
    /// The request's `id` if it could be read, else 0.
    pub id: u64,
    /// The error code to reply with.
    pub code: ErrorCode,
    /// A readable explanation.
    pub message: String,
}

/// The version field alone (any integer width, so that `v: 70000` is "unsupported", not
/// "malformed").
#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default)]
    v: Option<u64>,
}

#[derive(Deserialize)]
struct OpProbe {
    body: OpOnly,
}

#[derive(Deserialize)]
struct OpOnly {
    op: String,
}

/// The body's `target`, as a plain string, so that it can be validated on its own and the
/// [`ValidationError`](crate::validate::ValidationError) (a type, not a message text)
/// decides the error code.
#[derive(Deserialize)]
struct TargetProbe {
    body: TargetOnly,
}

#[derive(Deserialize)]
struct TargetOnly {
    #[serde(default)]
    target: Option<String>,
}

/// Reads the top-level `id` of a request frame leniently: it walks the top-level map's keys
/// in order, skipping values (nesting depth is bounded by the decoder), and stops at `id`,
/// so whatever is broken elsewhere in the frame (or after `id`) does not matter. 0 when the
/// frame is not a map, has no `id`, or its `id` is not a u64. Bounded: frames are at most
/// [`crate::MAX_WIRE_MESSAGE_BYTES`] (the sockets refuse more) and nesting is at most
/// [`MAX_REQUEST_DEPTH`].
pub fn read_request_id(frame: &[u8]) -> u64 {
    /// Stores the id where it finds it and stops there: the decoder then complains about the
    /// entries left unread (or whatever is broken after the id), which does not matter.
    struct IdVisitor<'a>(&'a Cell<u64>);
    impl<'de> Visitor<'de> for IdVisitor<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a request envelope map")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Key>()? {
                if matches!(key, Key::Id) {
                    if let Ok(id) = map.next_value::<u64>() {
                        self.0.set(id);
                    }
                    return Ok(());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    /// A map key: `id`, or anything else (of any type).
    enum Key {
        Id,
        Other,
    }
    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map key")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key, E> {
                    Ok(if v == "id" { Key::Id } else { Key::Other })
                }
                fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Key, E> {
                    Ok(Key::Other)
                }
                fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Key, E> {
                    Ok(Key::Other)
                }
                fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Key, E> {
                    Ok(Key::Other)
                }
                fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Key, E> {
                    Ok(Key::Other)
                }
                fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Key, E> {
                    Ok(Key::Other)
                }
                fn visit_unit<E: serde::de::Error>(self) -> Result<Key, E> {
                    Ok(Key::Other)
                }
                fn visit_none<E: serde::de::Error>(self) -> Result<Key, E> {
                    Ok(Key::Other)
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Key, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Key::Other)
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Key::Other)
                }
            }
            d.deserialize_any(KeyVisitor)
        }
    }
    let id = Cell::new(0);
    let mut de = rmp_serde::Deserializer::from_read_ref(frame);
    de.set_max_depth(MAX_REQUEST_DEPTH);
    let _ = de.deserialize_map(IdVisitor(&id));
    id.get()
}

/// Decodes a request frame, turning every kind of bad input into a [`RequestDecodeError`]
/// with the right code, checked in this order (PROTOCOL.md §6.1):
///
/// 1. size: over [`MAX_REQUEST_BYTES`] is `too_large`;
/// 2. MessagePack and envelope shape: `bad_request`;
/// 3. `v`: missing is `bad_request`, another version `unsupported_version`;
/// 4. the full request: an `op` not in [`Request::OPS`] is `unknown_request`; a body
///    `target` string that is not a valid target is `invalid_name` (the code comes from the
///    [`ValidationError`](crate::validate::ValidationError), never from a message text);
///    any other missing or mistyped field is `bad_request`.
///
/// Every error carries the request's `id` whenever [`read_request_id`] can read it.
pub fn decode_request(frame: &[u8]) -> Result<RequestEnvelope, RequestDecodeError> {
    let fail = |code, message: String| RequestDecodeError {
        id: read_request_id(frame),
        code,
        message,
    };
    if frame.len() > MAX_REQUEST_BYTES {
        return Err(fail(
            ErrorCode::TooLarge,
            format!(
                "request is {} bytes, limit is {MAX_REQUEST_BYTES}",
                frame.len()
            ),
        ));
    }
    let head: VersionOnly = from_request(frame).map_err(|e| {
        fail(
            ErrorCode::BadRequest,
            format!("not a MessagePack request envelope: {e}"),
        )
    })?;
    match head.v {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(fail(
                ErrorCode::UnsupportedVersion,
                format!(
                    "protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}"
                ),
            ))
        }
        None => {
            return Err(fail(
                ErrorCode::BadRequest,
                "missing protocol version field `v`".into(),
            ))
        }
    }
    match from_request::<RequestEnvelope>(frame) {
        Ok(env) => Ok(env),
        Err(e) => {
            if let Ok(OpProbe { body }) = from_request::<OpProbe>(frame) {
                if !Request::OPS.contains(&body.op.as_str()) {
                    return Err(fail(
                        ErrorCode::UnknownRequest,
                        format!("unknown op {:?}", body.op),
                    ));
                }
            }
            if let Ok(TargetProbe {
                body: TargetOnly {
                    target: Some(target),
                },
            }) = from_request::<TargetProbe>(frame)
            {
                if let Err(invalid) = Target::parse(&target) {
                    return Err(fail(invalid.code(), invalid.to_string()));
                }
            }
            Err(fail(
                ErrorCode::BadRequest,
                format!("malformed request: {e}"),
            ))
        }
    }
}
