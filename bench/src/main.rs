//! `zchat-bench`: zchat against raw ZeroMQ and a real IRC server (ngircd), in one run.
//!
//! Starts the real broker, proxy and server on free loopback ports in a temp dir, the raw
//! ZeroMQ counterparts (as child processes of this binary) and, when installed, ngircd; drives
//! them all with real client sockets and prints one table. The `engines` and `failover`
//! scenarios (issue 13) start clusters of their own (`zchat_backend::testkit`) on SQLite and
//! on a real PostgreSQL (`test_postgres`), and print a section each. See `BENCHMARKS.md`.
//!
//! Everything targets 127.0.0.1, and every load loop is bounded in count and in time.

mod cost;
mod irc;
mod load;
mod procs;
mod raw;
mod scenarios;
mod stats;
mod transport;
mod tui;
mod zchat;

use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

use scenarios::Config;
use transport::Transport;

/// Benchmarks zchat against raw ZeroMQ and ngircd; prints a Markdown table on stdout.
#[derive(Parser, Debug)]
#[command(name = "zchat-bench", version)]
struct Cli {
    /// A smoke run of a few seconds (small sizes); explicit flags still override.
    #[arg(long, env = "ZCHAT_BENCH_QUICK", value_parser = clap::builder::FalseyValueParser::new())]
    quick: bool,
    /// Repeats of every measurement (min/median/max are reported).
    #[arg(long, default_value_t = 3, env = "ZCHAT_BENCH_REPEATS")]
    repeats: usize,
    /// Concurrent posters, comma-separated. [default: 1,8,64]
    #[arg(long, value_delimiter = ',', env = "ZCHAT_BENCH_POST_CLIENTS")]
    post_clients: Option<Vec<usize>>,
    /// Recording window of each post-throughput run, seconds. [default: 3; quick 0.3]
    #[arg(long, env = "ZCHAT_BENCH_POST_SECS")]
    post_secs: Option<f64>,
    /// Warm-up before each closed-loop recording, seconds. [default: 0.5; quick 0.1]
    #[arg(long, env = "ZCHAT_BENCH_WARMUP_SECS")]
    warmup_secs: Option<f64>,
    /// Subscriber counts for fan-out, comma-separated. [default: 1,10,100]
    #[arg(long, value_delimiter = ',', env = "ZCHAT_BENCH_FANOUT_SUBS")]
    fanout_subs: Option<Vec<usize>>,
    /// Fan-out publishing rate, posts per second.
    #[arg(long, default_value_t = 1000.0, env = "ZCHAT_BENCH_FANOUT_RATE")]
    fanout_rate: f64,
    /// Measured posts per fan-out run. [default: 3000; quick 200]
    #[arg(long, env = "ZCHAT_BENCH_FANOUT_POSTS")]
    fanout_posts: Option<u64>,
    /// Concurrent logins in the login storm. [default: 50; quick 10]
    #[arg(long, env = "ZCHAT_BENCH_STORM_LOGINS")]
    storm_logins: Option<usize>,
    /// Posters during the login storm.
    #[arg(long, default_value_t = 8, env = "ZCHAT_BENCH_STORM_POSTERS")]
    storm_posters: usize,
    /// Messages stored for the history scenario. [default: 100000; quick 5000]
    #[arg(long, env = "ZCHAT_BENCH_HISTORY_MESSAGES")]
    history_messages: Option<u64>,
    /// History page size (the protocol's maximum is 500).
    #[arg(long, default_value_t = 500, env = "ZCHAT_BENCH_HISTORY_PAGE")]
    history_page: u32,
    /// Message text length in bytes.
    #[arg(long, default_value_t = 200, env = "ZCHAT_BENCH_TEXT_LEN")]
    text_len: usize,
    /// Client threads in the bench process for closed-loop load.
    #[arg(long, default_value_t = 2, env = "ZCHAT_BENCH_CLIENT_THREADS")]
    client_threads: usize,
    /// Message counts for the client-frames scenario, comma-separated. [default:
    /// 1000,20000,100000; quick 1000,20000]
    #[arg(long, value_delimiter = ',', env = "ZCHAT_BENCH_TUI_MESSAGES")]
    tui_messages: Option<Vec<u64>>,
    /// Joined conversations in the client-frames scenario.
    #[arg(long, default_value_t = 200, env = "ZCHAT_BENCH_TUI_CONVERSATIONS")]
    tui_conversations: usize,
    /// Frames measured per kind (keystroke, incoming, PgUp). [default: 200; quick 30]
    #[arg(long, env = "ZCHAT_BENCH_TUI_FRAMES")]
    tui_frames: Option<usize>,
    /// Time budget of the client's scroll-through to the oldest message, seconds.
    #[arg(long, default_value_t = 60.0, env = "ZCHAT_BENCH_TUI_SCROLL_SECS")]
    tui_scroll_secs: f64,
    /// Transports of zchat and of raw ZeroMQ, comma-separated: `curve` (zchat's default),
    /// `plaintext`. The first one is the main table's; with both, the post and fan-out
    /// scenarios also run on a second zchat and raw pair in the other, interleaved per
    /// repeat, and a table of CURVE's cost follows. [default: curve; quick curve,plaintext]
    #[arg(long, value_delimiter = ',', value_enum, env = "ZCHAT_BENCH_TRANSPORT")]
    transport: Option<Vec<Transport>>,
    /// Connected clients in the connections scenario (a DEALER and a SUB each). [default:
    /// 10000; quick 300]
    #[arg(long, env = "ZCHAT_BENCH_CONN_CLIENTS")]
    conn_clients: Option<usize>,
    /// Of them, members of the one channel (registered, logged in, joined). [default:
    /// 2000; quick 100]
    #[arg(long, env = "ZCHAT_BENCH_CONN_CHANNEL")]
    conn_channel: Option<usize>,
    /// Posts per second to the channel in the connections scenario.
    #[arg(long, default_value_t = 10.0, env = "ZCHAT_BENCH_CONN_RATE")]
    conn_rate: f64,
    /// Measured posts in the connections scenario. [default: 200; quick 30]
    #[arg(long, env = "ZCHAT_BENCH_CONN_POSTS")]
    conn_posts: Option<u64>,
    /// How often each held client pings, seconds (the full-screen client's heartbeat: 1).
    #[arg(long, default_value_t = 10.0, env = "ZCHAT_BENCH_CONN_PING_SECS")]
    conn_ping_secs: f64,
    /// Holder processes for the connections scenario (0: one per 2,500 clients).
    #[arg(long, default_value_t = 0, env = "ZCHAT_BENCH_CONN_PROCS")]
    conn_procs: usize,
    /// Clients each holder opens per second.
    #[arg(long, default_value_t = 500.0, env = "ZCHAT_BENCH_CONN_CONNECT_RATE")]
    conn_connect_rate: f64,
    /// Storage setups of the engines scenario, comma-separated: `sqlite` (one server),
    /// `postgres` (one server on PostgreSQL), `postgres-3` (three servers on one PostgreSQL
    /// database); each behind one broker and one proxy, all measured in the same run beside
    /// the raw ZeroMQ echo.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "sqlite,postgres,postgres-3",
        env = "ZCHAT_BENCH_ENGINES"
    )]
    engines: Vec<scenarios::Setup>,
    /// Concurrent posters of the engines scenario, comma-separated. [default: 1,8,64;
    /// quick 1,8]
    #[arg(long, value_delimiter = ',', env = "ZCHAT_BENCH_ENGINE_CLIENTS")]
    engine_clients: Option<Vec<usize>>,
    /// Messages stored and paged through per setup in the engines scenario. [default:
    /// 20000; quick 1000]
    #[arg(long, env = "ZCHAT_BENCH_ENGINE_HISTORY_MESSAGES")]
    engine_history_messages: Option<u64>,
    /// Steady posters during the failover scenario, each on both brokers. [default: 8;
    /// quick 4]
    #[arg(long, env = "ZCHAT_BENCH_FAILOVER_POSTERS")]
    failover_posters: Option<usize>,
    /// Posts per second of each failover poster (closed loop: the next waits for the
    /// acknowledgement).
    #[arg(long, default_value_t = 50.0, env = "ZCHAT_BENCH_FAILOVER_RATE")]
    failover_rate: f64,
    /// Kills of each kind (server, broker, proxy) per request timeout. [default: 5; quick 1]
    #[arg(long, env = "ZCHAT_BENCH_FAILOVER_REPEATS")]
    failover_repeats: Option<usize>,
    /// The clients' request timeouts in seconds, comma-separated: the failover scenario
    /// runs once with each (3 is the client library's default).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "3,1",
        env = "ZCHAT_BENCH_FAILOVER_TIMEOUTS"
    )]
    failover_timeouts: Vec<f64>,
    /// Scenarios to run, comma-separated: post, fanout, storm, history, tui, engines
    /// (SQLite and PostgreSQL), failover (kill -9 of a server, a broker, a proxy). The last
    /// two start a real PostgreSQL (Debian's `postgresql` package; without it their cells
    /// read "skipped", except under CI=true, where that is an error), connections (10,000
    /// clients; not run unless named: it needs a quiet machine and minutes at full size).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "post,fanout,storm,history,tui,engines,failover",
        env = "ZCHAT_BENCH_ONLY"
    )]
    only: Vec<String>,
    /// Do not run `cargo build` for the backend binaries first (use what is there, or
    /// `$ZCHAT_BIN_DIR`).
    #[arg(long, env = "ZCHAT_BENCH_NO_BUILD", value_parser = clap::builder::FalseyValueParser::new())]
    no_build: bool,
    #[command(subcommand)]
    helper: Option<Helper>,
}

