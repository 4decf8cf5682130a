//! The raw-ZeroMQ counterparts, with no chat logic: each runs as a child process of the bench
//! (hidden subcommands), so that every hop is a process boundary, as in zchat.
//!
//! They run until killed by the bench (each is a `zmq::proxy` or a blocking echo loop).
//! Like zchat's binaries, the two that bind report the endpoints they bound (ports resolved)
//! in the ready file named by `ZCHAT_READY_FILE`, if set.

use anyhow::{Context, Result};

use crate::procs::{write_ready_file, READY_FILE_ENV};

/// The endpoint `s` bound.
fn bound(s: &zmq::Socket) -> Result<String> {
    s.get_last_endpoint()?
        .map_err(|_| anyhow::anyhow!("endpoint is not UTF-8"))
}

/// Reports the bound endpoints, if the bench asked for them.
fn report(endpoints: &[(&str, &str)]) -> Result<()> {
    match std::env::var_os(READY_FILE_ENV) {
        Some(path) => write_ready_file(std::path::Path::new(&path), endpoints),
        None => Ok(()),
    }
}

/// ROUTER (clients) ↔ DEALER (echo workers): the shape of zchat's broker.
pub fn broker(frontend: &str, backend: &str) -> Result<()> {
    let ctx = zmq::Context::new();
    let f = ctx.socket(zmq::ROUTER)?;
    f.bind(frontend)
        .with_context(|| format!("bind {frontend}"))?;
    let b = ctx.socket(zmq::DEALER)?;
    b.bind(backend).with_context(|| format!("bind {backend}"))?;
    report(&[("frontend", &bound(&f)?), ("backend", &bound(&b)?)])?;
    zmq::proxy(&f, &b)?;
    Ok(())
}

/// A REP socket that echoes every request unchanged: the server with no work at all.
pub fn echo(backend: &str) -> Result<()> {
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REP)?;
    s.connect(backend)?;
    loop {
        let msg = s.recv_multipart(0)?;
        s.send_multipart(msg, 0)?;
    }
}

/// XSUB (publishers) ↔ XPUB (subscribers): the shape of zchat's proxy.
pub fn proxy(xsub: &str, xpub: &str) -> Result<()> {
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::XSUB)?;
    sub.bind(xsub).with_context(|| format!("bind {xsub}"))?;
    let publ = ctx.socket(zmq::XPUB)?;
    publ.bind(xpub).with_context(|| format!("bind {xpub}"))?;
    report(&[("xsub", &bound(&sub)?), ("xpub", &bound(&publ)?)])?;
    zmq::proxy(&sub, &publ)?;
    Ok(())
}
