//! Storage engines (issue 13): acknowledged posts/s and history paging on SQLite, on
//! PostgreSQL behind one server and behind three, with the raw ZeroMQ echo of the same run
//! beside them.
//!
//! Every setup is a `zchat_backend::testkit` cluster of the real binaries (one broker, one
//! proxy, one or three servers) over the main transport; the PostgreSQL setups share one
//! real PostgreSQL (`test_postgres`: Debian's server in a temp dir on a loopback port), each
//! on a database of its own. All of them stay up for the whole scenario and are measured in
//! turn within every repeat (setup after setup, then the raw echo), so drift on the machine
//! hits them alike. The load is the post scenario's closed loop ([`load::timed_closed_loop`]);
//! history is seeded and paged as in the history scenario.

use std::time::Duration;

use anyhow::{Context, Result};
use zchat_backend::test_postgres::Postgres;
use zchat_backend::testkit::Cluster;

use crate::load::{self, ReqKind};
use crate::procs::{self, RawCluster};
use crate::stats::{fmt_num, markdown_vec, quantile_ms, Samples};
use crate::transport::{Endpoint, Transport};
use crate::zchat::{self};

use super::history::{page_through, seed};
use super::*;

/// A storage setup the engines scenario measures (`--engines`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Setup {
    /// One server on SQLite (the default engine), one broker, one proxy.
    Sqlite,
    /// One server on PostgreSQL, one broker, one proxy.
    Postgres,
    /// Three servers on one PostgreSQL database, one broker, one proxy.
    #[value(name = "postgres-3")]
    Postgres3,
}

impl Setup {
    /// The column heading.
    fn title(self) -> &'static str {
        match self {
            Setup::Sqlite => "SQLite, 1 server",
            Setup::Postgres => "PostgreSQL, 1 server",
            Setup::Postgres3 => "PostgreSQL, 3 servers",
        }
    }

    fn servers(self) -> usize {
        match self {
            Setup::Postgres3 => 3,
            _ => 1,
        }
    }

    fn on_postgres(self) -> bool {
        self != Setup::Sqlite
    }
}

/// One running setup with its signed-in users.
struct EngineStack {
    setup: Setup,
    cluster: Cluster,
    frontend: Endpoint,
    /// Session tokens of `post0..`, all joined to `#bench` (and the first 8 to `#history`).
    tokens: Vec<String>,
    /// The database URL, for PostgreSQL's commit counter.
    db: Option<String>,
}

impl EngineStack {
    /// Brokers, proxies and servers: the processes whose CPU counts as zchat's.
    fn pids(&self) -> Vec<u32> {
        let c = &self.cluster;
        (0..c.broker_count())
            .filter_map(|i| c.broker_pid_nth(i))
            .chain((0..c.proxy_count()).filter_map(|i| c.proxy_pid_nth(i)))
            .chain(self.server_pids())
            .collect()
    }

    fn server_pids(&self) -> Vec<u32> {
        let c = &self.cluster;
        (0..c.server_count())
            .filter_map(|i| c.server_pid_nth(i))
            .collect()
    }
}

/// A figure per setup (in `--engines` order) and, for some, the raw echo's.
#[derive(Default, Clone)]
struct Line {
    scenario: String,
    metric: String,
    per_setup: Vec<Option<Samples>>,
    raw: Option<Samples>,
}

impl Line {
    fn new(scenario: &str, metric: &str, setups: usize) -> Line {
        Line {
            scenario: scenario.into(),
            metric: metric.into(),
            per_setup: vec![None; setups],
            raw: None,
        }
    }

    fn push(&mut self, k: usize, v: f64) {
        if let Some(slot) = self.per_setup.get_mut(k) {
            slot.get_or_insert_with(Samples::default).push(v);
        }
    }
}

