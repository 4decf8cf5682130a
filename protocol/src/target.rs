//! `Target`: where a message goes, spelled `#channel` or `@user` on the wire and in the CLI.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validate::{self, ValidationError};

/// A conversation address: a channel (`#dev`) or a direct-message peer (`@alice`).
///
/// On the wire it is a single string with the sigil, so clients in any language can build
/// one by string concatenation. Channel names are normalised to lower case when parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Target {
    /// A channel, by its (lower-case) name without the `#`.
    Channel(String),
    /// A user, by name without the `@`.
    User(String),
}

impl Target {
    /// Parses `#name` or `@name`, validating the name.
    pub fn parse(s: &str) -> Result<Target, ValidationError> {
        if let Some(name) = s.strip_prefix('#') {
            Ok(Target::Channel(validate::channel_name(name)?))
        } else if let Some(name) = s.strip_prefix('@') {
            validate::user_name(name)?;
            Ok(Target::User(name.to_string()))
        } else {
            Err(ValidationError::Target(s.to_string()))
        }
    }

    /// A channel target from a name that may or may not carry the `#`.
    pub fn channel(name: &str) -> Result<Target, ValidationError> {
        Ok(Target::Channel(validate::channel_name(
            name.strip_prefix('#').unwrap_or(name),
        )?))
    }

    /// A user target from a name that may or may not carry the `@`.
    pub fn user(name: &str) -> Result<Target, ValidationError> {
        let name = name.strip_prefix('@').unwrap_or(name);
        validate::user_name(name)?;
        Ok(Target::User(name.to_string()))
    }

    /// Whether this is a channel.
    pub fn is_channel(&self) -> bool {
        matches!(self, Target::Channel(_))
    }

    /// The bare name, without sigil.
    pub fn name(&self) -> &str {
        match self {
            Target::Channel(n) | Target::User(n) => n,
        }
    }

    /// A key that compares user names case-insensitively (user names are unique ignoring
    /// case), for maps keyed by conversation.
    pub fn key(&self) -> String {
        match self {
            Target::Channel(n) => format!("#{n}"),
            Target::User(n) => format!("@{}", n.to_lowercase()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Channel(n) => write!(f, "#{n}"),
            Target::User(n) => write!(f, "@{n}"),
        }
    }
}

impl TryFrom<String> for Target {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Target::parse(&s)
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.to_string()
    }
}

impl std::str::FromStr for Target {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::parse(s)
    }
}
