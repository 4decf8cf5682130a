//! CURVE's cost: the figures measured over both transports, side by side, and the two that
//! issue 12's targets name (acked posts/s at the most clients, fan-out p50).
//!
//! Rates are compared as a ratio (curve ÷ plaintext, and the change in per cent), times and
//! CPU as a difference (curve − plaintext), all of medians.

use crate::stats::{fmt_num, markdown, Cell, Row};
use crate::transport::Transport;

/// Target of issue 12: CURVE costs at most this share of acked posts/s at 64 clients.
const POSTS_TARGET: f64 = 0.15;
/// Target of issue 12: CURVE adds at most this to the fan-out p50, ms.
const FANOUT_P50_TARGET_MS: f64 = 0.2;

/// Figures of little use in a cost comparison (identical by construction, or counts that
/// the main table already shows).
const SKIPPED: [&str; 3] = [
    "delivered msgs/s",
    "out-of-order deliveries",
    "error replies",
];

/// One figure measured over CURVE and over plaintext.
struct Pair<'a> {
    curve: &'a Row,
    plain: &'a Row,
}

fn pairs(rows: &[Row]) -> Vec<Pair<'_>> {
    rows.iter()
        .filter(|r| r.transport == Some(Transport::Curve))
        .filter_map(|curve| {
            rows.iter()
                .find(|p| {
                    p.transport == Some(Transport::Plaintext)
                        && p.scenario == curve.scenario
                        && p.metric == curve.metric
                })
                .map(|plain| Pair { curve, plain })
        })
        .collect()
}

/// Whether `metric` is a rate (compared as a ratio) rather than a time or a count.
fn is_rate(metric: &str) -> bool {
    metric.contains("/s")
}

/// The unit a difference of `metric` is printed in.
fn unit(metric: &str) -> &'static str {
    if metric.ends_with(" ms") {
        " ms"
    } else if metric.contains("µs") {
        " µs"
    } else {
        ""
    }
}

/// `curve` against `plain` for `metric`: `0.88 (−12 %)` for a rate, `+0.05 ms` otherwise.
fn cost(metric: &str, curve: &Cell, plain: &Cell) -> String {
    let (Some(c), Some(p)) = (curve.median(), plain.median()) else {
        return "-".into();
    };
    if is_rate(metric) {
        if p == 0.0 {
            return "-".into();
        }
        let r = c / p;
        format!("{r:.2} ({} %)", signed(format!("{:.1}", (r - 1.0) * 100.0)))
    } else {
        format!("{}{}", signed(fmt_num(c - p)), unit(metric))
    }
}

/// A number with an explicit sign (and a real minus sign).
fn signed(n: String) -> String {
    match n.strip_prefix('-') {
        // A negative zero after rounding is printed as zero.
        Some(abs) if abs.trim_start_matches(['0', '.']).is_empty() => abs.to_string(),
        Some(abs) => format!("−{abs}"),
        None if n.trim_start_matches(['0', '.']).is_empty() => n,
        None => format!("+{n}"),
    }
}

/// The cost table and the verdict on issue 12's targets, when the run measured both
/// transports; `None` otherwise.
pub fn render(rows: &[Row]) -> Option<String> {
    let pairs = pairs(rows);
    if pairs.is_empty() {
        return None;
    }
    let header = [
        "scenario",
        "metric",
        "zchat curve",
        "zchat plaintext",
        "zchat: curve vs plaintext",
        "raw curve",
        "raw plaintext",
        "raw: curve vs plaintext",
    ]
    .map(String::from);
    let body: Vec<[String; 8]> = pairs
        .iter()
        .filter(|p| !SKIPPED.contains(&p.curve.metric.as_str()))
        .map(|Pair { curve, plain }| {
            let m = curve.metric.as_str();
            [
                curve.scenario.clone(),
                curve.metric.clone(),
                curve.zchat.text(),
                plain.zchat.text(),
                cost(m, &curve.zchat, &plain.zchat),
                curve.raw.text(),
                plain.raw.text(),
                cost(m, &curve.raw, &plain.raw),
            ]
        })
        .collect();
    let mut out = String::from(
        "CURVE's cost (medians [min–max]; rates: curve/plaintext and the change, times: \
         curve − plaintext):\n\n",
    );
    out.push_str(&markdown(&header, &body));
    out.push('\n');
    out.push_str(&verdict(&pairs));
    Some(out)
}

