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
