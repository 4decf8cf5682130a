//! Post throughput: N clients in closed loop, against raw ZeroMQ echo.

use anyhow::Result;

use crate::load::{self, ReqKind};
use crate::procs::{self};
use crate::stats::{quantile_ms, Cell, Row};
use crate::zchat::{self};

use super::*;

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