/// Internal: the raw-ZeroMQ processes the bench starts as its own children.
#[derive(Subcommand, Debug)]
#[allow(clippy::enum_variant_names)] // named after the subcommands `raw-*`
enum Helper {
    /// ROUTER/DEALER broker.
    #[command(hide = true)]
    RawBroker {
        /// ROUTER endpoint.
        frontend: String,
        /// DEALER endpoint.
        backend: String,
        /// CURVE key pair (`zchat.key`, `zchat.pub`); plaintext without.
        #[arg(long)]
        key_dir: Option<std::path::PathBuf>,
    },
    /// REP echo worker.
    #[command(hide = true)]
    RawEcho {
        /// Broker backend to connect to.
        backend: String,
        /// The broker's key dir: CURVE client of its public key; plaintext without.
        #[arg(long)]
        key_dir: Option<std::path::PathBuf>,
    },
    /// XSUB/XPUB proxy.
    #[command(hide = true)]
    RawProxy {
        /// XSUB endpoint.
        xsub: String,
        /// XPUB endpoint.
        xpub: String,
        /// CURVE key pair (`zchat.key`, `zchat.pub`); plaintext without.
        #[arg(long)]
        key_dir: Option<std::path::PathBuf>,
    },
    /// One client-frames measurement; prints its figures as one JSON line.
    #[command(hide = true)]
    TuiFrames {
        /// Messages in the open conversation.
        messages: u64,
        /// Joined conversations.
        #[arg(long, default_value_t = 200)]
        conversations: usize,
        /// Frames measured per kind.
        #[arg(long, default_value_t = 200)]
        frames: usize,
        /// Terminal width.
        #[arg(long, default_value_t = 120)]
        width: u16,
        /// Terminal height.
        #[arg(long, default_value_t = 40)]
        height: u16,
        /// Time budget of the scroll-through, seconds.
        #[arg(long, default_value_t = 60.0)]
        scroll_budget_secs: f64,
        /// Hand the client the whole conversation in one page first.
        #[arg(long)]
        preload: bool,
    },
    /// Holds connected clients for the connections scenario (spec: a JSON file).
    #[command(hide = true)]
    ConnHold {
        /// The spec file the bench wrote; ready/stop/result files go next to it.
        spec: std::path::PathBuf,
    },
}

