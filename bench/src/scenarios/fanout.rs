//! Fan-out: one paced poster, N subscribers, post→delivery latency, against raw PUB/SUB
//! and ngircd.

use anyhow::{Context, Result};
use zchat_protocol::codec::encode;
use zchat_protocol::{topic, Event, EventEnvelope, Message};

use crate::irc::IrcConn;
use crate::load::{self, Publisher, Subscriber};
use crate::stats::{quantile_ms, Cell, Row, Samples};
use crate::zchat::{self};

use super::*;

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

/// One zchat fan-out on `stack`: `n` subscribers on its proxy, one poster on its broker.
fn zchat_run(
    ctx: &zmq::Context,
    cfg: &Config,
    stack: &Stack,
    n: usize,
) -> Result<load::FanoutResult> {
    let topic = topic::channel(CHANNEL);
    let mut subs = Vec::with_capacity(n);
    for _ in 0..n {
        let s = stack.zchat.xpub.socket(ctx, zmq::SUB)?;
        s.set_rcvhwm(100_000)?;
        stack.zchat.xpub.connect(&s)?;
        s.set_subscribe(topic.as_bytes())?;
        subs.push(Subscriber::Zchat(s));
    }
    let sock = stack.zchat.frontend.dial(ctx, zmq::DEALER)?;
    let p = Publisher::Zchat {
        sock,
        token: stack.tokens[0].clone(),
        channel: CHANNEL.into(),
        text_len: cfg.text_len,
        acked: 0,
        errors: 0,
        pending: 0,
    };
    let res = load::fanout(p, subs, cfg.fanout_posts, cfg.fanout_rate)
        .with_context(|| format!("zchat fan-out ({})", stack.transport.name()))?;
    if res.publish_errors > 0 {
        progress(&format!(
            "  zchat: {} error replies to posts",
            res.publish_errors
        ));
    }
    progress(&format!(
        "  zchat ({}): {} deliveries, {} lost",
        stack.transport.name(),
        res.delivered,
        res.lost
    ));
    Ok(res)
}

/// One raw PUB → XSUB/XPUB → SUB fan-out on `stack`, payloads of `raw_len` bytes.
fn raw_run(
    ctx: &zmq::Context,
    cfg: &Config,
    stack: &Stack,
    n: usize,
    raw_len: usize,
) -> Result<load::FanoutResult> {
    let topic = topic::channel(CHANNEL);
    let mut subs = Vec::with_capacity(n);
    for _ in 0..n {
        let s = stack.raw.xpub.socket(ctx, zmq::SUB)?;
        s.set_rcvhwm(100_000)?;
        stack.raw.xpub.connect(&s)?;
        s.set_subscribe(topic.as_bytes())?;
        subs.push(Subscriber::Raw(s));
    }
    let sock = stack.raw.xsub.socket(ctx, zmq::PUB)?;
    sock.set_sndhwm(100_000)?;
    stack.raw.xsub.connect(&sock)?;
    let p = Publisher::Raw {
        sock,
        topic: topic.into_bytes(),
        len: raw_len,
    };
    load::fanout(p, subs, cfg.fanout_posts, cfg.fanout_rate)
        .with_context(|| format!("raw fan-out ({})", stack.transport.name()))
}

/// Scenario 2 and its counterparts: zchat and raw PUB→XSUB/XPUB→SUB on every stack, and
/// ngircd, interleaved within every repeat.
pub fn fanout(cfg: &Config, sys: &Systems) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let raw_len = event_frame_len(cfg.text_len)?;
    let ctx = zmq::Context::new();
    let mut irc_run = 0;
    for &n in &cfg.fanout_subs {
        let mut cells: Vec<(FanoutCells, FanoutCells)> = sys
            .stacks
            .iter()
            .map(|_| (FanoutCells::new(), FanoutCells::new()))
            .collect();
        let mut i = FanoutCells::new();
        let mut irc_skip: Option<String> = sys.irc.as_ref().err().cloned();
        for rep in 0..cfg.repeats {
            for (stack, (z, r)) in sys.stacks.iter().zip(&mut cells) {
                progress(&format!(
                    "fan-out: {n} subscribers, {}, repeat {}",
                    stack.transport.name(),
                    rep + 1
                ));
                z.push(&zchat_run(&ctx, cfg, stack, n)?);
                r.push(&raw_run(&ctx, cfg, stack, n, raw_len)?);
            }
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
        let sc = format!("fan-out, {n} subs @{}/s", cfg.fanout_rate);
        for (k, (stack, (z, r))) in sys.stacks.iter().zip(cells).enumerate() {
            // ngircd has no transport: its cells go with the main stack's rows.
            let irc_cell = |s: &Samples| match (&irc_skip, k) {
                (_, 1..) => Cell::None,
                (Some(why), _) => Cell::Note(why.clone()),
                (None, _) => Cell::Samples(s.clone()),
            };
            for (metric, zs, rs, is) in [
                ("delivered msgs/s", z.rate, r.rate, &i.rate),
                ("post→delivery p50 ms", z.p50, r.p50, &i.p50),
                ("post→delivery p99 ms", z.p99, r.p99, &i.p99),
                ("lost deliveries", z.lost, r.lost, &i.lost),
                ("out-of-order deliveries", z.ooo, r.ooo, &i.ooo),
            ] {
                let mut line = row(
                    &sc,
                    metric,
                    Cell::Samples(zs),
                    Cell::Samples(rs),
                    irc_cell(is),
                );
                line.transport = Some(stack.transport);
                rows.push(line);
            }
        }
    }
    Ok(rows)
}
