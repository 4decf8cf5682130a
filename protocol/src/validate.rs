//! The rules for names, passwords and text, shared by server (which enforces them) and
//! clients (which check early to give a better message).
//!
//! Text rules are defined by Unicode properties (PROTOCOL.md §4), read from the
//! `unicode-properties` crate's General_Category tables and Rust's `char` methods:
//!
//! - *control character*: general category Cc ([`char::is_control`]), plus the line and
//!   paragraph separators U+2028 (Zl) and U+2029 (Zp);
//! - *bidi control*: the Unicode property Bidi_Control, twelve code points listed in
//!   [`is_bidi_control`] (they can make text display in another order than it reads);
//! - *invisible*: White_Space ([`char::is_whitespace`]) or general category Cf (format
//!   characters such as U+200B, U+2060, U+FEFF). Text made only of invisible characters is
//!   empty. Cf characters *inside* visible text stay allowed: U+200D joins emoji sequences
//!   (👨‍👩‍👧), and variation selectors (Mn) are not even Cf.

use thiserror::Error;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::{ErrorCode, MAX_DESCRIPTION_CHARS, MAX_TEXT_BYTES};

/// Why a name, password or text was rejected. The `Display` text is what users see; the
/// wire error code is [`ValidationError::code`].
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
    /// Empty text, or text made only of whitespace and invisible format characters.
    #[error("message text is empty (only whitespace or invisible characters)")]
    EmptyText,
    /// Oversize text.
    #[error("message text is too long ({0} bytes, limit {MAX_TEXT_BYTES})")]
    TextTooLong(usize),
    /// Control characters (terminal escapes could attack other users' terminals), line or
    /// paragraph separators.
    #[error("text contains control characters (messages allow only newline and tab)")]
    ControlCharacters,
    /// A bidirectional-text control (e.g. U+202E), which can disguise what text says.
    #[error("text contains the bidirectional control character U+{:04X}", u32::from(*.0))]
    BidiControl(char),
    /// Oversize description.
    #[error("description is too long (limit {MAX_DESCRIPTION_CHARS} characters)")]
    DescriptionTooLong,
    /// A description that is not empty but shows nothing.
    #[error(
        "description is blank (only whitespace or invisible characters); leave it empty instead"
    )]
    BlankDescription,
}

impl ValidationError {
    /// The error code a server answers with for this violation.
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::UserName(_)
            | ValidationError::ChannelName(_)
            | ValidationError::Target(_) => ErrorCode::InvalidName,
            ValidationError::Password => ErrorCode::InvalidPassword,
            ValidationError::EmptyText
            | ValidationError::TextTooLong(_)
            | ValidationError::ControlCharacters
            | ValidationError::BidiControl(_)
            | ValidationError::DescriptionTooLong
            | ValidationError::BlankDescription => ErrorCode::InvalidText,
        }
    }
}

/// Whether `c` has the Unicode property Bidi_Control: U+061C, U+200E, U+200F,
/// U+202A–U+202E and U+2066–U+2069.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` is a control character in the sense of PROTOCOL.md §4: general category Cc,
/// Zl (U+2028) or Zp (U+2029).
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
        )
}

/// Whether `c` shows nothing by itself: White_Space, or general category Cf.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace() || c.general_category() == GeneralCategory::Format
}

/// The character rules shared by message text and descriptions: no control characters
/// (except those in `allowed`), no bidi controls.
fn characters(text: &str, allowed: &[char]) -> Result<(), ValidationError> {
    for c in text.chars() {
        if is_control(c) && !allowed.contains(&c) {
            return Err(ValidationError::ControlCharacters);
        }
        if is_bidi_control(c) {
            return Err(ValidationError::BidiControl(c));
        }
    }
    Ok(())
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

/// Passwords: 8–256 characters (Unicode scalar values), anything else goes.
pub fn password(pw: &str) -> Result<(), ValidationError> {
    if (8..=256).contains(&pw.chars().count()) {
        Ok(())
    } else {
        Err(ValidationError::Password)
    }
}

/// Message text: at most [`MAX_TEXT_BYTES`] bytes of UTF-8, no control characters except
/// newline and tab, no bidi controls, and not only invisible characters. Checked in that
/// order.
pub fn text(text: &str) -> Result<(), ValidationError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ValidationError::TextTooLong(text.len()));
    }
    characters(text, &['\n', '\t'])?;
    if text.chars().all(is_invisible) {
        return Err(ValidationError::EmptyText);
    }
    Ok(())
}

/// Channel descriptions: at most [`MAX_DESCRIPTION_CHARS`] characters (Unicode scalar
/// values), no control characters at all (it is shown on one line), no bidi controls. May be
/// empty, but not blank (only invisible characters).
pub fn description(desc: &str) -> Result<(), ValidationError> {
    if desc.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ValidationError::DescriptionTooLong);
    }
    characters(desc, &[])?;
    if !desc.is_empty() && desc.chars().all(is_invisible) {
        return Err(ValidationError::BlankDescription);
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
