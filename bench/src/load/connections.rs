//! The connections scenario's load: many idle-but-connected clients held by a child process
//! of the bench ([`hold`]), and one paced poster in the bench itself ([`post_paced`]).
//!
//! A held client is what a connected zchat client is on the wire, without a socket thread
//! of its own: a DEALER on the broker frontend (pinging now and then, as the real client's
//! heartbeat does) and a SUB on the proxy's XPUB, each with its own CURVE key pair and
//! handshake. Channel members' SUBs subscribe to the channel topic and to their session's
//! inbox topic (what the real client subscribes to); the others subscribe to one of a
//! hundred lobby channel topics nobody posts to, so the proxy holds a subscription per
//! client. A client counts as connected when its DEALER has had a `pong` and its SUB a
//! `probe` event (the proxy's proof that every subscription it sent before is applied).
//!
//! Latency is post → delivery on the wall clock (`CLOCK_REALTIME`): the poster and the
//! holders are different processes on one host, and the send time travels in the text.
//! The holder's sockets live on two threads of its own: DEALERs on one, SUBs on the other, so
//! sweeping thousands of DEALERs for pongs never delays a delivery.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use zchat_protocol::codec::{decode, encode};
use zchat_protocol::{
    topic, Event, EventEnvelope, Reply, Request, RequestEnvelope, ResponseEnvelope,
};

use super::fanout::{parse_tag, tag};
use super::poll_readable;
use crate::stats::{latency_histogram, record_ns};
use crate::transport::Endpoint;
use crate::zchat::{send_frame, text_of_len};

/// Nanoseconds since the Unix epoch: a clock every process on the host shares.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Lobby channels the non-member clients subscribe to (one each, round robin).
const LOBBIES: usize = 100;
/// Clients per zmq context in a holder: two sockets each stays under libzmq's default cap of
/// 1,023 sockets a context.
const CLIENTS_PER_CONTEXT: usize = 500;

/// The context of client `i`.
fn ctx_of(contexts: &[zmq::Context], i: usize) -> &zmq::Context {
    &contexts[(i / CLIENTS_PER_CONTEXT).min(contexts.len() - 1)]
}

/// What one holder process is asked to do, written by the bench as a JSON file.
#[derive(Debug, Clone)]
pub struct HoldSpec {
    /// Child number (keeps probe values distinct across holders).
    pub id: u32,
    /// Broker frontend (requests).
    pub frontend: Endpoint,
    /// Proxy XPUB (events).
    pub xpub: Endpoint,
    /// Clients to hold.
    pub clients: usize,
    /// Inbox topics of the channel members among them: the first `members.len()` clients.
    pub members: Vec<String>,
    /// The channel the members joined (without `#`).
    pub channel: String,
    /// Each client pings this often (staggered over the interval).
    pub ping_every: Duration,
    /// Clients opened per second (each a DEALER and a SUB).
    pub connect_per_sec: f64,
    /// Budget for opening and confirming every client.
    pub setup_budget: Duration,
    /// The holder stops by itself after this long, stop file or not.
    pub max_run: Duration,
    /// libzmq I/O threads of the holder's context.
    pub io_threads: i32,
}

