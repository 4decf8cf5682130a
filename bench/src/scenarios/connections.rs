//! Connections (issue 13): one broker and one proxy holding many connected clients, a crowd
//! of them in one channel; post → delivery latency to every member at a steady post rate,
//! and what each backend process's memory grows by per 1,000 clients.
//!
//! The clients are held by child processes of the bench (`conn-hold`, see
//! [`crate::load::connections`]), a few thousand each, so that no process needs more file
//! descriptors than the machine's hard limit. The channel's members are real users:
//! registered, logged in (one argon2id hash each, twice) and joined; their SUBs subscribe to
//! the channel and their inbox. The other clients hold a DEALER and a SUB with CURVE
//! handshakes done, each SUB subscribed to one of a hundred lobby channels, and ping like
//! the rest. One extra DEALER in the bench posts as the first member.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;

use crate::load::connections::{histogram_add_json, post_paced, HoldFiles, HoldSpec};
use crate::procs::{self, Proc, ZchatCluster};
use crate::stats::{latency_histogram, Cell, Row, Samples};
use crate::zchat;

use super::{progress, row, Config};

/// Sizes of the connections scenario (`--conn-*`).
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// Connected clients in all (each a DEALER and a SUB).
    pub clients: usize,
    /// Of them, members of the channel (real users, logged in and joined).
    pub channel: usize,
    /// Posts per second to the channel.
    pub rate: f64,
    /// Measured posts.
    pub posts: u64,
    /// Each client pings this often.
    pub ping_every: Duration,
    /// Holder processes (0: one per 2,500 clients).
    pub procs: usize,
    /// Clients each holder opens per second.
    pub connect_rate: f64,
}

/// The channel the members join.
const CROWD: &str = "crowd";
/// Clients per holder process when `--conn-procs` is not given: 2 fds a socket (the TCP
/// connection and libzmq's mailbox), 2 sockets a client, so 10,000 fds a holder.
const CLIENTS_PER_HOLDER: usize = 2_500;

/// One figure, one sample.
fn one(x: f64) -> Cell {
    Cell::Samples(Samples(vec![x]))
}

fn rss(pid: u32) -> f64 {
    procs::rss_mib(pid).map_or(0.0, |(now, _)| now)
}

