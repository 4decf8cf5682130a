//! How subcommands print things: one line per item, stable enough to grep, and JSON lines
//! for messages with `--json`.

use chrono::{Local, TimeZone};
use serde_json::json;
use zchat_protocol::{ChannelInfo, DmSummary, Message};

/// A timestamp in local time, `YYYY-MM-DD HH:MM:SS`.
pub fn datetime(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => ms.to_string(),
    }
}

/// `#name  N members  [joined, U unread]  description`.
pub fn channel_line(c: &ChannelInfo) -> String {
    let joined = if c.joined {
        format!("joined, {} unread", c.unread)
    } else {
        "not joined".to_string()
    };
    format!(
        "#{}\t{} members\t{}\t{}",
        c.name, c.members, joined, c.description
    )
}

/// `@peer  U unread  last: text`.
pub fn dm_line(d: &DmSummary) -> String {
    let last = d
        .last
        .as_ref()
        .map(|m| format!("{}: {}", m.from, first_line(&m.text)))
        .unwrap_or_default();
    format!("@{}\t{} unread\t{}", d.peer, d.unread, last)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A message as a line: `[time] #chan <from> text`, or a JSON object with `--json`.
/// `conversation` is the channel, or for a DM the other participant as seen by `me`.
pub fn message(m: &Message, me: &str, json: bool) -> String {
    let conv = m.conversation_for(me);
    if json {
        json!({
            "target": m.target.to_string(),
            "conversation": conv.to_string(),
            "seq": m.seq,
            "ts": m.ts,
            "from": m.from,
            "text": m.text,
        })
        .to_string()
    } else {
        format!("[{}] {} <{}> {}", datetime(m.ts), conv, m.from, m.text)
    }
}
