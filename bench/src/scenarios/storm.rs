//! Login storm: posters' latency while many logins hash passwords.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use zchat_protocol::{Reply, Request};

use crate::load::{self, Control, ReqKind};
use crate::stats::{quantile_ms, Cell, Row};
use crate::zchat::{self, RawDealer};

use super::*;

/// Scenario 3: posters' p99 while `storm_logins` logins run at once, against an idle run.
pub fn login_storm(cfg: &Config, sys: &Systems) -> Result<Vec<Row>> {
    let posters = cfg.storm_posters.min(sys.main().tokens.len());
    let kind = ReqKind::Zchat {
        tokens: sys.main().tokens[..posters].to_vec(),
        channel: CHANNEL.into(),
        text_len: cfg.text_len,
    };
    let names: Vec<String> = (0..cfg.storm_logins)
        .map(|i| format!("post{}", i % sys.main().tokens.len()))
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
        let frontend = sys.main().zchat.frontend.clone();
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
            for c in &mut clients {
                let left = Duration::from_secs(60).saturating_sub(t0.elapsed());
                match c.recv(left) {
                    Ok(env) if matches!(env.body, Reply::Session { .. }) => {
                        crate::stats::record_ns(&mut lat, t0.elapsed().as_nanos() as u64);
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
            &sys.main().zchat.frontend,
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
