//! Text rules shared by the state and the view: local time and day labels, mentions,
//! authorship and nick colours.

use zchat_protocol::Message;

/// Days since the epoch in local time.
pub fn local_day(ts_ms: i64, offset_secs: i32) -> i64 {
    (ts_ms / 1000 + i64::from(offset_secs)).div_euclid(86_400)
}

/// `HH:MM` in local time.
pub fn clock(ts_ms: i64, offset_secs: i32) -> String {
    let secs = (ts_ms / 1000 + i64::from(offset_secs)).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

/// `Tuesday 24 November 2026` in local time.
pub fn day_label(ts_ms: i64, offset_secs: i32) -> String {
    use chrono::{DateTime, FixedOffset, Offset, Utc};
    let offset = FixedOffset::east_opt(offset_secs).unwrap_or_else(|| Utc.fix());
    match DateTime::from_timestamp_millis(ts_ms) {
        Some(t) => t.with_timezone(&offset).format("%A %-d %B %Y").to_string(),
        None => "?".to_string(),
    }
}

/// Whether `text` mentions user `me` as `@me` (case-insensitive, whole name).
pub fn mentions(text: &str, me: &str) -> bool {
    if me.is_empty() {
        return false;
    }
    let lower = text.to_lowercase();
    let needle = format!("@{}", me.to_lowercase());
    lower.match_indices(&needle).any(|(i, _)| {
        let after = lower[i + needle.len()..].chars().next();
        !matches!(after, Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// A stable colour index (0..n) for a user name.
pub fn user_colour(name: &str, n: usize) -> usize {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in name.to_lowercase().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h as usize) % n.max(1)
}

/// Whether `m` is mine.
pub fn is_mine(m: &Message, me: &str) -> bool {
    m.from.eq_ignore_ascii_case(me)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_rules() {
        assert!(mentions("hi @Alice!", "alice"));
        assert!(!mentions("hi @alicex", "alice"));
        assert!(!mentions("alice", "alice"));
    }

    #[test]
    fn clock_and_days() {
        assert_eq!(clock(0, 0), "00:00");
        assert_eq!(clock(0, 3600), "01:00");
        assert_eq!(day_label(0, 0), "Thursday 1 January 1970");
        assert_eq!(local_day(86_399_000, 0), 0);
        assert_eq!(local_day(86_399_000, 3600), 1);
    }
}
