//! The scenarios of the bench, each producing rows of the result table. Every scenario repeats
//! `repeats` times, interleaving zchat with its counterparts so that drift hits both alike.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use zchat_protocol::codec::encode;
use zchat_protocol::{topic, Event, EventEnvelope, Message, Reply, Request};

use crate::irc::IrcConn;
use crate::load::{self, Control, Publisher, ReqKind, Subscriber};
use crate::procs::{self, Ngircd, RawCluster, ZchatCluster};
use crate::stats::{quantile_ms, Cell, Row, Samples};
use crate::zchat::{self, RawDealer};

/// Sizes and durations of one bench run (resolved from flags and `--quick`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Repeats of each measurement.
    pub repeats: usize,
    /// Closed-loop client threads in the bench process.
    pub client_threads: usize,
    /// Message text length in bytes.
    pub text_len: usize,
    /// Concurrent posters per post-throughput run.
    pub post_clients: Vec<usize>,
    /// Warm-up before recording, per closed-loop run.
    pub warmup: Duration,
    /// Recording window per post-throughput run.
    pub post_window: Duration,
    /// Subscriber counts for fan-out.
    pub fanout_subs: Vec<usize>,
    /// Posts per second in fan-out.
    pub fanout_rate: f64,
    /// Measured posts per fan-out run.
    pub fanout_posts: u64,
    /// Concurrent logins in the login storm.
    pub storm_logins: usize,
    /// Posters during the login storm.
    pub storm_posters: usize,
    /// Messages stored for the history scenario.
    pub history_messages: u64,
    /// Page size when paging through history.
    pub history_page: u32,
    /// Upper bound on requests of any closed-loop run.
    pub max_requests: u64,
}

/// The systems under test and the references, alive for the whole run.
pub struct Systems {
    /// zchat's broker, proxy and server.
    pub zchat: ZchatCluster,
    /// Raw ZeroMQ broker/echo/proxy.
    pub raw: RawCluster,
    /// ngircd, or why not.
    pub irc: std::result::Result<Ngircd, String>,
    /// Session tokens of `post0..`, all joined to `#bench` and `#history`.
    pub tokens: Vec<String>,
}

const CHANNEL: &str = "bench";
const HISTORY_CHANNEL: &str = "history";

fn progress(msg: &str) {
    eprintln!("[{:>7.1}s] {msg}", load::now_ns() as f64 / 1e9);
}

