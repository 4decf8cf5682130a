//! Closed-loop request/reply load (posts, echo): each client keeps one request in flight.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use zchat_protocol::codec::decode;
use zchat_protocol::{Reply, ResponseEnvelope};

use super::poll_readable;
use crate::stats::{latency_histogram, record_ns};
use crate::transport::Endpoint;
use crate::zchat::{send_frame, text_of_len};

/// Nanoseconds since the first call (a process-wide monotonic clock, shared by the threads
/// that stamp and the threads that receive).
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

// ---------------------------------------------------------------------------------------
// Closed loop: each client keeps exactly one request in flight.
// ---------------------------------------------------------------------------------------

/// What the closed-loop clients send.
#[derive(Clone)]
pub enum ReqKind {
    /// zchat `send` requests to `#channel`, one session token per client.
    Zchat {
        /// Session tokens; client `i` uses `tokens[i]`.
        tokens: Vec<String>,
        /// Channel name without `#`.
        channel: String,
        /// Message text length in bytes.
        text_len: usize,
    },
    /// A fixed payload, echoed back unchanged by the raw REP worker.
    Raw {
        /// The payload (an encoded zchat `send` request, for parity of size).
        payload: Vec<u8>,
    },
}

/// Start/stop switches shared by the driver threads and the scenario.
#[derive(Default)]
pub struct Control {
    /// Replies are counted and timed only while this is set.
    pub record: AtomicBool,
    /// Stop sending; drain and return.
    pub stop: AtomicBool,
    /// Set by each driver thread once all its clients are connected and sending.
    pub started: AtomicU64,
}

/// What the closed-loop clients observed while recording.
pub struct ClosedLoopResult {
    /// Successful replies while recording.
    pub ok: u64,
    /// Successful replies in all (warm-up and drain included).
    pub total: u64,
    /// Error replies (zchat `error`, or a wrong echo) at any time.
    pub errors: u64,
    /// Round-trip times while recording, µs.
    pub hist: Histogram<u64>,
}

/// Runs `clients` closed-loop clients on `threads` threads until `ctl.stop` is set, `deadline`
/// passes, or `max_requests` requests have been sent in total.
///
/// Raw on purpose: each driver thread polls many bare DEALERs and encodes frames itself, so
/// the numbers are the backend's. The typed client (`zchat_client`) would put its socket
/// thread, runtime hand-offs and retry timers in every round trip — measuring itself.
pub fn closed_loop(
    frontend: &Endpoint,
    kind: &ReqKind,
    clients: usize,
    threads: usize,
    ctl: &Arc<Control>,
    deadline: Instant,
    max_requests: u64,
) -> Result<ClosedLoopResult> {
    let ctx = zmq::Context::new();
    let threads = threads.clamp(1, clients.max(1));
    let budget = Arc::new(AtomicU64::new(max_requests));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let ids: Vec<usize> = (0..clients).filter(|i| i % threads == t).collect();
            let (ctx, frontend, kind, ctl, budget) = (
                ctx.clone(),
                frontend.clone(),
                kind.clone(),
                ctl.clone(),
                budget.clone(),
            );
            std::thread::spawn(move || {
                driver(&ctx, &frontend, &kind, &ids, &ctl, deadline, &budget)
            })
        })
        .collect();
    let mut total = ClosedLoopResult {
        ok: 0,
        total: 0,
        errors: 0,
        hist: latency_histogram(),
    };
    for h in handles {
        let r = h
            .join()
            .map_err(|_| anyhow::anyhow!("driver thread panicked"))??;
        total.ok += r.ok;
        total.total += r.total;
        total.errors += r.errors;
        total.hist.add(&r.hist).context("merge histograms")?;
    }
    Ok(total)
}

pub(super) fn take_budget(budget: &AtomicU64) -> bool {
    budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
        .is_ok()
}

