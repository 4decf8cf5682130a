//! The pub/sub proxy: XSUB (servers publish) / XPUB (clients subscribe), with a gate.
//!
//! A plain `zmq::proxy` would let any subscriber subscribe to the empty prefix and receive
//! everything, direct messages included. This proxy puts its XPUB in *manual* mode
//! (`ZMQ_XPUB_MANUAL`): subscriptions are not applied automatically; the proxy applies only
//! those that name one whole topic ([`zchat_protocol::topic::is_allowed_subscription`]),
//! each to the subscriber that asked. Since inbox topics carry 128 secret bits, a client can
//! receive a user's DMs only by knowing that session's inbox id.
//!
//! Client subscriptions are never forwarded upstream: the XSUB subscribes once, to the `c/`
//! and `i/` topic families, so every publication reaches the proxy and is filtered here per
//! subscriber. (Forwarding them would let a hand-made peer send unbalanced unsubscribes that
//! the servers' PUB sockets would honour, silencing a channel for everyone.)
//!
//! Publications to a subscriber that does not keep up are dropped by XPUB, by design: a
//! slow subscriber must not hold up the others or grow the proxy's memory without bound,
//! and clients notice the gap in a conversation's `seq` and backfill it from history. The
//! queues are sized deliberately ([`SUBSCRIBER_HWM`], [`PUBLISHER_HWM`]).

use std::thread::JoinHandle;

use anyhow::{Context, Result};
use zchat_protocol::net::{self, Exposure};
use zchat_protocol::{codec, topic, Event, EventEnvelope};

use crate::shutdown::Shutdown;
use crate::transport::Endpoints;

/// Where the proxy listens.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Subscriber-facing XPUB endpoint, e.g. `tcp://*:5557`.
    pub xpub: String,
    /// Publisher-facing XSUB endpoint, e.g. `tcp://*:5558`.
    pub xsub: String,
}

/// A running proxy.
pub struct Proxy {
    xpub: String,
    xsub: String,
    stop: Shutdown,
    thread: Option<JoinHandle<()>>,
}

/// Publications queued towards one subscriber before XPUB drops to it (libzmq's default is
/// 1,000): some seconds of a busy channel plus bursts of DMs, so that a subscriber briefly
/// busy (a client redrawing, a slow link) misses nothing, while one that stopped reading
/// costs at most this many messages of memory and backfills from history when it returns.
pub const SUBSCRIBER_HWM: i32 = 10_000;
/// Publications queued from one server. The proxy reads whenever they come, so this only
/// absorbs bursts; it matches what a server queues towards the proxy
/// (`zmq_bridge::PUBLISH_HWM`).
pub const PUBLISHER_HWM: i32 = 100_000;

const ZMQ_XPUB_MANUAL: i32 = 71;

/// The `zmq` crate has no setter for `ZMQ_XPUB_MANUAL`, hence the FFI call.
#[allow(unsafe_code)]
fn set_xpub_manual(socket: &mut zmq::Socket) -> Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: the pointer is a live socket owned by `socket`; the option value is a c_int
    // that outlives the call, with its exact size passed.
    let rc = unsafe {
        zmq_sys::zmq_setsockopt(
            socket.as_mut_ptr(),
            ZMQ_XPUB_MANUAL,
            &on as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>(),
        )
    };
    if rc != 0 {
        anyhow::bail!(
            "cannot set ZMQ_XPUB_MANUAL: {}",
            // SAFETY: zmq_errno reads libzmq's thread-local errno; no arguments.
            zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() })
        );
    }
    Ok(())
}