fn config(cli: &Cli) -> Config {
    let q = cli.quick;
    let secs = |v: Option<f64>, full: f64, quick: f64| {
        Duration::from_secs_f64(v.unwrap_or(if q { quick } else { full }))
    };
    Config {
        repeats: cli.repeats.max(1),
        client_threads: cli.client_threads.max(1),
        text_len: cli.text_len,
        post_clients: cli.post_clients.clone().unwrap_or_else(|| vec![1, 8, 64]),
        warmup: secs(cli.warmup_secs, 0.5, 0.1),
        post_window: secs(cli.post_secs, 3.0, 0.3),
        fanout_subs: cli.fanout_subs.clone().unwrap_or_else(|| vec![1, 10, 100]),
        fanout_rate: cli.fanout_rate.max(1.0),
        fanout_posts: cli.fanout_posts.unwrap_or(if q { 200 } else { 3000 }),
        storm_logins: cli.storm_logins.unwrap_or(if q { 10 } else { 50 }),
        storm_posters: cli.storm_posters.max(1),
        history_messages: cli
            .history_messages
            .unwrap_or(if q { 5_000 } else { 100_000 }),
        history_page: cli.history_page.clamp(1, zchat_protocol::MAX_HISTORY_LIMIT),
        max_requests: 50_000_000,
        tui_messages: cli.tui_messages.clone().unwrap_or_else(|| {
            if q {
                vec![1_000, 20_000]
            } else {
                vec![1_000, 20_000, 100_000]
            }
        }),
        tui_conversations: cli.tui_conversations.max(1),
        tui_frames: cli.tui_frames.unwrap_or(if q { 30 } else { 200 }).max(1),
        tui_scroll_budget: Duration::from_secs_f64(cli.tui_scroll_secs.max(0.0)),
        transports: transports(cli),
        connections: scenarios::ConnConfig {
            clients: cli.conn_clients.unwrap_or(if q { 300 } else { 10_000 }),
            channel: cli.conn_channel.unwrap_or(if q { 100 } else { 2_000 }),
            rate: cli.conn_rate.max(0.1),
            posts: cli.conn_posts.unwrap_or(if q { 30 } else { 200 }),
            ping_every: Duration::from_secs_f64(cli.conn_ping_secs.max(0.01)),
            procs: cli.conn_procs,
            connect_rate: cli.conn_connect_rate.max(1.0),
        },
        engine_setups: {
            let mut v: Vec<scenarios::Setup> = Vec::new();
            for &s in &cli.engines {
                if !v.contains(&s) {
                    v.push(s);
                }
            }
            if v.is_empty() {
                v.push(scenarios::Setup::Sqlite);
            }
            v
        },
        engine_clients: cli.engine_clients.clone().unwrap_or_else(|| {
            if q {
                vec![1, 8]
            } else {
                vec![1, 8, 64]
            }
        }),
        engine_history_messages: cli
            .engine_history_messages
            .unwrap_or(if q { 1_000 } else { 20_000 })
            .max(1),
        failover_posters: cli.failover_posters.unwrap_or(if q { 4 } else { 8 }).max(1),
        failover_rate: cli.failover_rate.clamp(1.0, 1000.0),
        failover_repeats: cli.failover_repeats.unwrap_or(if q { 1 } else { 5 }).max(1),
        failover_timeouts: cli
            .failover_timeouts
            .iter()
            .map(|s| Duration::from_secs_f64(s.clamp(0.05, 60.0)))
            .collect(),
    }
}