impl HoldSpec {
    /// The spec as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "frontend": self.frontend.addr,
            "xpub": self.xpub.addr,
            "server_key": self.frontend.server_key_z85(),
            "clients": self.clients,
            "members": self.members,
            "channel": self.channel,
            "ping_ms": self.ping_every.as_millis() as u64,
            "connect_per_sec": self.connect_per_sec,
            "setup_secs": self.setup_budget.as_secs_f64(),
            "max_secs": self.max_run.as_secs_f64(),
            "io_threads": self.io_threads,
        })
    }

    /// Reads a spec written by [`HoldSpec::to_json`].
    pub fn from_json(v: &Value) -> Result<HoldSpec> {
        let s = |k: &str| -> Result<String> {
            Ok(v[k]
                .as_str()
                .with_context(|| format!("spec: {k}"))?
                .to_string())
        };
        let u = |k: &str| v[k].as_u64().with_context(|| format!("spec: {k}"));
        let f = |k: &str| v[k].as_f64().with_context(|| format!("spec: {k}"));
        let server_key = match v["server_key"].as_str() {
            Some(z) => {
                Some(zchat_protocol::net::decode_key(z).context("spec: server_key is not a key")?)
            }
            None => None,
        };
        let members = v["members"]
            .as_array()
            .context("spec: members")?
            .iter()
            .map(|m| m.as_str().map(String::from).context("spec: a member"))
            .collect::<Result<Vec<_>>>()?;
        Ok(HoldSpec {
            id: u32::try_from(u("id")?)?,
            frontend: Endpoint::new(s("frontend")?, server_key),
            xpub: Endpoint::new(s("xpub")?, server_key),
            clients: usize::try_from(u("clients")?)?,
            members,
            channel: s("channel")?,
            ping_every: Duration::from_millis(u("ping_ms")?.max(1)),
            connect_per_sec: f("connect_per_sec")?.max(1.0),
            setup_budget: Duration::from_secs_f64(f("setup_secs")?.max(1.0)),
            max_run: Duration::from_secs_f64(f("max_secs")?.max(1.0)),
            io_threads: i32::try_from(u("io_threads")?)?.max(1),
        })
    }
}

/// The files a holder with spec file `spec` shares with the bench.
pub struct HoldFiles {
    /// Written once every client is confirmed (or the setup budget ran out).
    pub ready: PathBuf,
    /// Created by the bench to stop the holder.
    pub stop: PathBuf,
    /// Written by the holder at the end: its counts and histograms.
    pub result: PathBuf,
}

impl HoldFiles {
    /// The files next to `spec`.
    pub fn of(spec: &Path) -> HoldFiles {
        HoldFiles {
            ready: spec.with_extension("ready.json"),
            stop: spec.with_extension("stop"),
            result: spec.with_extension("result.json"),
        }
    }
}

/// A histogram as `[[µs, count], …]` (its recorded values), to hand between processes.
pub fn histogram_to_json(h: &Histogram<u64>) -> Value {
    Value::from(
        h.iter_recorded()
            .map(|v| json!([v.value_iterated_to(), v.count_at_value()]))
            .collect::<Vec<_>>(),
    )
}

/// Adds a histogram written by [`histogram_to_json`] into `h`.
pub fn histogram_add_json(h: &mut Histogram<u64>, v: &Value) {
    for pair in v.as_array().into_iter().flatten() {
        if let (Some(value), Some(count)) = (pair[0].as_u64(), pair[1].as_u64()) {
            h.saturating_record_n(value, count);
        }
    }
}