/// Starts everything and prepares the users the scenarios need.
pub fn start(cfg: &Config, bin_dir: &std::path::Path) -> Result<Systems> {
    progress("starting zchat (broker, proxy, server) and the raw ZeroMQ counterparts");
    let zchat = ZchatCluster::start(bin_dir, false)?;
    let raw = RawCluster::start()?;
    let irc = match procs::ngircd_path() {
        None => Err("skipped (ngircd not installed: run scripts/bench-setup.sh)".to_string()),
        Some(bin) => Ngircd::start(&bin).map_err(|e| format!("skipped (ngircd failed: {e:#})")),
    };
    if let Err(why) = &irc {
        progress(why);
    }
    let users = cfg
        .post_clients
        .iter()
        .copied()
        .chain([cfg.storm_posters, 1])
        .max()
        .unwrap_or(1);
    progress(&format!(
        "registering and logging in {users} users (argon2id: slow on purpose)"
    ));
    let t = Instant::now();
    let api = zchat::Api::new(&zchat.frontend)?;
    let tokens = api.users("post", users)?;
    progress(&format!(
        "  {users} registrations + logins in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    api.join_all(CHANNEL, &tokens)?;
    api.join_all(HISTORY_CHANNEL, &tokens[..1])?;
    Ok(Systems {
        zchat,
        raw,
        irc,
        tokens,
    })
}

fn samples() -> Samples {
    Samples::default()
}

fn row(scenario: &str, metric: &str, zchat: Cell, raw: Cell, irc: Cell) -> Row {
    Row {
        scenario: scenario.into(),
        metric: metric.into(),
        zchat,
        raw,
        irc,
    }
}

/// Scenario 1 and its raw counterpart: closed-loop posts vs REQ→ROUTER/DEALER→REP echo.
pub fn post_throughput(cfg: &Config, sys: &Systems) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let echo_payload = zchat::send_frame(
        1,
        &"0".repeat(64),
        CHANNEL,
        zchat::text_of_len("p0.1 ", cfg.text_len),
        1,
    )?;
    for &n in &cfg.post_clients {
        let (mut z_rate, mut z_p50, mut z_p99) = (samples(), samples(), samples());
        let (mut r_rate, mut r_p50, mut r_p99) = (samples(), samples(), samples());
        let mut z_err = samples();
        let (mut z_cpu, mut r_cpu) = (samples(), samples());
        for rep in 0..cfg.repeats {
            progress(&format!("post throughput: {n} clients, repeat {}", rep + 1));
            let kind = ReqKind::Zchat {
                tokens: sys.tokens[..n].to_vec(),
                channel: CHANNEL.into(),
                text_len: cfg.text_len,
            };
            let cpu0 = procs::cpu_us_sum(&sys.zchat.pids());
            let (z, secs) = load::timed_closed_loop(
                &sys.zchat.frontend,
                &kind,
                n,
                cfg.client_threads,
                cfg.warmup,
                cfg.post_window,
                cfg.max_requests,
            )?;
            z_rate.push(z.ok as f64 / secs);
            z_p50.push(quantile_ms(&z.hist, 0.5));
            z_p99.push(quantile_ms(&z.hist, 0.99));
            z_err.push(z.errors as f64);
            let cpu = procs::cpu_us_sum(&sys.zchat.pids()) - cpu0;
            z_cpu.push(cpu as f64 / z.total.max(1) as f64);
            let kind = ReqKind::Raw {
                payload: echo_payload.clone(),
            };
            let cpu0 = procs::cpu_us_sum(&sys.raw.pids());
            let (r, secs) = load::timed_closed_loop(
                &sys.raw.frontend,
                &kind,
                n,
                cfg.client_threads,
                cfg.warmup,
                cfg.post_window,
                cfg.max_requests,
            )?;
            r_rate.push(r.ok as f64 / secs);
            r_p50.push(quantile_ms(&r.hist, 0.5));
            r_p99.push(quantile_ms(&r.hist, 0.99));
            let cpu = procs::cpu_us_sum(&sys.raw.pids()) - cpu0;
            r_cpu.push(cpu as f64 / r.total.max(1) as f64);
        }
        let sc = format!("post, {n} clients");
        for (metric, zs, rs) in [
            (
                "acked posts/s (raw: echo req/s)",
                z_rate,
                Cell::Samples(r_rate),
            ),
            ("round trip p50 ms", z_p50, Cell::Samples(r_p50)),
            ("round trip p99 ms", z_p99, Cell::Samples(r_p99)),
            (
                "backend CPU µs per post (raw: per echo)",
                z_cpu,
                Cell::Samples(r_cpu),
            ),
            ("error replies", z_err, Cell::None),
        ] {
            rows.push(row(&sc, metric, Cell::Samples(zs), rs, Cell::None));
        }
    }
    Ok(rows)
}

/// The size of zchat's event frame for a message of `text_len` bytes (the raw payload size).
fn event_frame_len(text_len: usize) -> Result<usize> {
    let m = Message {
        target: zchat::channel_target(CHANNEL),
        seq: 1_000,
        ts: zchat_protocol::now_millis(),
        from: "post0".into(),
        text: zchat::text_of_len("", text_len),
    };
    Ok(encode(&EventEnvelope::new(Event::Message { message: m }))?.len())
}

struct FanoutCells {
    rate: Samples,
    p50: Samples,
    p99: Samples,
    lost: Samples,
    ooo: Samples,
}

impl FanoutCells {
    fn new() -> Self {
        FanoutCells {
            rate: samples(),
            p50: samples(),
            p99: samples(),
            lost: samples(),
            ooo: samples(),
        }
    }

    fn push(&mut self, r: &load::FanoutResult) {
        self.rate.push(r.per_sec);
        self.p50.push(quantile_ms(&r.hist, 0.5));
        self.p99.push(quantile_ms(&r.hist, 0.99));
        self.lost.push(r.lost as f64);
        self.ooo.push(r.out_of_order as f64);
    }
}

/// Scenario 2 and its counterparts: zchat, raw PUB→XSUB/XPUB→SUB, and ngircd.
pub fn fanout(cfg: &Config, sys: &Systems) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let raw_len = event_frame_len(cfg.text_len)?;
    let ctx = zmq::Context::new();
    let topic = topic::channel(CHANNEL);
    let mut irc_run = 0;
    for &n in &cfg.fanout_subs {
        let (mut z, mut r, mut i) = (FanoutCells::new(), FanoutCells::new(), FanoutCells::new());
        let mut irc_skip: Option<String> = sys.irc.as_ref().err().cloned();
        for rep in 0..cfg.repeats {
            progress(&format!("fan-out: {n} subscribers, repeat {}", rep + 1));
            // zchat
            let mut subs = Vec::with_capacity(n);
            for _ in 0..n {
                let s = ctx.socket(zmq::SUB)?;
                s.set_linger(0)?;
                s.set_rcvhwm(100_000)?;
                s.connect(&sys.zchat.xpub)?;
                s.set_subscribe(topic.as_bytes())?;
                subs.push(Subscriber::Zchat(s));
            }
            let sock = ctx.socket(zmq::DEALER)?;
            sock.set_linger(0)?;
            sock.connect(&sys.zchat.frontend)?;
            let p = Publisher::Zchat {
                sock,
                token: sys.tokens[0].clone(),
                channel: CHANNEL.into(),
                text_len: cfg.text_len,
                acked: 0,
                errors: 0,
                pending: 0,
            };
            let res = load::fanout(p, subs, cfg.fanout_posts, cfg.fanout_rate)
                .context("zchat fan-out")?;
            if res.publish_errors > 0 {
                progress(&format!(
                    "  zchat: {} error replies to posts",
                    res.publish_errors
                ));
            }
            progress(&format!(
                "  zchat: {} deliveries, {} lost",
                res.delivered, res.lost
            ));
            z.push(&res);
            // raw
            let mut subs = Vec::with_capacity(n);
            for _ in 0..n {
                let s = ctx.socket(zmq::SUB)?;
                s.set_linger(0)?;
                s.set_rcvhwm(100_000)?;
                s.connect(&sys.raw.xpub)?;
                s.set_subscribe(topic.as_bytes())?;
                subs.push(Subscriber::Raw(s));
            }
            let sock = ctx.socket(zmq::PUB)?;
            sock.set_linger(0)?;
            sock.set_sndhwm(100_000)?;
            sock.connect(&sys.raw.xsub)?;
            let p = Publisher::Raw {
                sock,
                topic: topic.clone().into_bytes(),
                len: raw_len,
            };
            r.push(
                &load::fanout(p, subs, cfg.fanout_posts, cfg.fanout_rate).context("raw fan-out")?,
            );
            // ngircd
            if let (Ok(irc), None) = (&sys.irc, &irc_skip) {
                irc_run += 1;
                let attempt = (|| -> Result<load::FanoutResult> {
                    let chan = format!("#bench{irc_run}");
                    let mut subs = Vec::with_capacity(n);
                    for k in 0..n {
                        subs.push(Subscriber::Irc(IrcConn::join(
                            &irc.addr,
                            &format!("r{irc_run}x{k}"),
                            &chan,
                        )?));
                    }
                    let p = Publisher::Irc {
                        conn: IrcConn::join(&irc.addr, &format!("s{irc_run}"), &chan)?,
                        channel: chan,
                        text_len: cfg.text_len,
                    };
                    load::fanout(p, subs, cfg.fanout_posts, cfg.fanout_rate)
                })();
                match attempt {
                    Ok(res) => i.push(&res),
                    Err(e) => {
                        progress(&format!("  ngircd fan-out failed: {e:#}"));
                        irc_skip = Some(format!("failed: {e:#}"));
                    }
                }
            }
        }
        let irc_cell = |s: Samples| match &irc_skip {
            Some(why) => Cell::Note(why.clone()),
            None => Cell::Samples(s),
        };
        let sc = format!("fan-out, {n} subs @{}/s", cfg.fanout_rate);
        for (metric, zs, rs, is) in [
            ("delivered msgs/s", z.rate, r.rate, i.rate),
            ("post→delivery p50 ms", z.p50, r.p50, i.p50),
            ("post→delivery p99 ms", z.p99, r.p99, i.p99),
            ("lost deliveries", z.lost, r.lost, i.lost),
            ("out-of-order deliveries", z.ooo, r.ooo, i.ooo),
        ] {
            rows.push(row(
                &sc,
                metric,
                Cell::Samples(zs),
                Cell::Samples(rs),
                irc_cell(is),
            ));
        }
    }
    Ok(rows)
}

