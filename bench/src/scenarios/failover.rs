//! Failover (issue 13): how long clients notice a `kill -9` of a server, a broker and a
//! proxy, and that nothing acknowledged is lost on the way.
//!
//! One cluster of the real binaries on a real PostgreSQL: three servers, two brokers, two
//! proxies (testkit, main transport). Clients are the typed client library, as a user's
//! `zchat` is, since its retry and failover logic is what is measured:
//!
//! - `--failover-posters` posters, each with both brokers in its list, posting closed-loop
//!   at `--failover-rate` posts/s (send, wait for the acknowledgement, wait for the next
//!   tick), every send with a nonce;
//! - one subscriber on both proxies, following the channel through the client's gap-free
//!   [`Feed`] (duplicates dropped, gaps held briefly then filled from history), as the
//!   full-screen client and `zchat tail` do.
//!
//! Each repeat kills (SIGKILL, by the PID the testkit started) a server (in turn), the broker
//! most posters are using, and a proxy (in turn), one at a time; measures from the kill to
//! each poster's next acknowledgement and to the subscriber's first live delivery of a post
//! sent after the kill; restarts the process on the same endpoints and lets posting settle
//! before the next kill. The whole run repeats once per `--failover-timeouts` value (the
//! client's request timeout: a request in flight at a killed server is retried only after
//! it). At the end the channel's history is read back: every acknowledged message must be
//! there exactly once, at the `seq` it was acknowledged with, sequence numbers gap-free, and
//! every acknowledged message delivered live exactly once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_client::feed::{Feed, FeedEvent};
use zchat_client::{Client, ClientConfig, ClientStats};

use crate::load::now_ns;
use crate::stats::{fmt_num, markdown, Samples};
use crate::transport::Transport;
use crate::zchat::{self};

use super::*;

/// The channel the posters write to.
const FAILOVER_CHANNEL: &str = "failover";
/// A kill's effects are watched for at most this long.
const OBSERVE: Duration = Duration::from_secs(20);
/// A poster whose next acknowledgement took longer than this was caught with a request in
/// flight at the killed process (the rest answer within a few of their periods).
const STALLED: Duration = Duration::from_millis(500);
/// The target of issue 13 for every kill: next acknowledgement and next live delivery.
const TARGET_S: f64 = 2.0;

/// One acknowledged post.
#[derive(Debug, Clone)]
struct Ack {
    poster: usize,
    acked_ns: u64,
    seq: u64,
    text: String,
}

/// One live delivery at the subscriber.
#[derive(Debug, Clone)]
struct Delivery {
    seq: u64,
    text: String,
    at_ns: u64,
}

/// What the clients of one request-timeout run share with the controller.
#[derive(Default)]
struct Shared {
    acks: Mutex<Vec<Ack>>,
    /// Texts of sends that failed after every attempt.
    failed: Mutex<Vec<String>>,
    deliveries: Mutex<Vec<Delivery>>,
    /// Per poster: how often its client moved to another broker (its active broker is this
    /// count modulo the number of brokers).
    failovers: Vec<AtomicU64>,
    /// Per poster: when its outstanding request was sent (`now_ns`), 0 when none is.
    in_flight: Vec<AtomicU64>,
    /// Set by the subscriber once its feed watches the channel: posting starts then, so
    /// that every post is after the point it watches from.
    listening: AtomicBool,
    /// Tells the posters to stop.
    stop_posting: AtomicBool,
    /// Tells the subscriber to stop (after the posters, once it has caught up).
    stop_listening: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The send time a post's text carries: `f<run>.<poster>.<i> t<ns>` (the first attempt's, a
/// retry keeps the text).
fn sent_ns_of(text: &str) -> Option<u64> {
    text.rsplit_once(" t")?.1.parse().ok()
}

/// What gets killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Server,
    Broker,
    Proxy,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Broker => "broker",
            Kind::Proxy => "proxy",
        }
    }
}

/// The figures of one kill.
struct KillFigures {
    kind: Kind,
    /// Kill → the slowest poster's next acknowledgement, s.
    worst_ack: f64,
    /// Kill → the median poster's next acknowledgement, s.
    median_ack: f64,
    /// Kill → first live delivery of a post sent after the kill, s.
    delivery: f64,
    /// Posters caught with a request in flight (next acknowledgement later than [`STALLED`]).
    stalled: usize,
    /// Posters with a request outstanding at the moment of the kill.
    outstanding: usize,
}