/// `--transport`, without repeats; CURVE alone unless told (both in `--quick`, so that CI
/// runs the comparison too).
fn transports(cli: &Cli) -> Vec<Transport> {
    let asked = cli.transport.clone().unwrap_or_else(|| {
        if cli.quick {
            vec![Transport::Curve, Transport::Plaintext]
        } else {
            vec![Transport::Curve]
        }
    });
    let mut out: Vec<Transport> = Vec::new();
    for t in asked {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.is_empty() {
        out.push(Transport::Curve);
    }
    out
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.helper {
        Some(Helper::RawBroker {
            frontend,
            backend,
            key_dir,
        }) => return raw::broker(frontend, backend, key_dir.as_deref()),
        Some(Helper::RawEcho { backend, key_dir }) => {
            return raw::echo(backend, key_dir.as_deref())
        }
        Some(Helper::RawProxy {
            xsub,
            xpub,
            key_dir,
        }) => return raw::proxy(xsub, xpub, key_dir.as_deref()),
        Some(Helper::TuiFrames {
            messages,
            conversations,
            frames,
            width,
            height,
            scroll_budget_secs,
            preload,
        }) => {
            let figures = tui::run(tui::FrameRun {
                messages: *messages,
                conversations: (*conversations).max(1),
                width: *width,
                height: *height,
                frames: (*frames).max(1),
                scroll_budget: Duration::from_secs_f64(scroll_budget_secs.max(0.0)),
                preload: *preload,
            })?;
            println!("{figures}");
            return Ok(());
        }
        Some(Helper::ConnHold { spec }) => return load::connections::hold(spec),
        None => {}
    }
    let cfg = config(&cli);
    let want = |s: &str| cli.only.iter().any(|o| o == s);
    let backend = ["post", "fanout", "storm", "history"]
        .iter()
        .any(|s| want(s));
    let started = std::time::Instant::now();
    let load_before = loadavg();
    let mut rows = Vec::new();
    let mut sections = Vec::new();
    let bin_dir = procs::zchat_bin_dir()?;
    if (backend || want("engines") || want("failover") || want("connections"))
        && !cli.no_build
        && std::env::var_os("ZCHAT_BIN_DIR").is_none()
    {
        procs::build_backend(&bin_dir)?;
    }
    {
        if backend {
            // Stopped before the scenarios below start systems of their own.
            let sys = scenarios::start(&cfg, &bin_dir)?;
            if want("post") {
                rows.extend(scenarios::post_throughput(&cfg, &sys)?);
            }
            if want("fanout") {
                rows.extend(scenarios::fanout(&cfg, &sys)?);
            }
            if want("storm") {
                rows.extend(scenarios::login_storm(&cfg, &sys)?);
            }
            if want("history") {
                rows.extend(scenarios::history(&cfg, &sys)?);
            }
        }
        if want("engines") {
            sections.push(scenarios::engines(&cfg)?);
        }
        if want("failover") {
            sections.push(scenarios::failover(&cfg)?);
        }
    }
    // Alone on the machine: its own backend, started after the shared one is stopped.
    if want("connections") {
        rows.extend(scenarios::connections(&cfg, &bin_dir)?);
    }
    // The client scenario needs no backend; it runs after the backend is stopped so that
    // the two do not share the cores.
    if want("tui") {
        rows.extend(scenarios::tui_frames(&cfg)?);
    }
    let names: Vec<&str> = cfg.transports.iter().map(|t| t.name()).collect();
    println!(
        "zchat-bench{}: transport {}, {} repeats, {}-byte messages, fan-out at {}/s × {} posts, took {:.0} s\n",
        if cli.quick { " --quick" } else { "" },
        names.join(","),
        cfg.repeats,
        cfg.text_len,
        cfg.fanout_rate,
        cfg.fanout_posts,
        started.elapsed().as_secs_f64()
    );
    println!(
        "machine: {}; load average (1/5/15 min) {} before, {} after\n",
        machine(),
        load_before,
        loadavg()
    );
    let main_transport = cfg.transports[0];
    let main_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.transport.is_none_or(|t| t == main_transport))
        .cloned()
        .collect();
    if !main_rows.is_empty() {
        print!("{}", stats::render(&main_rows, main_transport));
    }
    if let Some(table) = cost::render(&rows) {
        print!("\n{table}");
    }
    for section in sections {
        print!("\n{section}");
    }
    Ok(())
}

/// `/proc/loadavg`'s first three fields: on a shared machine, what else was running.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

/// CPU model, core count and kernel, for the table's header.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or_else(
            || "unknown CPU".into(),
            |m| m.trim_start_matches([' ', '\t', ':']).to_string(),
        );
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} × {model}, Linux {}", kernel.trim())
}
