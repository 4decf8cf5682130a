//! Post throughput: N clients in closed loop, against raw ZeroMQ echo, on every transport.

use anyhow::Result;

use crate::load::{self, ReqKind};
use crate::procs::{self};
use crate::stats::{quantile_ms, Cell, Row, Samples};
use crate::zchat::{self};

use super::*;

/// One stack's figures at one client count, over the repeats.
#[derive(Default)]
struct PostCells {
    z_rate: Samples,
    z_p50: Samples,
    z_p99: Samples,
    z_err: Samples,
    z_cpu: Samples,
    r_rate: Samples,
    r_p50: Samples,
    r_p99: Samples,
    r_cpu: Samples,
}

/// One closed-loop run against `frontend`: the loop's result, the recording window in
/// seconds, and the CPU time the processes `pids` spent per request (µs).
fn closed_loop_with_cpu(
    cfg: &Config,
    frontend: &crate::transport::Endpoint,
    pids: &[u32],
    kind: &ReqKind,
    n: usize,
) -> Result<(load::ClosedLoopResult, f64, f64)> {
    let cpu0 = procs::cpu_us_sum(pids);
    let (res, secs) = load::timed_closed_loop(
        frontend,
        kind,
        n,
        cfg.client_threads,
        cfg.warmup,
        cfg.post_window,
        cfg.max_requests,
    )?;
    let cpu = procs::cpu_us_sum(pids) - cpu0;
    let per_request = cpu as f64 / res.total.max(1) as f64;
    Ok((res, secs, per_request))
}

/// One repeat on one stack: zchat, then its raw counterpart.
fn measure(cfg: &Config, stack: &Stack, n: usize, echo: &[u8], c: &mut PostCells) -> Result<()> {
    let kind = ReqKind::Zchat {
        tokens: stack.tokens[..n].to_vec(),
        channel: CHANNEL.into(),
        text_len: cfg.text_len,
    };
    let (z, secs, cpu) =
        closed_loop_with_cpu(cfg, &stack.zchat.frontend, &stack.zchat.pids(), &kind, n)?;
    c.z_rate.push(z.ok as f64 / secs);
    c.z_p50.push(quantile_ms(&z.hist, 0.5));
    c.z_p99.push(quantile_ms(&z.hist, 0.99));
    c.z_err.push(z.errors as f64);
    c.z_cpu.push(cpu);
    let kind = ReqKind::Raw {
        payload: echo.to_vec(),
    };
    let (r, secs, cpu) =
        closed_loop_with_cpu(cfg, &stack.raw.frontend, &stack.raw.pids(), &kind, n)?;
    c.r_rate.push(r.ok as f64 / secs);
    c.r_p50.push(quantile_ms(&r.hist, 0.5));
    c.r_p99.push(quantile_ms(&r.hist, 0.99));
    c.r_cpu.push(cpu);
    Ok(())
}

/// Scenario 1 and its raw counterpart: closed-loop posts vs REQ→ROUTER/DEALER→REP echo,
/// on each stack in turn within every repeat.
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
        let mut cells: Vec<PostCells> = sys.stacks.iter().map(|_| PostCells::default()).collect();
        for rep in 0..cfg.repeats {
            for (stack, c) in sys.stacks.iter().zip(&mut cells) {
                progress(&format!(
                    "post throughput: {n} clients, {}, repeat {}",
                    stack.transport.name(),
                    rep + 1
                ));
                measure(cfg, stack, n, &echo_payload, c)?;
            }
        }
        let sc = format!("post, {n} clients");
        for (stack, c) in sys.stacks.iter().zip(cells) {
            for (metric, zs, rs) in [
                (
                    "acked posts/s (raw: echo req/s)",
                    c.z_rate,
                    Cell::Samples(c.r_rate),
                ),
                ("round trip p50 ms", c.z_p50, Cell::Samples(c.r_p50)),
                ("round trip p99 ms", c.z_p99, Cell::Samples(c.r_p99)),
                (
                    "backend CPU µs per post (raw: per echo)",
                    c.z_cpu,
                    Cell::Samples(c.r_cpu),
                ),
                ("error replies", c.z_err, Cell::None),
            ] {
                let mut r = row(&sc, metric, Cell::Samples(zs), rs, Cell::None);
                r.transport = Some(stack.transport);
                rows.push(r);
            }
        }
    }
    Ok(rows)
}
