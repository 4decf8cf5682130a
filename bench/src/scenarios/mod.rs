//! The scenarios of the bench, each producing rows of the result table. Every scenario repeats
//! `repeats` times, interleaving zchat with its counterparts so that drift hits both alike.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::load::{self};
use crate::procs::{self, Ngircd, RawCluster, ZchatCluster};
use crate::stats::{Cell, Row, Samples};
use crate::transport::Transport;
use crate::zchat::{self};

mod connections;
mod engines;
mod failover;
mod fanout;
mod history;
mod post;
mod storm;
mod tui;

pub use connections::{connections, ConnConfig};
pub use engines::{engines, Setup};
pub use failover::failover;
pub use fanout::fanout;
pub use history::history;
pub use post::post_throughput;
pub use storm::login_storm;
pub use tui::tui_frames;

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
    /// Messages in the open conversation, per client-frames measurement.
    pub tui_messages: Vec<u64>,
    /// Joined conversations in the client-frames scenario.
    pub tui_conversations: usize,
    /// Frames measured per kind.
    pub tui_frames: usize,
    /// Time budget of the client's scroll-through.
    pub tui_scroll_budget: Duration,
    /// Transports of zchat and raw ZeroMQ, the main one first (at least one).
    pub transports: Vec<Transport>,
    /// The connections scenario's sizes.
    pub connections: ConnConfig,
    /// Storage setups the engines scenario compares, in column order.
    pub engine_setups: Vec<Setup>,
    /// Concurrent posters per engines post run.
    pub engine_clients: Vec<usize>,
    /// Messages stored (and paged through) per setup in the engines scenario.
    pub engine_history_messages: u64,
    /// Steady posters during the failover scenario.
    pub failover_posters: usize,
    /// Posts per second of each failover poster.
    pub failover_rate: f64,
    /// Kills of each kind (server, broker, proxy) per request timeout.
    pub failover_repeats: usize,
    /// The clients' request timeouts the failover scenario runs with, one full run each.
    pub failover_timeouts: Vec<Duration>,
}

/// zchat and its raw ZeroMQ counterpart over one transport, with the bench's users.
pub struct Stack {
    /// CURVE or plaintext, for both.
    pub transport: Transport,
    /// zchat's broker, proxy and server.
    pub zchat: ZchatCluster,
    /// Raw ZeroMQ broker/echo/proxy.
    pub raw: RawCluster,
    /// Session tokens of `post0..` on this zchat, all joined to `#bench`.
    pub tokens: Vec<String>,
}

/// The systems under test and the references, alive for the whole run.
pub struct Systems {
    /// One stack per transport, the main one first. The post and fan-out scenarios run on
    /// every stack, interleaved per repeat; the others on the main one only.
    pub stacks: Vec<Stack>,
    /// ngircd, or why not.
    pub irc: std::result::Result<Ngircd, String>,
}

impl Systems {
    /// The stack of the main transport (storm, history, the main table).
    pub fn main(&self) -> &Stack {
        &self.stacks[0]
    }
}

const CHANNEL: &str = "bench";
const HISTORY_CHANNEL: &str = "history";

pub(super) fn progress(msg: &str) {
    eprintln!("[{:>7.1}s] {msg}", load::now_ns() as f64 / 1e9);
}

/// Starts one stack over `transport` and signs in `users` users on its zchat.
fn start_stack(
    bin_dir: &std::path::Path,
    transport: Transport,
    users: usize,
    history: bool,
) -> Result<Stack> {
    progress(&format!(
        "starting zchat (broker, proxy, server) and the raw ZeroMQ counterparts over {}",
        transport.name()
    ));
    let zchat = ZchatCluster::start(bin_dir, false, transport)?;
    let raw = RawCluster::start(transport)?;
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
    if history {
        api.join_all(HISTORY_CHANNEL, &tokens[..1])?;
    }
    Ok(Stack {
        transport,
        zchat,
        raw,
        tokens,
    })
}

/// Starts everything and prepares the users the scenarios need: the main stack for every
/// scenario, the others (`--transport`) for post and fan-out only.
pub fn start(cfg: &Config, bin_dir: &std::path::Path) -> Result<Systems> {
    let users = cfg
        .post_clients
        .iter()
        .copied()
        .chain([cfg.storm_posters, 1])
        .max()
        .unwrap_or(1);
    let others = cfg
        .post_clients
        .iter()
        .copied()
        .chain([1])
        .max()
        .unwrap_or(1);
    let mut stacks = Vec::with_capacity(cfg.transports.len());
    for (k, &t) in cfg.transports.iter().enumerate() {
        stacks.push(if k == 0 {
            start_stack(bin_dir, t, users, true)?
        } else {
            start_stack(bin_dir, t, others, false)?
        });
    }
    let irc = match procs::ngircd_path() {
        None => Err("skipped (ngircd not installed: run scripts/bench-setup.sh)".to_string()),
        Some(bin) => Ngircd::start(&bin).map_err(|e| format!("skipped (ngircd failed: {e:#})")),
    };
    if let Err(why) = &irc {
        progress(why);
    }
    Ok(Systems { stacks, irc })
}

pub(super) fn samples() -> Samples {
    Samples::default()
}

/// A row measured on the main transport only (or on no backend).
pub(super) fn row(scenario: &str, metric: &str, zchat: Cell, raw: Cell, irc: Cell) -> Row {
    Row {
        scenario: scenario.into(),
        metric: metric.into(),
        transport: None,
        zchat,
        raw,
        irc,
    }
}
