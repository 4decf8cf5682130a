//! The raw-ZeroMQ counterparts, with no chat logic: each runs as a child process of the bench
//! (hidden subcommands), so that every hop is a process boundary, as in zchat.
//!
//! They run until killed by the bench (each is a `zmq::proxy` or a blocking echo loop).
//! Like zchat's binaries, the two that bind report the endpoints they bound (ports resolved)
//! in the ready file named by `ZCHAT_READY_FILE`, if set.
//!
//! Given a key dir (`--key-dir`, made by the bench), they speak CURVE as zchat does: every
//! bound socket is a CURVE server with that pair, the echo worker a CURVE client of the
//! broker's backend — the same handshakes and per-message encryption, no chat logic.

use std::path::Path;

use anyhow::{Context, Result};
use zchat_protocol::net::CurveKeys;

use crate::procs::{write_ready_file, READY_FILE_ENV};
use crate::transport::{curve_client, curve_server, read_key_dir};

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

/// The key pair of `key_dir`, or `None` (plaintext) without one.
fn keys(key_dir: Option<&Path>) -> Result<Option<CurveKeys>> {
    key_dir.map(read_key_dir).transpose()
}

/// A socket to bind: a CURVE server when there are keys.
fn server_socket(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    keys: Option<&CurveKeys>,
) -> Result<zmq::Socket> {
    let s = ctx.socket(kind)?;
    if let Some(k) = keys {
        curve_server(&s, k)?;
    }
    Ok(s)
}

/// ROUTER (clients) ↔ DEALER (echo workers): the shape of zchat's broker.
pub fn broker(frontend: &str, backend: &str, key_dir: Option<&Path>) -> Result<()> {
    let keys = keys(key_dir)?;
    let ctx = zmq::Context::new();
    let f = server_socket(&ctx, zmq::ROUTER, keys.as_ref())?;
    f.bind(frontend)
        .with_context(|| format!("bind {frontend}"))?;
    let b = server_socket(&ctx, zmq::DEALER, keys.as_ref())?;
    b.bind(backend).with_context(|| format!("bind {backend}"))?;
    report(&[("frontend", &bound(&f)?), ("backend", &bound(&b)?)])?;
    zmq::proxy(&f, &b)?;
    Ok(())
}

/// A REP socket that echoes every request unchanged: the server with no work at all.
pub fn echo(backend: &str, key_dir: Option<&Path>) -> Result<()> {
    let keys = keys(key_dir)?;
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REP)?;
    if let Some(k) = &keys {
        curve_client(&s, &k.public)?;
    }
    s.connect(backend)?;
    loop {
        let msg = s.recv_multipart(0)?;
        s.send_multipart(msg, 0)?;
    }
}

/// XSUB (publishers) ↔ XPUB (subscribers): the shape of zchat's proxy.
pub fn proxy(xsub: &str, xpub: &str, key_dir: Option<&Path>) -> Result<()> {
    let keys = keys(key_dir)?;
    let ctx = zmq::Context::new();
    let sub = server_socket(&ctx, zmq::XSUB, keys.as_ref())?;
    sub.bind(xsub).with_context(|| format!("bind {xsub}"))?;
    let publ = server_socket(&ctx, zmq::XPUB, keys.as_ref())?;
    publ.bind(xpub).with_context(|| format!("bind {xpub}"))?;
    report(&[("xsub", &bound(&sub)?), ("xpub", &bound(&publ)?)])?;
    zmq::proxy(&sub, &publ)?;
    Ok(())
}