/// Everything measured with one request timeout.
struct TimeoutRun {
    timeout: Duration,
    kills: Vec<KillFigures>,
    acked: usize,
    failed: usize,
    stats: ClientStats,
    not_live: usize,
    live_twice: usize,
}

/// A client configuration on every broker and proxy of `cluster`, with `timeout`.
fn config_of(cluster: &Cluster, timeout: Duration) -> ClientConfig {
    let mut config = cluster.client_config();
    config.request_timeout = timeout;
    config
}

/// A poster: posts every `period`, closed loop, until told to stop (bounded by `deadline`
/// and `max_posts`).
#[allow(clippy::too_many_arguments)]
fn spawn_poster(
    config: ClientConfig,
    token: String,
    run: usize,
    id: usize,
    period: Duration,
    start: Instant,
    shared: Arc<Shared>,
    deadline: Instant,
    max_posts: u64,
) -> std::thread::JoinHandle<Result<ClientStats>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let client = Client::start(config)?;
            client.set_token(Some(token));
            let target = zchat::channel_target(FAILOVER_CHANNEL);
            // Every poster ticks at the same moments: the load comes in small bursts, as
            // when many users are active, and a kill can be timed into one (see
            // `kill_once`).
            let mut tick = tokio::time::interval_at(start.into(), period);
            // Closed loop: after a stall, carry on at the same pace, no burst to catch up.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for i in 0..max_posts {
                if shared.stop_posting.load(Ordering::Relaxed) || Instant::now() > deadline {
                    break;
                }
                tick.tick().await;
                let sent = now_ns();
                let text = format!("f{run}.{id}.{i} t{sent}");
                if let Some(f) = shared.in_flight.get(id) {
                    f.store(sent, Ordering::Relaxed);
                }
                let outcome = client
                    .send(&target, &text, Some(zchat::fresh_nonce()))
                    .await;
                if let Some(f) = shared.in_flight.get(id) {
                    f.store(0, Ordering::Relaxed);
                }
                match outcome {
                    Ok(m) => lock(&shared.acks).push(Ack {
                        poster: id,
                        acked_ns: now_ns(),
                        seq: m.seq,
                        text,
                    }),
                    Err(e) => {
                        progress(&format!("  {text}: not acknowledged: {e}"));
                        lock(&shared.failed).push(text);
                    }
                }
                if let Some(f) = shared.failovers.get(id) {
                    f.store(client.stats().failovers, Ordering::Relaxed);
                }
            }
            Ok(client.stats())
        })
    })
}

/// The subscriber: a [`Feed`] on `#failover` from its newest message on, every delivery
/// recorded, until told to stop (bounded by `deadline`).
fn spawn_subscriber(
    config: ClientConfig,
    token: String,
    shared: Arc<Shared>,
    deadline: Instant,
) -> std::thread::JoinHandle<Result<()>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let client = Client::start(config)?;
            client.set_token(Some(token));
            let me = client.whoami().await.context("whoami")?;
            let target = zchat::channel_target(FAILOVER_CHANNEL);
            let last = client
                .history(&target, HistoryQuery::latest(1))
                .await
                .context("history")?
                .messages
                .last()
                .map_or(0, |m| m.seq);
            let (feed, mut events) = Feed::start(client.clone(), me.user, me.inbox);
            feed.watch(target, last);
            shared.listening.store(true, Ordering::Relaxed);
            while !shared.stop_listening.load(Ordering::Relaxed) && Instant::now() < deadline {
                match tokio::time::timeout(Duration::from_millis(50), events.recv()).await {
                    Ok(Some(FeedEvent::Message(m))) => lock(&shared.deliveries).push(Delivery {
                        seq: m.seq,
                        text: m.text,
                        at_ns: now_ns(),
                    }),
                    Ok(Some(FeedEvent::HandshakeFailed(why))) => bail!("subscriber: {why}"),
                    Ok(Some(_)) | Err(_) => {}
                    Ok(None) => bail!("subscriber: the feed stopped"),
                }
            }
            drop(feed);
            Ok(())
        })
    })
}

