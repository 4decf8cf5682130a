//! Pub/sub topic names.
//!
//! A ZeroMQ subscription matches by byte prefix, so topic design decides who receives what:
//!
//! - A channel's topic is `c/<name>/`. Names cannot contain `/`, so the closing `/` makes
//!   sure that the subscriber of `c/dev/` never receives `c/devops/`.
//! - A session's inbox is `i/<32 lowercase hex>/`: 128 random bits handed out at login. Direct
//!   messages and read-marker updates are published only there.
//!
//! - A probe topic is `p/<16 lowercase hex>/`, a value the subscriber picks: when the proxy
//!   applies a subscription to one, it sends a `probe` event on it to that subscriber, which
//!   proves every subscription the subscriber sent before it applied (PROTOCOL.md §5.2).
//!
//! The proxy refuses every subscription that is not exactly one whole topic (see
//! [`is_allowed_subscription`]): an empty prefix, `i/` or half an inbox id reach nothing.

use crate::validate;

/// Length of the hex inbox id (128 bits).
pub const INBOX_HEX_LEN: usize = 32;

/// The topic of channel `name` (already normalised, without `#`).
pub fn channel(name: &str) -> String {
    format!("c/{name}/")
}

/// The topic of an inbox id (32 lowercase hex characters).
pub fn inbox(id_hex: &str) -> String {
    format!("i/{id_hex}/")
}

/// The probe topic for `value`.
pub fn probe(value: u64) -> String {
    format!("p/{value:016x}/")
}

/// The value of a probe topic, if `topic` is one.
pub fn probe_value(topic: &[u8]) -> Option<u64> {
    let hex = std::str::from_utf8(topic)
        .ok()?
        .strip_prefix("p/")?
        .strip_suffix('/')?;
    let lower_hex = hex.len() == 16
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if lower_hex {
        u64::from_str_radix(hex, 16).ok()
    } else {
        None
    }
}

/// Whether `topic` is a complete, well-formed topic: the only subscriptions the proxy
/// accepts. Everything else (empty, partial, unknown kinds) is dropped there.
pub fn is_allowed_subscription(topic: &[u8]) -> bool {
    let Ok(topic) = std::str::from_utf8(topic) else {
        return false;
    };
    if let Some(rest) = topic.strip_prefix("c/") {
        if let Some(name) = rest.strip_suffix('/') {
            return matches!(validate::channel_name(name), Ok(n) if n == name);
        }
        return false;
    }
    if topic.starts_with("p/") {
        return probe_value(topic.as_bytes()).is_some();
    }
    if let Some(rest) = topic.strip_prefix("i/") {
        if let Some(id) = rest.strip_suffix('/') {
            return id.len() == INBOX_HEX_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        }
        return false;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_channel_topic_is_a_prefix_of_another() {
        assert!(!channel("devops").starts_with(&channel("dev")));
    }

    #[test]
    fn only_whole_topics_are_allowed() {
        assert!(is_allowed_subscription(channel("dev").as_bytes()));
        assert!(is_allowed_subscription(inbox(&"ab".repeat(16)).as_bytes()));
        assert!(is_allowed_subscription(probe(u64::MAX).as_bytes()));
        assert_eq!(probe_value(probe(42).as_bytes()), Some(42));
        for bad in ["p/", "p/2a/", "p/000000000000002A/", "p/000000000000002a"] {
            assert!(!is_allowed_subscription(bad.as_bytes()), "{bad:?}");
            assert_eq!(probe_value(bad.as_bytes()), None);
        }
        for bad in [
            "", "c", "c/", "c/dev", "c/Dev/", "i/", "i/abc/", "x/dev/", "c/a/b/",
        ] {
            assert!(!is_allowed_subscription(bad.as_bytes()), "{bad:?}");
        }
        assert!(!is_allowed_subscription(
            &inbox(&"AB".repeat(16)).into_bytes()
        ));
        assert!(!is_allowed_subscription(&[0xff, 0xfe]));
    }
}