/// The client count of a `post, N clients` scenario.
fn post_clients(scenario: &str) -> Option<usize> {
    scenario
        .strip_prefix("post, ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The two figures issue 12's targets name, each against its target.
fn verdict(pairs: &[Pair<'_>]) -> String {
    let mut out = String::from("Against issue 12's targets (medians):\n");
    let posts = pairs
        .iter()
        .filter(|p| p.curve.metric.starts_with("acked posts/s"))
        .filter_map(|p| Some((post_clients(&p.curve.scenario)?, p)))
        .max_by_key(|(n, _)| *n);
    if let Some((n, p)) = posts {
        if let (Some(c), Some(pl)) = (p.curve.zchat.median(), p.plain.zchat.median()) {
            let share = if pl > 0.0 { 1.0 - c / pl } else { f64::NAN };
            out.push_str(&format!(
                "- acked posts/s at {n} clients: curve {} vs plaintext {}: CURVE costs {:.1} % \
                 (target ≤ {:.0} %{}): {}; raw ZeroMQ {}\n",
                fmt_num(c),
                fmt_num(pl),
                share * 100.0,
                POSTS_TARGET * 100.0,
                if n == 64 { "" } else { ", set at 64 clients" },
                if share <= POSTS_TARGET {
                    "met"
                } else {
                    "NOT met"
                },
                cost(&p.curve.metric, &p.curve.raw, &p.plain.raw),
            ));
        }
    }
    for p in pairs
        .iter()
        .filter(|p| p.curve.metric == "post→delivery p50 ms")
    {
        if let (Some(c), Some(pl)) = (p.curve.zchat.median(), p.plain.zchat.median()) {
            let d = c - pl;
            out.push_str(&format!(
                "- {}: p50 curve {} ms vs plaintext {} ms: CURVE's cost {} ms (target ≤ {} ms): \
                 {}; raw ZeroMQ {}\n",
                p.curve.scenario,
                fmt_num(c),
                fmt_num(pl),
                signed(fmt_num(d)),
                FANOUT_P50_TARGET_MS,
                if d <= FANOUT_P50_TARGET_MS {
                    "met"
                } else {
                    "NOT met"
                },
                cost(&p.curve.metric, &p.curve.raw, &p.plain.raw),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Samples;

    fn row(t: Transport, scenario: &str, metric: &str, zchat: f64, raw: f64) -> Row {
        Row {
            scenario: scenario.into(),
            metric: metric.into(),
            transport: Some(t),
            zchat: Cell::Samples(Samples(vec![zchat])),
            raw: Cell::Samples(Samples(vec![raw])),
            irc: Cell::None,
        }
    }

    #[test]
    fn costs_and_verdict() {
        let rows = vec![
            row(
                Transport::Curve,
                "post, 64 clients",
                "acked posts/s (raw: echo req/s)",
                9000.0,
                30000.0,
            ),
            row(
                Transport::Curve,
                "fan-out, 1 subs @1000/s",
                "post→delivery p50 ms",
                0.60,
                0.25,
            ),
            row(
                Transport::Plaintext,
                "post, 64 clients",
                "acked posts/s (raw: echo req/s)",
                10000.0,
                40000.0,
            ),
            row(
                Transport::Plaintext,
                "fan-out, 1 subs @1000/s",
                "post→delivery p50 ms",
                0.50,
                0.20,
            ),
        ];
        let t = render(&rows).unwrap_or_default();
        assert!(t.contains("0.90 (−10.0 %)"), "{t}");
        assert!(t.contains("0.75 (−25.0 %)"), "{t}");
        assert!(t.contains("+0.10 ms"), "{t}");
        assert!(t.contains("CURVE costs 10.0 % (target ≤ 15 %): met"), "{t}");
        assert!(
            t.contains("CURVE's cost +0.10 ms (target ≤ 0.2 ms): met"),
            "{t}"
        );
        assert!(render(&rows[..2]).is_none());
    }
}
