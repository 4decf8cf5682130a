//! Stable error codes carried by `Reply::Error`.

use serde::{Deserialize, Serialize};

/// Why a request failed. Serialized as a snake_case string; the set only grows, and a client
/// must treat an unknown code like `internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not a valid MessagePack request envelope, or a field has the wrong type
    /// (invalid UTF-8 in a string included).
    BadRequest,
    /// The envelope's `v` is not a version this server speaks.
    UnsupportedVersion,
    /// The `op` is not one this server knows.
    UnknownRequest,
    /// The request frame exceeds the size limit.
    TooLarge,
    /// A user or channel name breaks the naming rules.
    InvalidName,
    /// Message text or description is empty, too long or contains control characters.
    InvalidText,
    /// The password breaks the password rules (at registration).
    InvalidPassword,
    /// No token, an unknown token, or an expired or revoked one. Log in again.
    Unauthorized,
    /// Authenticated, but not allowed (e.g. posting to a channel you have not joined).
    Forbidden,
    /// The user or channel does not exist.
    NotFound,
    /// The user or channel name is taken.
    AlreadyExists,
    /// Wrong user name or password at login.
    WrongCredentials,
    /// Too many failed attempts; try again later.
    RateLimited,
    /// Something went wrong on the server; the request had no effect.
    Internal,
    /// The server cannot reach its database right now (PostgreSQL down or restarting).
    /// Nothing was changed, except that a `send` cut off at its commit may have been
    /// stored: retry later with the same `nonce` (which never stores twice).
    Unavailable,
    /// A code this client version does not know (never sent by a server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire spelling, e.g. `"not_found"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnknownRequest => "unknown_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::InvalidText => "invalid_text",
            ErrorCode::InvalidPassword => "invalid_password",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::WrongCredentials => "wrong_credentials",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