/// PostgreSQL's write-transaction counter and WAL position, read together: the next
/// transaction id (`txid_current()`, which gives this very read an id too, so two reads are
/// one apart when nothing else wrote) and the WAL insert position in bytes. Exact and
/// immediate, unlike `pg_stat_database`, which backends flush lazily.
fn pg_counters(url: &str) -> Result<(i64, i64)> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).context("connect to PostgreSQL")?;
    let row = c
        .query_one(
            "SELECT txid_current()::bigint, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint",
            &[],
        )
        .context("read txid_current() and the WAL position")?;
    Ok((row.get(0), row.get(1)))
}

/// Starts a setup, registers `users` users and joins them to the channels.
fn start_setup(
    setup: Setup,
    transport: Transport,
    pg: Option<&Postgres>,
    users: usize,
) -> Result<EngineStack> {
    progress(&format!(
        "engines: starting {} (broker, proxy, {} server{})",
        setup.title(),
        setup.servers(),
        if setup.servers() > 1 { "s" } else { "" }
    ));
    let mut b = Cluster::builder().servers(setup.servers());
    if transport == Transport::Plaintext {
        b = b.plaintext();
    }
    let mut db = None;
    if setup.on_postgres() {
        let pg = pg.context("no PostgreSQL")?;
        let url = pg.fresh_database()?;
        b = b.db(url.clone());
        db = Some(url);
    }
    let cluster = b.start()?;
    let frontend = zchat::cluster_frontend(&cluster, 0)?;
    let api = zchat::Api::new(&frontend)?;
    let tokens = api.users("post", users)?;
    api.join_all(CHANNEL, &tokens)?;
    api.join_all(HISTORY_CHANNEL, &tokens[..8.min(tokens.len())])?;
    Ok(EngineStack {
        setup,
        cluster,
        frontend,
        tokens,
        db,
    })
}