pub(super) fn driver(
    ctx: &zmq::Context,
    frontend: &Endpoint,
    kind: &ReqKind,
    ids: &[usize],
    ctl: &Control,
    deadline: Instant,
    budget: &AtomicU64,
) -> Result<ClosedLoopResult> {
    let mut socks = Vec::with_capacity(ids.len());
    for _ in ids {
        socks.push(frontend.dial(ctx, zmq::DEALER)?);
    }
    let mut res = ClosedLoopResult {
        ok: 0,
        total: 0,
        errors: 0,
        hist: latency_histogram(),
    };
    let mut sent_at = vec![0u64; socks.len()];
    let mut in_flight = vec![false; socks.len()];
    let mut seq = 0u64;
    let send = |k: usize, sock: &zmq::Socket, seq: &mut u64, sent_at: &mut [u64]| -> Result<()> {
        *seq += 1;
        let frame;
        let payload: &[u8] = match kind {
            ReqKind::Zchat {
                tokens,
                channel,
                text_len,
            } => {
                let client = ids[k];
                let nonce = crate::zchat::fresh_nonce();
                let text = text_of_len(&format!("p{client}.{seq} "), *text_len);
                frame = send_frame(*seq, &tokens[client], channel, text, nonce)?;
                &frame
            }
            ReqKind::Raw { payload } => payload,
        };
        sent_at[k] = now_ns();
        sock.send_multipart([&b""[..], payload], 0)?;
        Ok(())
    };
    for (k, s) in socks.iter().enumerate() {
        if take_budget(budget) {
            send(k, s, &mut seq, &mut sent_at)?;
            in_flight[k] = true;
        }
    }
    ctl.started.fetch_add(1, Ordering::Relaxed);
    let mut readable = Vec::with_capacity(socks.len());
    while in_flight.iter().any(|&f| f) {
        if Instant::now() > deadline + Duration::from_secs(5) {
            bail!("closed loop: replies still missing 5 s after the deadline");
        }
        {
            let mut items: Vec<zmq::PollItem> =
                socks.iter().map(|s| s.as_poll_item(zmq::POLLIN)).collect();
            poll_readable(&mut items, 100, &mut readable)?;
        }
        for &k in &readable {
            let frames = socks[k].recv_multipart(0)?;
            let rtt = now_ns().saturating_sub(sent_at[k]);
            in_flight[k] = false;
            let good = match (kind, frames.last()) {
                (ReqKind::Zchat { .. }, Some(p)) => matches!(
                    decode::<ResponseEnvelope>(p),
                    Ok(ResponseEnvelope {
                        body: Reply::Sent { .. },
                        ..
                    })
                ),
                (ReqKind::Raw { payload }, Some(p)) => p.len() == payload.len(),
                _ => false,
            };
            let recording = ctl.record.load(Ordering::Relaxed);
            if good {
                res.total += 1;
            }
            if !good {
                res.errors += 1;
                if res.errors == 1 {
                    if let Some(p) = frames.last() {
                        if let Ok(env) = decode::<ResponseEnvelope>(p) {
                            eprintln!("  (first error reply: {:?})", env.body);
                        }
                    }
                }
            } else if recording {
                res.ok += 1;
                record_ns(&mut res.hist, rtt);
            }
            if !ctl.stop.load(Ordering::Relaxed) && Instant::now() < deadline && take_budget(budget)
            {
                send(k, &socks[k], &mut seq, &mut sent_at)?;
                in_flight[k] = true;
            }
        }
    }
    Ok(res)
}

/// Runs a closed loop for `warmup` then records for `window`; returns the result and the
/// exact recording time in seconds.
pub fn timed_closed_loop(
    frontend: &Endpoint,
    kind: &ReqKind,
    clients: usize,
    threads: usize,
    warmup: Duration,
    window: Duration,
    max_requests: u64,
) -> Result<(ClosedLoopResult, f64)> {
    let ctl = Arc::new(Control::default());
    let deadline = Instant::now() + warmup + window + Duration::from_secs(10);
    let (res, secs) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            closed_loop(
                frontend,
                kind,
                clients,
                threads,
                &ctl,
                deadline,
                max_requests,
            )
        });
        std::thread::sleep(warmup);
        ctl.record.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        std::thread::sleep(window);
        ctl.record.store(false, Ordering::Relaxed);
        let secs = t0.elapsed().as_secs_f64();
        ctl.stop.store(true, Ordering::Relaxed);
        (h.join(), secs)
    });
    let res = res.map_err(|_| anyhow::anyhow!("closed loop panicked"))??;
    Ok((res, secs))
}

// ---------------------------------------------------------------------------------------
// Fan-out: one paced publisher, N subscribers, sequence-checked.
// ---------------------------------------------------------------------------------------
