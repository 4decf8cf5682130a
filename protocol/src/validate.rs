//! The rules for names, passwords and text, shared by server (which enforces them) and
//! clients (which check early to give a better message).

use thiserror::Error;

use crate::{MAX_DESCRIPTION_CHARS, MAX_TEXT_BYTES};

/// Why a name, password or text was rejected. The `Display` text is what users see.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// User name rules.
    #[error("invalid user name {0:?}: use 2-24 characters: letters a-z/A-Z, digits, '_' or '-', starting with a letter")]
    UserName(String),
    /// Channel name rules.
    #[error("invalid channel name {0:?}: use 1-32 characters: a-z, 0-9, '-' or '_'")]
    ChannelName(String),
    /// Target sigil missing.
    #[error("invalid target {0:?}: use #channel or @user")]
    Target(String),
    /// Password rules.
    #[error("invalid password: use 8-256 characters")]
    Password,
    /// Empty text.
    #[error("message text is empty")]
    EmptyText,
    /// Oversize text.
    #[error("message text is too long ({0} bytes, limit {MAX_TEXT_BYTES})")]
    TextTooLong(usize),
    /// Control characters (terminal escapes could attack other users' terminals).
    #[error("text contains control characters (only newline and tab are allowed)")]
    ControlCharacters,
    /// Oversize description.
    #[error("description is too long (limit {MAX_DESCRIPTION_CHARS} characters)")]
    DescriptionTooLong,
}

/// User names: 2–24 ASCII letters, digits, `_` or `-`, starting with a letter.
/// Case is kept for display; uniqueness and lookup ignore case.
pub fn user_name(name: &str) -> Result<(), ValidationError> {
    let ok = (2..=24).contains(&name.len())
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::UserName(name.to_string()))
    }
}

/// Channel names: 1–32 of `a-z0-9-_`. Upper-case ASCII input is folded to lower case
/// (so `#Dev` and `#dev` are the same channel); the normalised name is returned.
pub fn channel_name(name: &str) -> Result<String, ValidationError> {
    let lower = name.to_ascii_lowercase();
    let ok = (1..=32).contains(&lower.len())
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(lower)
    } else {
        Err(ValidationError::ChannelName(name.to_string()))
    }
}

/// Passwords: 8–256 characters, anything else goes.
pub fn password(pw: &str) -> Result<(), ValidationError> {
    if (8..=256).contains(&pw.chars().count()) {
        Ok(())
    } else {
        Err(ValidationError::Password)
    }
}

/// Message text: non-blank, at most [`MAX_TEXT_BYTES`] bytes, no control characters except
/// newline and tab.
pub fn text(text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::EmptyText);
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(ValidationError::TextTooLong(text.len()));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::ControlCharacters);
    }
    Ok(())
}

/// Channel descriptions: at most [`MAX_DESCRIPTION_CHARS`] characters, no control
/// characters at all (it is shown on one line). May be empty.
pub fn description(desc: &str) -> Result<(), ValidationError> {
    if desc.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ValidationError::DescriptionTooLong);
    }
    if desc.chars().any(char::is_control) {
        return Err(ValidationError::ControlCharacters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert!(user_name("alice").is_ok());
        assert!(user_name("Bob_2-x").is_ok());
        assert!(user_name("a").is_err());
        assert!(user_name("2pac").is_err());
        assert!(user_name("josé").is_err());
        assert!(user_name("a b").is_err());
        assert!(user_name(&"a".repeat(25)).is_err());
    }

    #[test]
    fn channel_names() {
        assert_eq!(channel_name("Dev").unwrap(), "dev");
        assert_eq!(channel_name("rust-lang_br").unwrap(), "rust-lang_br");
        assert!(channel_name("").is_err());
        assert!(channel_name("a/b").is_err());
        assert!(channel_name("café").is_err());
        assert!(channel_name(&"x".repeat(33)).is_err());
    }

    #[test]
    fn texts() {
        assert!(text("olá, mundo! 你好 🎉\nline two\ttab").is_ok());
        assert_eq!(text("  \n"), Err(ValidationError::EmptyText));
        assert_eq!(
            text("evil \u{1b}[2J"),
            Err(ValidationError::ControlCharacters)
        );
        assert!(matches!(
            text(&"x".repeat(MAX_TEXT_BYTES + 1)),
            Err(ValidationError::TextTooLong(_))
        ));
    }
}
