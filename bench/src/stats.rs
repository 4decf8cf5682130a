//! Latency histograms, min/median/max over repeats, and the result table.

use hdrhistogram::Histogram;

use crate::transport::Transport;

/// A latency histogram in microseconds (1 µs .. 60 s, 3 significant digits).
#[allow(
    clippy::expect_used,
    reason = "constant bounds, valid by hdrhistogram's rules (low >= 1, high >= 2 * low, sigfig <= 5)"
)]
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Records a latency in nanoseconds into a microsecond histogram (saturating at the bounds).
pub fn record_ns(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record((ns / 1_000).max(1));
}

/// The value at quantile `q` in milliseconds (0 when the histogram is empty).
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1_000.0
    }
}

/// One figure measured on every repeat of a scenario: reports min, median and max.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    /// Adds one repeat's value.
    pub fn push(&mut self, v: f64) {
        self.0.push(v);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The median (lower middle for an even count); `None` when empty.
    pub fn median(&self) -> Option<f64> {
        let v = self.sorted();
        (!v.is_empty()).then(|| v[(v.len() - 1) / 2])
    }

    /// Formats as `median [min–max]`, or `-` when empty.
    pub fn cell(&self) -> String {
        let v = self.sorted();
        match (v.first(), v.last()) {
            (Some(lo), Some(hi)) if v.len() > 1 => {
                let med = v[(v.len() - 1) / 2];
                format!("{} [{}–{}]", fmt_num(med), fmt_num(*lo), fmt_num(*hi))
            }
            (Some(x), _) => fmt_num(*x),
            _ => "-".into(),
        }
    }
}

/// Formats a number with a precision suited to its size.
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// One line of the result table: a figure for zchat and, when there is one, its counterparts.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario and size, e.g. `post, 64 clients`.
    pub scenario: String,
    /// What is measured, with its unit.
    pub metric: String,
    /// The transport of zchat and raw ZeroMQ in this row; `None` for a figure measured on
    /// the main transport only (or on no backend at all).
    pub transport: Option<Transport>,
    /// zchat's figure.
    pub zchat: Cell,
    /// The raw-ZeroMQ counterpart, if any.
    pub raw: Cell,
    /// ngircd's counterpart, if any.
    pub irc: Cell,
}

/// A table cell: measured samples, a note (e.g. why it was skipped), or nothing.
#[derive(Debug, Clone, Default)]
pub enum Cell {
    /// No counterpart for this figure.
    #[default]
    None,
    /// Measured values, one per repeat.
    Samples(Samples),
    /// Not measured, with the reason.
    Note(String),
}

impl Cell {
    /// The cell as printed.
    pub fn text(&self) -> String {
        match self {
            Cell::None => "-".into(),
            Cell::Samples(s) => s.cell(),
            Cell::Note(n) => n.clone(),
        }
    }

    /// The median of its samples, if it has any.
    pub fn median(&self) -> Option<f64> {
        match self {
            Cell::Samples(s) => s.median(),
            _ => None,
        }
    }
}

fn ratio(a: &Cell, b: &Cell) -> String {
    match (a.median(), b.median()) {
        (Some(x), Some(y)) if y != 0.0 => format!("{:.2}", x / y),
        _ => "-".into(),
    }
}

/// Renders rows as a Markdown table (readable as plain text too). Ratios are of medians;
/// the zchat and raw ZeroMQ columns are named with their `transport`.
pub fn render(rows: &[Row], transport: Transport) -> String {
    let t = transport.name();
    let header = [
        "scenario".to_string(),
        "metric".into(),
        format!("zchat ({t}) med [min–max]"),
        format!("raw ZeroMQ ({t}) med [min–max]"),
        "zchat/raw".into(),
        "ngircd med [min–max]".into(),
        "zchat/ngircd".into(),
    ];
    let body: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.metric.clone(),
                r.zchat.text(),
                r.raw.text(),
                ratio(&r.zchat, &r.raw),
                r.irc.text(),
                ratio(&r.zchat, &r.irc),
            ]
        })
        .collect();
    markdown(&header, &body)
}

/// A Markdown table with padded columns.
pub fn markdown<const N: usize>(header: &[String; N], body: &[[String; N]]) -> String {
    let body: Vec<Vec<String>> = body.iter().map(|line| line.to_vec()).collect();
    markdown_vec(header, &body)
}

/// A Markdown table with padded columns, for tables whose column count is chosen at run
/// time (one column per storage setup, say). Short lines are padded with empty cells.
pub fn markdown_vec(header: &[String], body: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in body {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt_line = |cells: &[String]| {
        let mut s = String::from("|");
        for (k, w) in widths.iter().enumerate() {
            let c = cells.get(k).map_or("", String::as_str);
            let pad = w - c.chars().count().min(*w);
            s.push(' ');
            s.push_str(c);
            s.push_str(&" ".repeat(pad));
            s.push_str(" |");
        }
        s.push('\n');
        s
    };
    let mut out = fmt_line(header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&fmt_line(&rule));
    for line in body {
        out.push_str(&fmt_line(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_three_and_cell() {
        let s = Samples(vec![3.0, 1.0, 2.0]);
        assert_eq!(s.median(), Some(2.0));
        assert_eq!(s.cell(), "2.00 [1.00–3.00]");
        assert_eq!(Samples::default().cell(), "-");
    }

    #[test]
    fn table_has_ratio_of_medians() {
        let row = Row {
            scenario: "post".into(),
            metric: "posts/s".into(),
            transport: None,
            zchat: Cell::Samples(Samples(vec![50.0])),
            raw: Cell::Samples(Samples(vec![100.0])),
            irc: Cell::None,
        };
        let t = render(&[row], Transport::Curve);
        assert!(t.contains("zchat (curve)"), "{t}");
        assert!(t.contains("| 0.50 "), "{t}");
    }
}