/// Scenario 3: posters' p99 while `storm_logins` logins run at once, against an idle run.
pub fn login_storm(cfg: &Config, sys: &Systems) -> Result<Vec<Row>> {
    let posters = cfg.storm_posters.min(sys.tokens.len());
    let kind = ReqKind::Zchat {
        tokens: sys.tokens[..posters].to_vec(),
        channel: CHANNEL.into(),
        text_len: cfg.text_len,
    };
    let names: Vec<String> = (0..cfg.storm_logins)
        .map(|i| format!("post{}", i % sys.tokens.len()))
        .collect();
    let (mut idle, mut storm, mut ratio) = (samples(), samples(), samples());
    let (mut login_rate, mut login_p99, mut storm_secs) = (samples(), samples(), samples());
    let ctx = zmq::Context::new();
    for rep in 0..cfg.repeats {
        progress(&format!(
            "login storm: {posters} posters + {} logins, repeat {}",
            cfg.storm_logins,
            rep + 1
        ));
        // The storm: posters run, then every login is sent at once, each on its own socket.
        let ctl = Arc::new(Control::default());
        let deadline = Instant::now() + Duration::from_secs(120);
        let frontend = sys.zchat.frontend.clone();
        let (posted, storm_dur, login_lat) = std::thread::scope(|s| -> Result<_> {
            let h = s.spawn(|| {
                load::closed_loop(
                    &frontend,
                    &kind,
                    posters,
                    cfg.client_threads,
                    &ctl,
                    deadline,
                    cfg.max_requests,
                )
            });
            std::thread::sleep(cfg.warmup);
            let mut clients = Vec::with_capacity(names.len());
            for _ in &names {
                clients.push(RawDealer::connect(&ctx, &frontend)?);
            }
            ctl.record.store(true, Ordering::Relaxed);
            let t0 = Instant::now();
            for (c, u) in clients.iter_mut().zip(&names) {
                c.send(Request::Login {
                    user: u.clone(),
                    password: zchat::PASSWORD.into(),
                })?;
            }
            let mut lat = crate::stats::latency_histogram();
            let mut result = Ok(());
            for c in clients.iter_mut() {
                let left = Duration::from_secs(60).saturating_sub(t0.elapsed());
                match c.recv(left) {
                    Ok(env) if matches!(env.body, Reply::Session { .. }) => {
                        crate::stats::record_ns(&mut lat, t0.elapsed().as_nanos() as u64)
                    }
                    Ok(env) => {
                        result = Err(anyhow::anyhow!("login answered {:?}", env.body));
                        break;
                    }
                    Err(e) => {
                        result = Err(e.context("login storm"));
                        break;
                    }
                }
            }
            let dur = t0.elapsed();
            ctl.record.store(false, Ordering::Relaxed);
            ctl.stop.store(true, Ordering::Relaxed);
            let posted = h
                .join()
                .map_err(|_| anyhow::anyhow!("posters panicked"))??;
            result?;
            Ok((posted, dur, lat))
        })?;
        // The idle run: same posters, same window, no logins.
        let (quiet, _) = load::timed_closed_loop(
            &sys.zchat.frontend,
            &kind,
            posters,
            cfg.client_threads,
            cfg.warmup,
            storm_dur.max(Duration::from_millis(200)),
            cfg.max_requests,
        )?;
        let (pi, ps) = (
            quantile_ms(&quiet.hist, 0.99),
            quantile_ms(&posted.hist, 0.99),
        );
        idle.push(pi);
        storm.push(ps);
        ratio.push(if pi > 0.0 { ps / pi } else { 0.0 });
        login_rate.push(cfg.storm_logins as f64 / storm_dur.as_secs_f64());
        login_p99.push(quantile_ms(&login_lat, 0.99));
        storm_secs.push(storm_dur.as_secs_f64());
    }
    let sc = format!(
        "login storm, {posters} posters + {} logins",
        cfg.storm_logins
    );
    Ok(vec![
        row(
            &sc,
            "posters' p99 ms, idle",
            Cell::Samples(idle),
            Cell::None,
            Cell::None,
        ),
        row(
            &sc,
            "posters' p99 ms, during storm",
            Cell::Samples(storm),
            Cell::None,
            Cell::None,
        ),
        row(
            &sc,
            "storm p99 / idle p99",
            Cell::Samples(ratio),
            Cell::None,
            Cell::None,
        ),
        row(
            &sc,
            "storm duration s",
            Cell::Samples(storm_secs),
            Cell::None,
            Cell::None,
        ),
        row(
            &sc,
            "logins/s",
            Cell::Samples(login_rate),
            Cell::None,
            Cell::None,
        ),
        row(
            &sc,
            "login latency p99 ms",
            Cell::Samples(login_p99),
            Cell::None,
            Cell::None,
        ),
    ])
}

