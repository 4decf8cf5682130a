//! The full-screen client's frame costs at 1k, 20k and 100k messages (see `crate::tui`).
//!
//! Each size runs in a fresh child process (`zchat-bench tui-frames`), so its memory
//! figures are the client's own. No backend is involved: nothing here has a counterpart in
//! raw ZeroMQ or ngircd, so those cells stay empty.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::stats::{Cell, Row, Samples};

use super::{progress, row, samples, Config};

/// Scenario 5: frame times and memory of the real `App` and view under `TestBackend`.
pub fn tui_frames(cfg: &Config) -> Result<Vec<Row>> {
    let exe = std::env::current_exe().context("cannot locate the bench executable")?;
    let mut rows = Vec::new();
    for &n in &cfg.tui_messages {
        let mut figures: Vec<serde_json::Value> = Vec::new();
        for rep in 0..cfg.repeats {
            progress(&format!("tui: {n} messages, repeat {}", rep + 1));
            let out = Command::new(&exe)
                .arg("tui-frames")
                .arg(n.to_string())
                .arg("--conversations")
                .arg(cfg.tui_conversations.to_string())
                .arg("--frames")
                .arg(cfg.tui_frames.to_string())
                .arg("--scroll-budget-secs")
                .arg(cfg.tui_scroll_budget.as_secs_f64().to_string())
                .output()
                .context("running the tui-frames child")?;
            if !out.status.success() {
                bail!(
                    "tui-frames {n} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            let line = String::from_utf8_lossy(&out.stdout);
            figures.push(serde_json::from_str(line.trim()).context("tui-frames output")?);
        }
        let scenario = format!("tui, {n} msgs + {} convs", cfg.tui_conversations);
        let col = |key: &str| -> Cell {
            let mut s: Samples = samples();
            for f in &figures {
                if let Some(v) = f.get(key).and_then(serde_json::Value::as_f64) {
                    s.push(v);
                }
            }
            Cell::Samples(s)
        };
        for (key, metric) in [
            ("typing_p50_ms", "keystroke frame p50 ms"),
            ("typing_p99_ms", "keystroke frame p99 ms"),
            ("incoming_p50_ms", "incoming-message frame p50 ms"),
            ("incoming_p99_ms", "incoming-message frame p99 ms"),
            ("scroll_p50_ms", "PgUp frame p50 ms"),
            ("scroll_p99_ms", "PgUp frame p99 ms"),
            ("held_after_load", "messages held after the measured frames"),
            (
                "scroll_through_presses",
                "PgUp presses in the scroll-through",
            ),
            ("scroll_through_secs", "scroll-through to the oldest, s"),
            (
                "scroll_through_complete",
                "scroll-through reached the oldest (1 = yes)",
            ),
            ("rss_mib", "client RSS MiB after the scroll-through"),
            ("peak_rss_mib", "client peak RSS MiB"),
        ] {
            rows.push(row(&scenario, metric, col(key), Cell::None, Cell::None));
        }
    }
    Ok(rows)
}