/// Waits (bounded) until `ready` holds, checking every 5 ms.
fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() > deadline {
            bail!("failover: {what} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Acknowledgements per poster at or after `since_ns`.
fn acks_since(shared: &Shared, posters: usize, since_ns: u64) -> Vec<usize> {
    let mut n = vec![0; posters];
    for a in lock(&shared.acks).iter().filter(|a| a.acked_ns >= since_ns) {
        if let Some(c) = n.get_mut(a.poster) {
            *c += 1;
        }
    }
    n
}

/// The first live delivery of a post sent at or after `since_ns`, if any: its time.
fn first_delivery_sent_after(shared: &Shared, since_ns: u64) -> Option<u64> {
    lock(&shared.deliveries)
        .iter()
        .filter(|d| sent_ns_of(&d.text).is_some_and(|s| s >= since_ns))
        .map(|d| d.at_ns)
        .min()
}

/// The broker most posters are on (each client's active broker is its failover count modulo
/// the number of brokers: it starts on the first and moves one along per failover).
fn busiest_broker(shared: &Shared, brokers: usize) -> usize {
    let mut on = vec![0usize; brokers.max(1)];
    for f in &shared.failovers {
        let i = (f.load(Ordering::Relaxed) as usize) % brokers.max(1);
        on[i] += 1;
    }
    on.iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map_or(0, |(i, _)| i)
}

/// One kill: the process of `kind` chosen for repeat `rep`, measured, then restarted.
fn kill_once(
    cluster: &mut Cluster,
    shared: &Shared,
    posters: usize,
    kind: Kind,
    rep: usize,
) -> Result<KillFigures> {
    let which = match kind {
        Kind::Server => rep % cluster.server_count(),
        Kind::Broker => busiest_broker(shared, cluster.broker_count()),
        Kind::Proxy => rep % cluster.proxy_count(),
    };
    // Timed into a burst: at least half the posters have a request outstanding (spinning
    // for that moment, bounded), so that a killed server has requests in flight, as one
    // under load always does. Requests last a millisecond or two; polling in 5 ms steps
    // would miss them.
    let need = posters.div_ceil(2);
    let spin_until = Instant::now() + Duration::from_secs(2);
    while shared
        .in_flight
        .iter()
        .filter(|f| f.load(Ordering::Relaxed) != 0)
        .count()
        < need
        && Instant::now() < spin_until
    {
        std::hint::spin_loop();
    }
    let outstanding = shared
        .in_flight
        .iter()
        .filter(|f| f.load(Ordering::Relaxed) != 0)
        .count();
    let k = now_ns();
    match kind {
        Kind::Server => cluster.kill_server_nth(which),
        Kind::Broker => cluster.kill_broker_nth(which),
        Kind::Proxy => cluster.kill_proxy_nth(which),
    }
    let observed = wait_for("", OBSERVE, || {
        acks_since(shared, posters, k).iter().all(|&n| n > 0)
            && first_delivery_sent_after(shared, k).is_some()
    });
    if observed.is_err() {
        progress(&format!(
            "  after the kill of {} {which}: not every poster acknowledged / no delivery within {OBSERVE:?}",
            kind.name()
        ));
    }
    let secs = |t: u64| t.saturating_sub(k) as f64 / 1e9;
    let limit = OBSERVE.as_secs_f64();
    let mut next: Vec<f64> = (0..posters)
        .map(|p| {
            lock(&shared.acks)
                .iter()
                .filter(|a| a.poster == p && a.acked_ns > k)
                .map(|a| secs(a.acked_ns))
                .fold(limit, f64::min)
        })
        .collect();
    next.sort_by(f64::total_cmp);
    let delivery = first_delivery_sent_after(shared, k).map_or(limit, secs);
    let figures = KillFigures {
        kind,
        worst_ack: next.last().copied().unwrap_or(limit),
        median_ack: next
            .get(next.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(limit),
        delivery,
        stalled: next.iter().filter(|&&s| s > STALLED.as_secs_f64()).count(),
        outstanding,
    };
    progress(&format!(
        "  kill -9 {} {which} ({outstanding} requests outstanding): next ack {:.3} s (worst poster; median {:.3} s, {} stalled), next live delivery {:.3} s",
        kind.name(),
        figures.worst_ack,
        figures.median_ack,
        figures.stalled,
        figures.delivery
    ));
    match kind {
        Kind::Server => cluster.start_server_nth(which),
        Kind::Broker => cluster.start_broker_nth(which),
        Kind::Proxy => cluster.start_proxy_nth(which),
    }
    .with_context(|| format!("restarting {} {which}", kind.name()))?;
    Ok(figures)
}

/// Every poster acknowledged `n` more posts since now, and at least `min` passed.
fn settle(shared: &Shared, posters: usize, n: usize, min: Duration) -> Result<()> {
    let t = now_ns();
    std::thread::sleep(min);
    wait_for("posting did not resume", OBSERVE, || {
        acks_since(shared, posters, t).iter().all(|&c| c >= n)
    })
}

/// One full run with request timeout `timeout`: posters and subscriber, every kill
/// `repeats` times, then the clients stopped and their records returned.
fn timeout_run(
    cfg: &Config,
    cluster: &mut Cluster,
    tokens: &[String],
    watcher: &str,
    run: usize,
    timeout: Duration,
) -> Result<(TimeoutRun, Vec<Ack>, Vec<Delivery>)> {
    let posters = cfg.failover_posters;
    let shared = Arc::new(Shared {
        failovers: (0..posters).map(|_| AtomicU64::new(0)).collect(),
        in_flight: (0..posters).map(|_| AtomicU64::new(0)).collect(),
        ..Shared::default()
    });
    // Bounds: the whole run (kills, restarts, settling) gets 30 s a kill plus a minute.
    let kills = 3 * cfg.failover_repeats;
    let deadline = Instant::now() + Duration::from_secs(60 + 30 * kills as u64);
    let period = Duration::from_secs_f64(1.0 / cfg.failover_rate.max(0.1));
    let max_posts = (cfg.failover_rate.max(0.1) * (60.0 + 30.0 * kills as f64)) as u64;
    progress(&format!(
        "failover: request timeout {} s: {posters} posters at {}/s on both brokers, a subscriber on both proxies",
        fmt_num(timeout.as_secs_f64()),
        fmt_num(cfg.failover_rate)
    ));
    let subscriber = spawn_subscriber(
        config_of(cluster, timeout),
        watcher.to_string(),
        shared.clone(),
        deadline,
    );
    let up = wait_for("the subscriber did not start", OBSERVE, || {
        shared.listening.load(Ordering::Relaxed) || subscriber.is_finished()
    });
    if up.is_err() || !shared.listening.load(Ordering::Relaxed) {
        shared.stop_listening.store(true, Ordering::Relaxed);
        let ended = subscriber
            .join()
            .map_err(|_| anyhow::anyhow!("the subscriber panicked"))?;
        ended?;
        return Err(up
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("the subscriber stopped")));
    }
    let started = now_ns();
    let start = Instant::now() + Duration::from_millis(100);
    let handles: Vec<_> = tokens
        .iter()
        .take(posters)
        .enumerate()
        .map(|(id, token)| {
            spawn_poster(
                config_of(cluster, timeout),
                token.clone(),
                run,
                id,
                period,
                start,
                shared.clone(),
                deadline,
                max_posts,
            )
        })
        .collect();
    let measured = (|| -> Result<Vec<KillFigures>> {
        wait_for("posting and live delivery did not start", OBSERVE, || {
            acks_since(&shared, posters, started)
                .iter()
                .all(|&n| n >= 5)
                && lock(&shared.deliveries).len() >= posters * 3
        })?;
        let mut out = Vec::new();
        for rep in 0..cfg.failover_repeats {
            for kind in [Kind::Server, Kind::Broker, Kind::Proxy] {
                settle(&shared, posters, 5, Duration::from_millis(300))?;
                out.push(kill_once(cluster, &shared, posters, kind, rep)?);
            }
        }
        settle(&shared, posters, 5, Duration::from_millis(300))?;
        Ok(out)
    })();
    shared.stop_posting.store(true, Ordering::Relaxed);
    let mut stats = ClientStats::default();
    for h in handles {
        let s = h
            .join()
            .map_err(|_| anyhow::anyhow!("a poster panicked"))??;
        stats.requests += s.requests;
        stats.retries += s.retries;
        stats.unreachable += s.unreachable;
        stats.failovers += s.failovers;
    }
    let kills = match measured {
        Ok(k) => k,
        Err(e) => {
            shared.stop_listening.store(true, Ordering::Relaxed);
            let _ = subscriber.join();
            return Err(e);
        }
    };
    let acks = lock(&shared.acks).clone();
    // Let the last acknowledged posts arrive live (bounded), then stop the subscriber.
    let wanted: HashSet<u64> = acks.iter().map(|a| a.seq).collect();
    let _ = wait_for("", Duration::from_secs(10), || {
        let seen: HashSet<u64> = lock(&shared.deliveries).iter().map(|d| d.seq).collect();
        wanted.is_subset(&seen)
    });
    shared.stop_listening.store(true, Ordering::Relaxed);
    subscriber
        .join()
        .map_err(|_| anyhow::anyhow!("the subscriber panicked"))??;
    let deliveries = lock(&shared.deliveries).clone();
    let mut times: HashMap<u64, usize> = HashMap::new();
    for d in &deliveries {
        *times.entry(d.seq).or_default() += 1;
    }
    let not_live = acks.iter().filter(|a| !times.contains_key(&a.seq)).count();
    let live_twice = times.values().filter(|&&n| n > 1).count();
    let failed = lock(&shared.failed).len();
    Ok((
        TimeoutRun {
            timeout,
            kills,
            acked: acks.len(),
            failed,
            stats,
            not_live,
            live_twice,
        },
        acks,
        deliveries,
    ))
}

/// What the channel's history says about the acknowledged posts.
struct Audit {
    stored: usize,
    /// Stored messages that no poster saw acknowledged (a send given up on after every
    /// attempt may still have been stored: its outcome was unknown to the client).
    unacked_stored: usize,
    lost: usize,
    wrong_seq: usize,
    stored_twice: usize,
    gaps: usize,
}

/// Reads the whole channel back and checks every acknowledged post against it.
fn audit(cluster: &Cluster, token: &str, acks: &[Ack]) -> Result<Audit> {
    let api = zchat::Api::new(&zchat::cluster_frontend(cluster, 0)?)?;
    let client = api.client(Duration::from_secs(10), Some(token))?;
    let mut all = Vec::new();
    let mut after = 0;
    // Bounded: far more pages than the run can have posted.
    for _ in 0..100_000 {
        let page = api
            .history_after(&client, FAILOVER_CHANNEL, after, 500)
            .context("history")?;
        after = page.messages.last().map_or(after, |m| m.seq);
        let more = page.has_more && !page.messages.is_empty();
        all.extend(page.messages);
        if !more {
            break;
        }
    }
    let by_seq: BTreeMap<u64, &str> = all.iter().map(|m| (m.seq, m.text.as_str())).collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for m in &all {
        *count.entry(m.text.as_str()).or_default() += 1;
    }
    let lost = acks
        .iter()
        .filter(|a| !count.contains_key(a.text.as_str()))
        .count();
    let wrong_seq = acks
        .iter()
        .filter(|a| by_seq.get(&a.seq).is_some_and(|t| *t != a.text))
        .count();
    let stored_twice = count.values().filter(|&&n| n > 1).count();
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    let gaps = seqs
        .iter()
        .enumerate()
        .filter(|(i, s)| **s != *i as u64 + 1)
        .count();
    let acked_texts: HashSet<&str> = acks.iter().map(|a| a.text.as_str()).collect();
    let unacked_stored = all
        .iter()
        .filter(|m| !acked_texts.contains(m.text.as_str()))
        .count();
    Ok(Audit {
        stored: all.len(),
        unacked_stored,
        lost,
        wrong_seq,
        stored_twice,
        gaps,
    })
}

/// The failover scenario: a Markdown section (heading, table) for the report.
pub fn failover(cfg: &Config) -> Result<String> {
    let transport = cfg.transports[0];
    progress("failover: starting PostgreSQL (initdb in a temp dir)");
    let pg = match super::engines::postgres_or_skip()? {
        Ok(pg) => pg,
        Err(why) => return Ok(format!("### Failover (`--only failover`)\n\n{why}\n")),
    };
    progress("failover: starting 3 servers on PostgreSQL, 2 brokers, 2 proxies");
    let mut b = Cluster::builder()
        .brokers(2)
        .proxies(2)
        .servers(3)
        .db(pg.fresh_database()?);
    if transport == Transport::Plaintext {
        b = b.plaintext();
    }
    let mut cluster = b.start()?;
    let api = zchat::Api::new(&zchat::cluster_frontend(&cluster, 0)?)?;
    let tokens = api.users("poster", cfg.failover_posters + 1)?;
    api.join_all(FAILOVER_CHANNEL, &tokens)?;
    let (watcher, posters) = tokens.split_last().context("no users")?;
    let mut runs = Vec::new();
    let mut acks = Vec::new();
    for (run, &timeout) in cfg.failover_timeouts.iter().enumerate() {
        let (r, a, _) = timeout_run(cfg, &mut cluster, posters, watcher, run, timeout)?;
        runs.push(r);
        acks.extend(a);
    }
    let audit = audit(&cluster, watcher, &acks)?;
    Ok(render(cfg, &runs, &audit, acks.len()))
}

/// `median [min–max]` of counts, as whole numbers.
fn count_cell(s: &Samples) -> String {
    let mut v = s.0.clone();
    v.sort_by(f64::total_cmp);
    match (v.first(), v.last()) {
        (Some(lo), Some(hi)) if v.len() > 1 => {
            format!("{:.0} [{lo:.0}–{hi:.0}]", v[(v.len() - 1) / 2])
        }
        (Some(x), _) => format!("{x:.0}"),
        _ => "-".into(),
    }
}

fn render(cfg: &Config, runs: &[TimeoutRun], audit: &Audit, acked: usize) -> String {
    let header = [
        "request timeout".to_string(),
        "kill -9 of".into(),
        "metric".into(),
        "med [min–max]".into(),
        "target".into(),
        "met?".into(),
    ];
    let mut body: Vec<[String; 6]> = Vec::new();
    for r in runs {
        let t = format!(
            "{} s{}",
            r.timeout.as_secs_f64(),
            if r.timeout == Duration::from_secs(3) {
                " (default)"
            } else {
                ""
            }
        );
        for kind in [Kind::Server, Kind::Broker, Kind::Proxy] {
            let of: Vec<&KillFigures> = r.kills.iter().filter(|k| k.kind == kind).collect();
            let col = |f: fn(&KillFigures) -> f64| Samples(of.iter().map(|k| f(k)).collect());
            for (metric, s, is_target) in [
                (
                    "kill → next ack, slowest poster, s",
                    col(|k| k.worst_ack),
                    true,
                ),
                (
                    "kill → next ack, median poster, s",
                    col(|k| k.median_ack),
                    false,
                ),
                (
                    "kill → next live delivery (post sent after the kill), s",
                    col(|k| k.delivery),
                    true,
                ),
                (
                    "posters with a request outstanding at the kill",
                    col(|k| k.outstanding as f64),
                    false,
                ),
                (
                    "posters stalled (next ack > 0.5 s)",
                    col(|k| k.stalled as f64),
                    false,
                ),
            ] {
                let (target, met) = if is_target {
                    let worst = s.0.iter().copied().fold(0.0, f64::max);
                    (
                        format!("≤ {TARGET_S} s"),
                        if worst <= TARGET_S { "yes" } else { "no" }.to_string(),
                    )
                } else {
                    ("-".into(), "-".into())
                };
                // Times in seconds, counts as whole numbers.
                let cell = if is_target || metric.ends_with(", s") {
                    s.cell()
                } else {
                    count_cell(&s)
                };
                body.push([
                    t.clone(),
                    kind.name().into(),
                    metric.into(),
                    cell,
                    target,
                    met,
                ]);
            }
        }
        for (metric, v, zero) in [
            ("posts acknowledged", r.acked as u64, false),
            (
                "sends not acknowledged (after every attempt)",
                r.failed as u64,
                true,
            ),
            (
                "client retries (requests resent after a timeout)",
                r.stats.retries,
                false,
            ),
            ("client broker failovers", r.stats.failovers, false),
            (
                "acknowledged but never delivered live",
                r.not_live as u64,
                true,
            ),
            ("delivered live more than once", r.live_twice as u64, true),
        ] {
            let (target, met) = if zero {
                (
                    "0".to_string(),
                    if v == 0 { "yes" } else { "no" }.to_string(),
                )
            } else {
                ("-".into(), "-".into())
            };
            body.push([
                t.clone(),
                "-".into(),
                metric.into(),
                v.to_string(),
                target,
                met,
            ]);
        }
    }
    let zero = |n: usize| if n == 0 { "yes" } else { "no" }.to_string();
    for (metric, v) in [
        ("acknowledged posts missing from history", audit.lost),
        (
            "acknowledged at a seq holding another text",
            audit.wrong_seq,
        ),
        ("texts stored more than once", audit.stored_twice),
        ("gaps in the channel's seqs", audit.gaps),
    ] {
        body.push([
            "all".into(),
            "-".into(),
            metric.into(),
            v.to_string(),
            "0".into(),
            zero(v),
        ]);
    }
    let mut out = format!(
        "### Failover (`--only failover`): PostgreSQL, 3 servers, 2 brokers, 2 proxies; {} posters at {}/s each, {} kill(s) of each kind per request timeout\n\n",
        cfg.failover_posters,
        fmt_num(cfg.failover_rate),
        cfg.failover_repeats
    );
    out.push_str(&markdown(&header, &body));
    out.push_str(&format!(
        "\n{acked} posts acknowledged in all; the channel's history holds {} messages, {} of them not acknowledged to their sender (given up on after every attempt, so their outcome was unknown to the client).\n",
        audit.stored, audit.unacked_stored
    ));
    out
}