/// Scenario 4: store `history_messages` in one channel, then page through them.
pub fn history(cfg: &Config, sys: &Systems) -> Result<Vec<Row>> {
    let m = cfg.history_messages;
    progress(&format!("history: storing {m} messages"));
    let seeders = 8.min(sys.tokens.len()).max(1);
    let tokens = &sys.tokens[..seeders];
    let api = zchat::Api::new(&sys.zchat.frontend)?;
    api.join_all(HISTORY_CHANNEL, tokens)?;
    let kind = ReqKind::Zchat {
        tokens: tokens.to_vec(),
        channel: HISTORY_CHANNEL.into(),
        text_len: cfg.text_len,
    };
    let ctl = Arc::new(Control::default());
    ctl.record.store(true, Ordering::Relaxed);
    let t = Instant::now();
    let seeded = load::closed_loop(
        &sys.zchat.frontend,
        &kind,
        seeders,
        cfg.client_threads,
        &ctl,
        Instant::now() + Duration::from_secs(600),
        m,
    )?;
    let seed_rate = seeded.ok as f64 / t.elapsed().as_secs_f64();
    progress(&format!(
        "  stored {} messages at {seed_rate:.0}/s",
        seeded.ok
    ));
    let pid = sys.zchat.server_pid();
    let rss_before = procs::rss_mib(pid).map(|r| r.0);
    let (mut rate, mut rss, mut hwm, mut pages_p99) = (samples(), samples(), samples(), samples());
    // Paged through the typed API, as a real client pages: its overhead (a hand-off to its
    // socket thread) is small beside a page's query and transfer.
    let client = api.client(Duration::from_secs(30), Some(&sys.tokens[0]))?;
    for rep in 0..cfg.repeats {
        progress(&format!("history: paging, repeat {}", rep + 1));
        let mut after = 0u64;
        let mut total = 0u64;
        let mut lat = crate::stats::latency_histogram();
        let t = Instant::now();
        // Bounded: at most enough pages for every stored message, plus slack.
        let max_pages = m / cfg.history_page.max(1) as u64 + 10;
        for _ in 0..max_pages {
            let t1 = Instant::now();
            let page = api
                .history_after(&client, HISTORY_CHANNEL, after, cfg.history_page)
                .context("history")?;
            crate::stats::record_ns(&mut lat, t1.elapsed().as_nanos() as u64);
            total += page.messages.len() as u64;
            match page.messages.last() {
                Some(last) => after = last.seq,
                None => break,
            }
            if !page.has_more {
                break;
            }
        }
        rate.push(total as f64 / t.elapsed().as_secs_f64());
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