/// Runs one holder: reads the spec at `spec_path`, opens and confirms its clients, writes
/// the ready file, then receives and pings until the stop file appears (or `max_run`), and
/// writes the result file.
pub fn hold(spec_path: &Path) -> Result<()> {
    let text = std::fs::read(spec_path).with_context(|| format!("read {}", spec_path.display()))?;
    let spec = HoldSpec::from_json(&serde_json::from_slice(&text)?)?;
    let files = HoldFiles::of(spec_path);
    let started = Instant::now();
    // libzmq caps a context at 1,023 sockets (`ZMQ_MAX_SOCKETS`) and the `zmq` crate has no
    // setter for it, so a holder makes one context per [`CLIENTS_PER_CONTEXT`] clients.
    let contexts = (0..spec.clients.div_ceil(CLIENTS_PER_CONTEXT).max(1))
        .map(|_| {
            let ctx = zmq::Context::new();
            ctx.set_io_threads(spec.io_threads)?;
            Ok(ctx)
        })
        .collect::<Result<Vec<_>>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let (setup_tx, setup_rx) = mpsc::channel::<(&'static str, usize)>();
    let subs = {
        let (ctx, spec, stop, tx) = (
            contexts.clone(),
            spec.clone(),
            stop.clone(),
            setup_tx.clone(),
        );
        std::thread::Builder::new()
            .name("subs".into())
            .spawn(move || hold_subs(&ctx, &spec, &stop, &tx))?
    };
    let dealers = {
        let (ctx, spec, stop, tx) = (contexts.clone(), spec.clone(), stop.clone(), setup_tx);
        std::thread::Builder::new()
            .name("dealers".into())
            .spawn(move || hold_dealers(&ctx, &spec, &stop, &tx))?
    };
    // Each thread reports its confirmed count once; a thread that failed drops its sender.
    let mut ready = json!({});
    for _ in 0..2 {
        match setup_rx.recv_timeout(spec.setup_budget + Duration::from_secs(30)) {
            Ok((what, n)) => ready[what] = Value::from(n),
            Err(_) => break,
        }
    }
    ready["setup_secs"] = Value::from(started.elapsed().as_secs_f64());
    crate::procs::write_ready_file_json(&files.ready, &ready)?;
    let deadline = started + spec.max_run;
    while !files.stop.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    let subs = subs
        .join()
        .map_err(|_| anyhow::anyhow!("subscriber thread panicked"))??;
    let dealers = dealers
        .join()
        .map_err(|_| anyhow::anyhow!("dealer thread panicked"))??;
    let result = json!({
        "deliveries": histogram_to_json(&subs.latency),
        "got": subs.got,
        "out_of_order": subs.out_of_order,
        "pings": dealers.pings,
        "pongs": dealers.pongs,
        "ping_errors": dealers.errors,
        "ping_rtt": histogram_to_json(&dealers.rtt),
    });
    crate::procs::write_ready_file_json(&files.result, &result)?;
    Ok(())
}

/// Sleeps until `start + i / rate` (the pacing of client `i`).
fn pace(start: Instant, i: usize, rate: f64) {
    let due = start + Duration::from_secs_f64(i as f64 / rate);
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

/// What the SUB side saw.
struct SubsResult {
    latency: Histogram<u64>,
    got: Vec<u64>,
    out_of_order: u64,
}

fn hold_subs(
    ctx: &[zmq::Context],
    spec: &HoldSpec,
    stop: &AtomicBool,
    setup: &mpsc::Sender<(&'static str, usize)>,
) -> Result<SubsResult> {
    let members = spec.members.len().min(spec.clients);
    let channel = topic::channel(&spec.channel);
    let probe_of = |i: usize| (u64::from(spec.id) << 32) | i as u64;
    let start = Instant::now();
    let mut socks = Vec::with_capacity(spec.clients);
    for i in 0..spec.clients {
        pace(start, i, spec.connect_per_sec);
        let s = spec.xpub.socket(ctx_of(ctx, i), zmq::SUB)?;
        spec.xpub.connect(&s)?;
        if i < members {
            s.set_subscribe(channel.as_bytes())?;
            s.set_subscribe(spec.members[i].as_bytes())?;
        } else {
            s.set_subscribe(topic::channel(&format!("lobby{}", i % LOBBIES)).as_bytes())?;
        }
        s.set_subscribe(topic::probe(probe_of(i)).as_bytes())?;
        socks.push(s);
    }
    // Confirm: every SUB gets its probe event back.
    let mut confirmed = vec![false; socks.len()];
    let mut left = socks.len();
    let mut readable = Vec::new();
    let deadline = start + spec.setup_budget;
    while left > 0 && Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        let waiting: Vec<usize> = (0..socks.len()).filter(|&k| !confirmed[k]).collect();
        {
            let mut items: Vec<zmq::PollItem> = waiting
                .iter()
                .map(|&k| socks[k].as_poll_item(zmq::POLLIN))
                .collect();
            poll_readable(&mut items, 50, &mut readable)?;
        }
        for &r in &readable {
            let k = waiting[r];
            while let Ok(frames) = socks[k].recv_multipart(zmq::DONTWAIT) {
                let probe = frames
                    .get(1)
                    .and_then(|p| decode::<EventEnvelope>(p).ok())
                    .is_some_and(
                        |e| matches!(e.body, Event::Probe { value } if value == probe_of(k)),
                    );
                if probe && !confirmed[k] {
                    confirmed[k] = true;
                    left -= 1;
                }
            }
        }
    }
    let _ = setup.send(("subs", socks.len() - left));
    // Steady: only the members' SUBs receive anything.
    let mut latency = latency_histogram();
    let mut got = vec![0u64; members];
    let mut last: Vec<Option<u64>> = vec![None; members];
    let mut out_of_order = 0;
    while !stop.load(Ordering::SeqCst) {
        {
            let mut items: Vec<zmq::PollItem> = socks[..members]
                .iter()
                .map(|s| s.as_poll_item(zmq::POLLIN))
                .collect();
            poll_readable(&mut items, 20, &mut readable)?;
        }
        for &k in &readable {
            while let Ok(frames) = socks[k].recv_multipart(zmq::DONTWAIT) {
                let now = wall_ns();
                let Some(Ok(EventEnvelope {
                    body: Event::Message { message },
                    ..
                })) = frames.get(1).map(|p| decode::<EventEnvelope>(p))
                else {
                    continue;
                };
                let Some((true, _, sent)) = parse_tag(message.text.as_bytes()) else {
                    continue;
                };
                if last[k].is_some_and(|l| message.seq <= l) {
                    out_of_order += 1;
                }
                last[k] = Some(message.seq);
                got[k] += 1;
                record_ns(&mut latency, now.saturating_sub(sent));
            }
        }
    }
    Ok(SubsResult {
        latency,
        got,
        out_of_order,
    })
}

/// What the DEALER side saw.
struct DealersResult {
    pings: u64,
    pongs: u64,
    errors: u64,
    rtt: Histogram<u64>,
}

fn ping_frame(sent_ns: u64) -> Result<Vec<u8>> {
    Ok(encode(&RequestEnvelope::new(sent_ns, None, Request::Ping))?)
}

/// Reads every reply waiting on `s`; returns (pongs, errors) and records round trips (the
/// request id is the send time).
fn drain_pongs(s: &zmq::Socket, rtt: Option<&mut Histogram<u64>>) -> (u64, u64) {
    let (mut pongs, mut errors) = (0, 0);
    let mut rtt = rtt;
    while let Ok(frames) = s.recv_multipart(zmq::DONTWAIT) {
        match frames.last().map(|p| decode::<ResponseEnvelope>(p)) {
            Some(Ok(ResponseEnvelope {
                id,
                body: Reply::Pong { .. },
                ..
            })) => {
                pongs += 1;
                if let Some(h) = rtt.as_deref_mut() {
                    record_ns(h, wall_ns().saturating_sub(id));
                }
            }
            _ => errors += 1,
        }
    }
    (pongs, errors)
}

fn hold_dealers(
    ctx: &[zmq::Context],
    spec: &HoldSpec,
    stop: &AtomicBool,
    setup: &mpsc::Sender<(&'static str, usize)>,
) -> Result<DealersResult> {
    let start = Instant::now();
    let mut socks = Vec::with_capacity(spec.clients);
    for i in 0..spec.clients {
        pace(start, i, spec.connect_per_sec);
        let s = spec.frontend.dial(ctx_of(ctx, i), zmq::DEALER)?;
        s.send_multipart([&b""[..], &ping_frame(wall_ns())?], 0)?;
        socks.push(s);
    }
    // Confirm: every DEALER gets its first pong.
    let mut confirmed = vec![false; socks.len()];
    let mut left = socks.len();
    let mut errors = 0;
    let mut readable = Vec::new();
    let deadline = start + spec.setup_budget;
    while left > 0 && Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        let waiting: Vec<usize> = (0..socks.len()).filter(|&k| !confirmed[k]).collect();
        {
            let mut items: Vec<zmq::PollItem> = waiting
                .iter()
                .map(|&k| socks[k].as_poll_item(zmq::POLLIN))
                .collect();
            poll_readable(&mut items, 50, &mut readable)?;
        }
        for &r in &readable {
            let k = waiting[r];
            let (p, e) = drain_pongs(&socks[k], None);
            errors += e;
            if p > 0 && !confirmed[k] {
                confirmed[k] = true;
                left -= 1;
            }
        }
    }
    let _ = setup.send(("dealers", socks.len() - left));
    // Steady: each client pings every `ping_every`, staggered over the interval.
    let n = socks.len().max(1);
    let t0 = Instant::now();
    let mut next_due: Vec<Instant> = (0..socks.len())
        .map(|k| t0 + spec.ping_every.mul_f64(k as f64 / n as f64))
        .collect();
    let (mut pings, mut pongs) = (0u64, 0u64);
    let mut rtt = latency_histogram();
    // Only DEALERs with a ping in flight are polled: a few at a time, not thousands.
    let mut waiting = vec![false; socks.len()];
    let mut outstanding: Vec<usize> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        for (k, (s, due)) in socks.iter().zip(&mut next_due).enumerate() {
            if *due <= now {
                // A full queue (the broker not reading) is a failed ping, not a failed run.
                match s.send_multipart([&b""[..], &ping_frame(wall_ns())?], zmq::DONTWAIT) {
                    Ok(()) => pings += 1,
                    Err(_) => errors += 1,
                }
                *due += spec.ping_every;
                if !waiting[k] {
                    waiting[k] = true;
                    outstanding.push(k);
                }
            }
        }
        if outstanding.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        {
            let mut items: Vec<zmq::PollItem> = outstanding
                .iter()
                .map(|&k| socks[k].as_poll_item(zmq::POLLIN))
                .collect();
            poll_readable(&mut items, 5, &mut readable)?;
        }
        for &r in &readable {
            let k = outstanding[r];
            let (p, e) = drain_pongs(&socks[k], Some(&mut rtt));
            pongs += p;
            errors += e;
            if p > 0 {
                waiting[k] = false;
            }
        }
        outstanding.retain(|&k| waiting[k]);
    }
    Ok(DealersResult {
        pings,
        pongs,
        errors,
        rtt,
    })
}

/// What the paced poster saw.
pub struct PostRun {
    /// Measured posts sent.
    pub sent: u64,
    /// Measured posts acknowledged (`sent`): what every member must receive.
    pub acked: u64,
    /// Error replies.
    pub errors: u64,
}

/// Posts `warmups` unmeasured then `count` measured messages to `#channel` at `rate` per
/// second with `token`, each text tagged with its wall-clock send time; waits (bounded) for
/// every acknowledgement.
pub fn post_paced(
    ctx: &zmq::Context,
    frontend: &Endpoint,
    token: &str,
    channel: &str,
    text_len: usize,
    count: u64,
    rate: f64,
) -> Result<PostRun> {
    let sock = frontend.dial(ctx, zmq::DEALER)?;
    let mut run = PostRun {
        sent: 0,
        acked: 0,
        errors: 0,
    };
    let mut pending = 0u64;
    let service = |run: &mut PostRun, pending: &mut u64, wait_ms: i64| -> Result<()> {
        if sock.poll(zmq::POLLIN, wait_ms)? == 0 {
            return Ok(());
        }
        while let Ok(frames) = sock.recv_multipart(zmq::DONTWAIT) {
            *pending = pending.saturating_sub(1);
            match frames.last().map(|p| decode::<ResponseEnvelope>(p)) {
                Some(Ok(ResponseEnvelope {
                    id,
                    body: Reply::Sent { .. },
                    ..
                })) => {
                    if id % 2 == 1 {
                        run.acked += 1;
                    }
                }
                other => {
                    run.errors += 1;
                    if run.errors == 1 {
                        eprintln!("  (first error reply to a post: {other:?})");
                    }
                }
            }
        }
        Ok(())
    };
    let post = |measured: bool, seq: u64| -> Result<()> {
        let text = text_of_len(&tag(measured, seq, wall_ns()), text_len);
        let id = seq * 2 + u64::from(measured);
        let frame = send_frame(id, token, channel, text, crate::zchat::fresh_nonce())?;
        sock.send_multipart([&b""[..], &frame], 0)?;
        Ok(())
    };
    // Warm-up: the path (server caches, the proxy's fan-out) runs once before measuring.
    for w in 0..3 {
        post(false, w)?;
        pending += 1;
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until {
            service(&mut run, &mut pending, 10)?;
        }
    }
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    for i in 0..count {
        let due = start + interval.mul_f64(i as f64);
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            let left = (due - now).as_millis().min(10) as i64;
            service(&mut run, &mut pending, left)?;
        }
        post(true, i + 1)?;
        run.sent += 1;
        pending += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while pending > 0 && Instant::now() < deadline {
        service(&mut run, &mut pending, 10)?;
    }
    if pending > 0 {
        bail!("{pending} posts never acknowledged within 10 s");
    }
    Ok(run)
}
