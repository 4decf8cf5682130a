//! MessagePack encoding of envelopes, and request decoding that classifies every failure.
//!
//! Structs are encoded as maps keyed by field name (`rmp_serde::to_vec_named`), so the wire
//! is self-describing and readable by any MessagePack library.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{ErrorCode, Request, RequestEnvelope, MAX_REQUEST_BYTES, PROTOCOL_VERSION};

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

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    v: Option<u16>,
    #[serde(default)]
    id: Option<u64>,
}

#[derive(Deserialize)]
struct OpProbe {
    body: OpOnly,
}

#[derive(Deserialize)]
struct OpOnly {
    op: String,
}

/// Decodes a request frame, turning every kind of bad input into a [`RequestDecodeError`]
/// with the right code: `too_large`, `bad_request`, `unsupported_version`, `unknown_request`.
pub fn decode_request(frame: &[u8]) -> Result<RequestEnvelope, RequestDecodeError> {
    let fail = |id, code, message: String| RequestDecodeError { id, code, message };
    if frame.len() > MAX_REQUEST_BYTES {
        return Err(fail(
            0,
            ErrorCode::TooLarge,
            format!(
                "request is {} bytes, limit is {MAX_REQUEST_BYTES}",
                frame.len()
            ),
        ));
    }
    let probe: Probe = rmp_serde::from_slice(frame).map_err(|e| {
        fail(
            0,
            ErrorCode::BadRequest,
            format!("not a MessagePack request envelope: {e}"),
        )
    })?;
    let id = probe.id.unwrap_or(0);
    match probe.v {
        Some(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(fail(
                id,
                ErrorCode::UnsupportedVersion,
                format!(
                    "protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}"
                ),
            ))
        }
        None => {
            return Err(fail(
                id,
                ErrorCode::BadRequest,
                "missing protocol version field `v`".into(),
            ))
        }
    }
    match rmp_serde::from_slice::<RequestEnvelope>(frame) {
        Ok(env) => Ok(env),
        Err(e) => {
            if let Ok(OpProbe { body }) = rmp_serde::from_slice::<OpProbe>(frame) {
                if !Request::OPS.contains(&body.op.as_str()) {
                    return Err(fail(
                        id,
                        ErrorCode::UnknownRequest,
                        format!("unknown op {:?}", body.op),
                    ));
                }
            }
            // A target is validated while it is decoded; report that as a naming error.
            let text = e.to_string();
            if text.contains("invalid target")
                || text.contains("invalid channel name")
                || text.contains("invalid user name")
            {
                return Err(fail(id, ErrorCode::InvalidName, text));
            }
            Err(fail(
                id,
                ErrorCode::BadRequest,
                format!("malformed request: {e}"),
            ))
        }
    }
}
