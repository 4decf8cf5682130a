//! History paging through a large conversation.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::load::{self, Control, ReqKind};
use crate::procs::{self};
use crate::stats::{quantile_ms, Cell, Row, Samples};
use crate::zchat::{self};

use super::*;

/// Stores `m` messages in `#channel` from `tokens.len()` closed-loop posters on `frontend`
/// (bounded by `m` posts and 600 s); returns how many were acknowledged and at what rate
/// (posts/s).
pub(super) fn seed(
    cfg: &Config,
    frontend: &crate::transport::Endpoint,
    tokens: &[String],
    channel: &str,
    m: u64,
) -> Result<(u64, f64)> {
    let kind = ReqKind::Zchat {
        tokens: tokens.to_vec(),
        channel: channel.into(),
        text_len: cfg.text_len,
    };
    let ctl = Arc::new(Control::default());
    ctl.record.store(true, Ordering::Relaxed);
    let t = Instant::now();
    let seeded = load::closed_loop(
        frontend,
        &kind,
        tokens.len(),
        cfg.client_threads,
        &ctl,
        Instant::now() + Duration::from_secs(600),
        m,
    )?;
    Ok((seeded.ok, seeded.ok as f64 / t.elapsed().as_secs_f64()))
}

/// One pass through `#channel` with `history {after, limit: page}` until `has_more` is
/// false (at most enough pages for `m` messages, plus slack): the messages paged, the time
/// it took in seconds, and each page's round trip.
pub(super) fn page_through(
    api: &zchat::Api,
    client: &zchat_client::Client,
    channel: &str,
    m: u64,
    page: u32,
) -> Result<(u64, f64, hdrhistogram::Histogram<u64>)> {
    let mut after = 0u64;
    let mut total = 0u64;
    let mut lat = crate::stats::latency_histogram();
    let t = Instant::now();
    let max_pages = m / u64::from(page.max(1)) + 10;
    for _ in 0..max_pages {
        let t1 = Instant::now();
        let got = api
            .history_after(client, channel, after, page)
            .context("history")?;
        crate::stats::record_ns(&mut lat, t1.elapsed().as_nanos() as u64);
        total += got.messages.len() as u64;
        match got.messages.last() {
            Some(last) => after = last.seq,
            None => break,
        }
        if !got.has_more {
            break;
        }
    }
    Ok((total, t.elapsed().as_secs_f64(), lat))
}

/// Scenario 4: store `history_messages` in one channel, then page through them.
pub fn history(cfg: &Config, sys: &Systems) -> Result<Vec<Row>> {
    let m = cfg.history_messages;
    progress(&format!("history: storing {m} messages"));
    let seeders = 8.min(sys.main().tokens.len()).max(1);
    let tokens = &sys.main().tokens[..seeders];
    let api = zchat::Api::new(&sys.main().zchat.frontend)?;
    api.join_all(HISTORY_CHANNEL, tokens)?;
    let (stored, seed_rate) = seed(cfg, &sys.main().zchat.frontend, tokens, HISTORY_CHANNEL, m)?;
    progress(&format!("  stored {stored} messages at {seed_rate:.0}/s"));
    let pid = sys.main().zchat.server_pid();
    let rss_before = procs::rss_mib(pid).map(|r| r.0);
    let (mut rate, mut rss, mut hwm, mut pages_p99) = (samples(), samples(), samples(), samples());
    // Paged through the typed API, as a real client pages: its overhead (a hand-off to its
    // socket thread) is small beside a page's query and transfer.
    let client = api.client(Duration::from_secs(30), Some(&sys.main().tokens[0]))?;
    for rep in 0..cfg.repeats {
        progress(&format!("history: paging, repeat {}", rep + 1));
        let (total, secs, lat) = page_through(&api, &client, HISTORY_CHANNEL, m, cfg.history_page)?;
        rate.push(total as f64 / secs);
        pages_p99.push(quantile_ms(&lat, 0.99));
        if let Some((r, h)) = procs::rss_mib(pid) {
            rss.push(r);
            hwm.push(h);
        }
        if total < m {
            progress(&format!("  paged only {total} of {m} messages"));
        }
    }
    let sc = format!("history, {m} msgs, pages of {}", cfg.history_page);
    let mut rows = vec![
        row(
            &sc,
            "paged msgs/s",
            Cell::Samples(rate),
            Cell::None,
            Cell::None,
        ),
        row(
            &sc,
            "page round trip p99 ms",
            Cell::Samples(pages_p99),
            Cell::None,
            Cell::None,
        ),
        row(
            &sc,
            "seeding posts/s (8 clients)",
            Cell::Samples(Samples(vec![seed_rate])),
            Cell::None,
            Cell::None,
        ),
    ];
    if let Some(r) = rss_before {
        rows.push(row(
            &sc,
            "server RSS MiB before paging",
            Cell::Samples(Samples(vec![r])),
            Cell::None,
            Cell::None,
        ));
    }
    rows.push(row(
        &sc,
        "server RSS MiB after paging",
        Cell::Samples(rss),
        Cell::None,
        Cell::None,
    ));
    rows.push(row(
        &sc,
        "server peak RSS MiB",
        Cell::Samples(hwm),
        Cell::None,
        Cell::None,
    ));
    Ok(rows)
}