/// PostgreSQL for the scenarios that need it. Without one (not installed, cannot start),
/// the answer is why, for the table, except under `CI=true`, where it is an error: CI
/// installs PostgreSQL (scripts/test-deps.sh) and must not skip silently.
pub(super) fn postgres_or_skip() -> Result<std::result::Result<Postgres, String>> {
    match Postgres::start() {
        Ok(pg) => Ok(Ok(pg)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => Err(e),
        Err(e) => {
            let why = format!("skipped (PostgreSQL could not start: {e:#})");
            progress(&why);
            Ok(Err(why))
        }
    }
}

/// The engines scenario: a Markdown section (heading, table, notes) for the report.
pub fn engines(cfg: &Config) -> Result<String> {
    let transport = cfg.transports[0];
    let need_pg = cfg.engine_setups.iter().any(|s| s.on_postgres());
    let pg = if need_pg {
        progress("engines: starting PostgreSQL (initdb in a temp dir)");
        postgres_or_skip()?
    } else {
        Err("not asked for".to_string())
    };
    let users = cfg.engine_clients.iter().copied().max().unwrap_or(1).max(8);
    let mut stacks = Vec::new();
    let mut skipped: Vec<(Setup, String)> = Vec::new();
    for &setup in &cfg.engine_setups {
        match (&pg, setup.on_postgres()) {
            (Err(why), true) => skipped.push((setup, why.clone())),
            (Ok(pg), _) => stacks.push(start_setup(setup, transport, Some(pg), users)?),
            (Err(_), false) => stacks.push(start_setup(setup, transport, None, users)?),
        }
    }
    progress(&format!(
        "engines: starting the raw ZeroMQ counterpart over {}",
        transport.name()
    ));
    let raw = RawCluster::start(transport)?;
    let n_setups = stacks.len();
    let mut lines: Vec<Line> = Vec::new();
    let echo = zchat::send_frame(
        1,
        &"0".repeat(64),
        CHANNEL,
        zchat::text_of_len("p0.1 ", cfg.text_len),
        1,
    )?;
    for &n in &cfg.engine_clients {
        let sc = format!("post, {n} clients");
        let mut rate = Line::new(&sc, "acked posts/s (raw: echo req/s)", n_setups);
        let mut p50 = Line::new(&sc, "round trip p50 ms", n_setups);
        let mut p99 = Line::new(&sc, "round trip p99 ms", n_setups);
        let mut cpu = Line::new(
            &sc,
            "backend CPU µs per post: broker + proxy + servers (raw: broker + echo)",
            n_setups,
        );
        let mut server_cpu = Line::new(&sc, "  of which servers, µs per post", n_setups);
        let mut pg_cpu = Line::new(
            &sc,
            "PostgreSQL CPU µs per post (all its processes)",
            n_setups,
        );
        let mut per_commit = Line::new(&sc, "posts per PostgreSQL write transaction", n_setups);
        let mut wal = Line::new(&sc, "PostgreSQL WAL bytes per post", n_setups);
        let mut errors = Line::new(&sc, "error replies", n_setups);
        let (mut r_rate, mut r_p50, mut r_p99, mut r_cpu) =
            (samples(), samples(), samples(), samples());
        for rep in 0..cfg.repeats {
            for (k, st) in stacks.iter().enumerate() {
                progress(&format!(
                    "engines: post, {n} clients, {}, repeat {}",
                    st.setup.title(),
                    rep + 1
                ));
                let kind = ReqKind::Zchat {
                    tokens: st.tokens[..n.min(st.tokens.len())].to_vec(),
                    channel: CHANNEL.into(),
                    text_len: cfg.text_len,
                };
                let pids = st.pids();
                let servers = st.server_pids();
                let pg_pids = match (&pg, st.setup.on_postgres()) {
                    (Ok(pg), true) => pg.pid().map(procs::with_children).unwrap_or_default(),
                    _ => Vec::new(),
                };
                let pg0 = match &st.db {
                    Some(url) => Some(pg_counters(url)?),
                    None => None,
                };
                let (c0, s0, g0) = (
                    procs::cpu_us_sum(&pids),
                    procs::cpu_us_sum(&servers),
                    procs::cpu_us_sum(&pg_pids),
                );
                let (res, secs) = load::timed_closed_loop(
                    &st.frontend,
                    &kind,
                    n,
                    cfg.client_threads,
                    cfg.warmup,
                    cfg.post_window,
                    cfg.max_requests,
                )?;
                let per = |d: u64| d as f64 / res.total.max(1) as f64;
                rate.push(k, res.ok as f64 / secs);
                p50.push(k, quantile_ms(&res.hist, 0.5));
                p99.push(k, quantile_ms(&res.hist, 0.99));
                cpu.push(k, per(procs::cpu_us_sum(&pids).saturating_sub(c0)));
                server_cpu.push(k, per(procs::cpu_us_sum(&servers).saturating_sub(s0)));
                errors.push(k, res.errors as f64);
                if let (Some((x0, w0)), Some(url)) = (pg0, &st.db) {
                    pg_cpu.push(k, per(procs::cpu_us_sum(&pg_pids).saturating_sub(g0)));
                    let (x1, w1) = pg_counters(url)?;
                    // Minus the first read's own transaction id.
                    let writes = (x1 - x0 - 1).max(1);
                    per_commit.push(k, res.total as f64 / writes as f64);
                    wal.push(k, (w1 - w0) as f64 / res.total.max(1) as f64);
                }
            }
            progress(&format!(
                "engines: raw echo, {n} clients, repeat {}",
                rep + 1
            ));
            let kind = ReqKind::Raw {
                payload: echo.clone(),
            };
            let pids = raw.pids();
            let c0 = procs::cpu_us_sum(&pids);
            let (res, secs) = load::timed_closed_loop(
                &raw.frontend,
                &kind,
                n,
                cfg.client_threads,
                cfg.warmup,
                cfg.post_window,
                cfg.max_requests,
            )?;
            r_rate.push(res.ok as f64 / secs);
            r_p50.push(quantile_ms(&res.hist, 0.5));
            r_p99.push(quantile_ms(&res.hist, 0.99));
            r_cpu
                .push(procs::cpu_us_sum(&pids).saturating_sub(c0) as f64 / res.total.max(1) as f64);
        }
        rate.raw = Some(r_rate);
        p50.raw = Some(r_p50);
        p99.raw = Some(r_p99);
        cpu.raw = Some(r_cpu);
        lines.extend([
            rate, p50, p99, cpu, server_cpu, pg_cpu, per_commit, wal, errors,
        ]);
    }
    // History: seeded by 8 closed-loop posters, then paged through, on every setup.
    let m = cfg.engine_history_messages;
    let sc = format!("history, {m} msgs, pages of {}", cfg.history_page);
    let mut seeding = Line::new(&sc, "seeding posts/s (8 clients)", n_setups);
    let mut paged = Line::new(&sc, "paged msgs/s", n_setups);
    let mut page_p99 = Line::new(&sc, "page round trip p99 ms", n_setups);
    let mut apis = Vec::new();
    for (k, st) in stacks.iter().enumerate() {
        progress(&format!(
            "engines: history, storing {m} messages on {}",
            st.setup.title()
        ));
        let seeders = &st.tokens[..8.min(st.tokens.len())];
        let (stored, per_s) = seed(cfg, &st.frontend, seeders, HISTORY_CHANNEL, m)?;
        if stored < m {
            progress(&format!("  stored only {stored} of {m}"));
        }
        seeding.push(k, per_s);
        let api = zchat::Api::new(&st.frontend)?;
        let client = api.client(Duration::from_secs(30), Some(&st.tokens[0]))?;
        apis.push((api, client));
    }
    for rep in 0..cfg.repeats {
        for (k, (st, (api, client))) in stacks.iter().zip(&apis).enumerate() {
            progress(&format!(
                "engines: history paging, {}, repeat {}",
                st.setup.title(),
                rep + 1
            ));
            let (total, secs, lat) =
                page_through(api, client, HISTORY_CHANNEL, m, cfg.history_page)?;
            if total < m {
                progress(&format!("  paged only {total} of {m} messages"));
            }
            paged.push(k, total as f64 / secs);
            page_p99.push(k, quantile_ms(&lat, 0.99));
        }
    }
    lines.extend([seeding, paged, page_p99]);
    Ok(render(cfg, &stacks, &skipped, &lines, transport))
}

/// The engines table: one column per setup, then the raw echo, then the ratio of the best
/// zchat setup's median to the raw one's.
fn render(
    cfg: &Config,
    stacks: &[EngineStack],
    skipped: &[(Setup, String)],
    lines: &[Line],
    transport: Transport,
) -> String {
    let mut header = vec!["scenario".to_string(), "metric".into()];
    header.extend(
        stacks
            .iter()
            .map(|s| format!("{} med [min–max]", s.setup.title())),
    );
    header.push(format!("raw ZeroMQ ({}) med [min–max]", transport.name()));
    let body: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            let mut cells = vec![l.scenario.clone(), l.metric.clone()];
            cells.extend(
                l.per_setup
                    .iter()
                    .map(|s| s.as_ref().map_or_else(|| "-".into(), Samples::cell)),
            );
            cells.push(l.raw.as_ref().map_or_else(|| "-".into(), Samples::cell));
            cells
        })
        .collect();
    let mut out = format!(
        "### Storage engines (`--only engines`): {} repeats, {}-byte messages, {} s windows, transport {}\n\n",
        cfg.repeats,
        cfg.text_len,
        fmt_num(cfg.post_window.as_secs_f64()),
        transport.name()
    );
    out.push_str(&markdown_vec(&header, &body));
    for (setup, why) in skipped {
        out.push_str(&format!("\n{}: {why}\n", setup.title()));
    }
    // Ratios to the raw echo at every client count, of medians.
    let mut notes = Vec::new();
    for l in lines
        .iter()
        .filter(|l| l.metric.starts_with("acked posts/s"))
    {
        let Some(raw) = l.raw.as_ref().and_then(Samples::median) else {
            continue;
        };
        let ratios: Vec<String> = stacks
            .iter()
            .zip(&l.per_setup)
            .filter_map(|(st, s)| {
                let m = s.as_ref()?.median()?;
                Some(format!("{} {:.2}", st.setup.title(), m / raw))
            })
            .collect();
        notes.push(format!("{}: zchat/raw {}", l.scenario, ratios.join(", ")));
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            out.push_str(&format!("- {n}\n"));
        }
    }
    out
}