impl Proxy {
    /// Binds both sockets (failing fast if an address is taken) and starts the gate thread.
    /// With CURVE, the XPUB admits any client key and the XSUB only the deployment's (the
    /// ZAP handler of `endpoints`): nobody else can publish.
    pub fn start(endpoints: &Endpoints, config: &ProxyConfig) -> Result<Proxy> {
        let ctx = endpoints.ctx();
        let transport = endpoints.transport();
        let mut xpub = net::socket(ctx, zmq::XPUB, Exposure::Public, &transport.for_clients())?;
        set_xpub_manual(&mut xpub)?;
        xpub.set_sndhwm(SUBSCRIBER_HWM)?;
        net::bind(&xpub, &config.xpub).context("proxy xpub")?;
        let xsub = net::socket(ctx, zmq::XSUB, Exposure::Internal, &transport.for_servers())?;
        xsub.set_rcvhwm(PUBLISHER_HWM)?;
        net::bind(&xsub, &config.xsub).context("proxy xsub")?;
        // Everything the servers publish comes here; filtering happens on the XPUB side.
        for family in [&b"\x01c/"[..], &b"\x01i/"[..]] {
            xsub.send(family, 0)
                .context("proxy upstream subscription")?;
        }
        let xpub_ep = net::last_endpoint(&xpub);
        let xsub_ep = net::last_endpoint(&xsub);
        let stop = Shutdown::new();
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("proxy".into())
            .spawn(move || run_gate(xpub, xsub, stop2))
            .context("spawn proxy thread")?;
        tracing::info!(xpub = %xpub_ep, xsub = %xsub_ep, "proxy listening");
        Ok(Proxy {
            xpub: xpub_ep,
            xsub: xsub_ep,
            stop,
            thread: Some(thread),
        })
    }

    /// The XPUB endpoint actually bound.
    pub fn xpub_endpoint(&self) -> &str {
        &self.xpub
    }

    /// The XSUB endpoint actually bound.
    pub fn xsub_endpoint(&self) -> &str {
        &self.xsub
    }

    /// Stops the gate and waits for its thread.
    pub fn stop(mut self) {
        self.stop.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        tracing::info!("proxy stopped");
    }
}

/// Sends the `probe` event on a probe topic just subscribed to. Only the subscriber that
/// picked that value receives it, and only after its subscription (and so every one it sent
/// before, which this loop applied first) is in place.
fn answer_probe(xpub: &zmq::Socket, topic: &[u8], value: u64) {
    let event = EventEnvelope::new(Event::Probe { value });
    match codec::encode(&event) {
        Ok(payload) => {
            if let Err(e) = xpub.send_multipart([topic, &payload[..]], zmq::DONTWAIT) {
                tracing::warn!("probe not sent: {e}");
            }
        }
        Err(e) => tracing::error!("cannot encode a probe: {e}"),
    }
}

fn run_gate(xpub: zmq::Socket, xsub: zmq::Socket, stop: Shutdown) {
    let mut refused: u64 = 0;
    while !stop.is_triggered() {
        let mut items = [
            xsub.as_poll_item(zmq::POLLIN),
            xpub.as_poll_item(zmq::POLLIN),
        ];
        if let Err(e) = net::poll(&mut items, 100) {
            tracing::error!("proxy poll failed: {e}");
            return;
        }
        let (from_pub, from_sub) = (items[0].is_readable(), items[1].is_readable());
        if from_pub {
            // Publications: forward as-is, all frames, without blocking the loop; a bounded
            // number per turn so that subscriptions are never starved by a busy stream.
            for _ in 0..1024 {
                let Ok(frames) = xsub.recv_multipart(zmq::DONTWAIT) else {
                    break;
                };
                if let Err(e) = xpub.send_multipart(frames, zmq::DONTWAIT) {
                    tracing::warn!("proxy dropped a publication: {e}");
                }
            }
        }
        if from_sub {
            for _ in 0..1024 {
                let Ok(frames) = xpub.recv_multipart(zmq::DONTWAIT) else {
                    break;
                };
                let Some(msg) = frames.first() else { continue };
                let (kind, topic_bytes) = match msg.split_first() {
                    Some((k @ (0 | 1), rest)) if frames.len() == 1 => (*k, rest),
                    _ => continue, // not a subscription message: ignore
                };
                if !topic::is_allowed_subscription(topic_bytes) {
                    refused += 1;
                    tracing::debug!(
                        topic = %String::from_utf8_lossy(topic_bytes),
                        refused,
                        "refused subscription (not a whole topic)"
                    );
                    continue;
                }
                let applied = if kind == 1 {
                    xpub.set_subscribe(topic_bytes)
                } else {
                    xpub.set_unsubscribe(topic_bytes)
                };
                if let Err(e) = applied {
                    tracing::warn!("cannot apply subscription: {e}");
                } else if kind == 1 {
                    if let Some(value) = topic::probe_value(topic_bytes) {
                        answer_probe(&xpub, topic_bytes, value);
                    }
                }
            }
        }
    }
}