/// Waits (bounded) for `path` to hold JSON, failing early if `holders` die.
fn wait_json(path: &Path, holders: &mut [Proc], budget: Duration) -> Result<serde_json::Value> {
    let deadline = Instant::now() + budget;
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            return Ok(serde_json::from_slice(&bytes)?);
        }
        for h in holders.iter_mut() {
            h.check_alive()?;
        }
        if Instant::now() > deadline {
            bail!("{} not written within {budget:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the connections scenario on a zchat of its own (the main transport).
pub fn connections(cfg: &Config, bin_dir: &Path) -> Result<Vec<Row>> {
    let c = &cfg.connections;
    let clients = c.clients.max(1);
    let members = c.channel.clamp(1, clients);
    let (before, after) = procs::raise_fd_limit()?;
    progress(&format!(
        "connections: {clients} clients, {members} in #{CROWD}; open-file limit {before} → {after}"
    ));
    let transport = cfg.transports[0];
    let zchat = ZchatCluster::start(bin_dir, false, transport)?;
    let [broker, proxy, server] = zchat.pids();
    progress(&format!(
        "  registering, logging in and joining {members} members (argon2id: ~50 hashes/s here)"
    ));
    let t = Instant::now();
    let api = zchat::Api::new(&zchat.frontend)?;
    let sessions = api.sessions("conn", members)?;
    let tokens: Vec<String> = sessions.iter().map(|s| s.token.clone()).collect();
    api.join_all(CROWD, &tokens)?;
    drop(api);
    progress(&format!(
        "  members ready in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    std::thread::sleep(Duration::from_secs(1));
    let rss0 = [rss(broker), rss(proxy), rss(server)];

    // Holders: clients split evenly, members dealt round robin.
    let holders_n = if c.procs > 0 {
        c.procs
    } else {
        clients.div_ceil(CLIENTS_PER_HOLDER)
    }
    .clamp(1, clients);
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let mut holders = Vec::with_capacity(holders_n);
    let mut files = Vec::with_capacity(holders_n);
    let mut setup_budget = Duration::ZERO;
    for k in 0..holders_n {
        let n = clients / holders_n + usize::from(k < clients % holders_n);
        let mine: Vec<String> = sessions
            .iter()
            .skip(k)
            .step_by(holders_n)
            .map(|s| s.inbox.clone())
            .collect();
        let budget = Duration::from_secs_f64(n as f64 / c.connect_rate + 60.0);
        setup_budget = setup_budget.max(budget);
        let spec = HoldSpec {
            id: u32::try_from(k)?,
            frontend: zchat.frontend.clone(),
            xpub: zchat.xpub.clone(),
            clients: n,
            members: mine,
            channel: CROWD.into(),
            ping_every: c.ping_every,
            connect_per_sec: c.connect_rate,
            setup_budget: budget,
            max_run: budget
                + Duration::from_secs_f64(c.posts as f64 / c.rate)
                + Duration::from_secs(120),
            io_threads: 1,
        };
        let path = dir.path().join(format!("holder{k}.json"));
        std::fs::write(&path, serde_json::to_vec(&spec.to_json())?)?;
        let mut cmd = Command::new(&exe);
        cmd.arg("conn-hold").arg(&path);
        holders.push(Proc::spawn(&format!("holder {k}"), cmd, false)?);
        files.push(HoldFiles::of(&path));
    }
    progress(&format!(
        "  {holders_n} holder processes opening {clients} clients at {}/s each",
        c.connect_rate
    ));
    let t = Instant::now();
    let (mut subs_ok, mut dealers_ok, mut setup_secs) = (0u64, 0u64, 0f64);
    for f in &files {
        let ready = wait_json(
            &f.ready,
            &mut holders,
            setup_budget + Duration::from_secs(40),
        )?;
        subs_ok += ready["subs"].as_u64().unwrap_or(0);
        dealers_ok += ready["dealers"].as_u64().unwrap_or(0);
        setup_secs = setup_secs.max(ready["setup_secs"].as_f64().unwrap_or(0.0));
    }
    progress(&format!(
        "  {dealers_ok} DEALERs answered a ping and {subs_ok} SUBs got their probe in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    std::thread::sleep(Duration::from_secs(2));
    let rss_n = [rss(broker), rss(proxy), rss(server)];
    let holders_rss: f64 = holders.iter().map(|h| rss(h.pid())).sum();

    progress(&format!(
        "  posting {} messages at {}/s to #{CROWD}",
        c.posts, c.rate
    ));
    let ctx = zmq::Context::new();
    let cpu0 = procs::cpu_us_sum(&[broker, proxy, server]);
    let holder_pids: Vec<u32> = holders.iter().map(Proc::pid).collect();
    let holders_cpu0 = procs::cpu_us_sum(&holder_pids);
    let t = Instant::now();
    let posted = post_paced(
        &ctx,
        &zchat.frontend,
        &tokens[0],
        CROWD,
        cfg.text_len,
        c.posts,
        c.rate,
    )?;
    let window = t.elapsed().as_secs_f64();
    let cpu = procs::cpu_us_sum(&[broker, proxy, server]).saturating_sub(cpu0) as f64 / 1e6;
    let holders_cpu = procs::cpu_us_sum(&holder_pids).saturating_sub(holders_cpu0) as f64 / 1e6;
    // Deliveries are in flight for milliseconds; let the last ones land.
    std::thread::sleep(Duration::from_secs(2));
    for f in &files {
        std::fs::write(&f.stop, b"")?;
    }
    let mut latency: Histogram<u64> = latency_histogram();
    let mut ping_rtt: Histogram<u64> = latency_histogram();
    let (mut delivered, mut lost, mut ooo) = (0u64, 0u64, 0u64);
    let (mut pings, mut pongs, mut ping_errors) = (0u64, 0u64, 0u64);
    for f in &files {
        let r = wait_json(&f.result, &mut holders, Duration::from_secs(30))?;
        histogram_add_json(&mut latency, &r["deliveries"]);
        histogram_add_json(&mut ping_rtt, &r["ping_rtt"]);
        for g in r["got"].as_array().context("result: got")? {
            let g = g.as_u64().unwrap_or(0);
            delivered += g;
            lost += posted.acked.saturating_sub(g);
        }
        ooo += r["out_of_order"].as_u64().unwrap_or(0);
        pings += r["pings"].as_u64().unwrap_or(0);
        pongs += r["pongs"].as_u64().unwrap_or(0);
        ping_errors += r["ping_errors"].as_u64().unwrap_or(0);
    }
    drop(holders);
    progress(&format!(
        "  {delivered} deliveries of {} acked posts ({} errors), {lost} lost; {pongs} of {pings} pings answered",
        posted.acked, posted.errors
    ));

    let ms = |h: &Histogram<u64>, q: f64| crate::stats::quantile_ms(h, q);
    let sc = format!(
        "connections, {clients} clients ({members} in #{CROWD}) @{}/s",
        c.rate
    );
    let mut rows = Vec::new();
    let mut add =
        |metric: &str, x: f64| rows.push(row(&sc, metric, one(x), Cell::None, Cell::None));
    add(
        "clients connected (DEALER pong + SUB probe)",
        dealers_ok.min(subs_ok) as f64,
    );
    add("DEALERs answered a ping", dealers_ok as f64);
    add("SUBs confirmed", subs_ok as f64);
    add("connect time s", setup_secs);
    add("posts acked", posted.acked as f64);
    add("post error replies", posted.errors as f64);
    add("deliveries (posts × members)", delivered as f64);
    add("lost deliveries", lost as f64);
    add("out-of-order deliveries", ooo as f64);
    add("post→delivery p50 ms", ms(&latency, 0.5));
    add("post→delivery p99 ms", ms(&latency, 0.99));
    add("post→delivery max ms", ms(&latency, 1.0));
    add("pings/s (all clients)", pings as f64 / window.max(1e-9));
    add("ping round trip p99 ms", ms(&ping_rtt, 0.99));
    add(
        "unanswered pings + ping errors",
        (pings.saturating_sub(pongs) + ping_errors) as f64,
    );
    add(
        "backend CPU while posting, % of a core",
        100.0 * cpu / window.max(1e-9),
    );
    add(
        "bench holders' CPU while posting, % of a core",
        100.0 * holders_cpu / window.max(1e-9),
    );
    let per_k = |a: f64, b: f64| (b - a) / (clients as f64 / 1_000.0);
    for (k, name) in ["broker", "proxy", "server"].iter().enumerate() {
        add(&format!("{name} RSS MiB, members only"), rss0[k]);
        add(&format!("{name} RSS MiB, {clients} clients"), rss_n[k]);
        add(
            &format!("{name} RSS MiB per 1,000 clients"),
            per_k(rss0[k], rss_n[k]),
        );
    }
    add(
        "bench holders' RSS MiB per 1,000 clients",
        holders_rss / (clients as f64 / 1_000.0),
    );
    Ok(rows)
}
