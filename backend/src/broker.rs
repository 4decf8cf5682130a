//! The broker: a ROUTER (clients) / DEALER (servers) queue device.
//!
//! Clients connect to the frontend; every `zchat-server` connects a DEALER to the backend.
//! Requests are spread over servers by the backend DEALER's round robin, replies find their
//! way back through the ROUTER's identity envelope. The broker never looks inside a
//! payload, so nothing a client sends can make it misbehave; the frontend caps message size.
//!
//! The forwarding loop is our own rather than `zmq::proxy`, so that no reply vanishes
//! silently:
//!
//! - Requests: the frontend is read only while the backend DEALER has room (POLLOUT, as
//!   libzmq's own proxy does). A server that falls behind thus pushes back on the clients
//!   (their requests wait in libzmq and TCP buffers, then in the clients' own backlogs)
//!   instead of anything being dropped here.
//! - Replies: the frontend is a ROUTER with `ZMQ_ROUTER_MANDATORY`, replies are sent with
//!   `DONTWAIT`, so a reply that cannot be delivered is an error we see rather than a silent
//!   drop. Each client may have [`CLIENT_REPLY_HWM`] replies queued towards it; only a client
//!   that stops reading fills that (EAGAIN), and only a client that is gone (it reconnected
//!   or quit: EHOSTUNREACH) cannot be reached. Both are counted ([`BrokerStats`]) and logged,
//!   and the totals are reported at stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use zchat_protocol::net::{self, Exposure};

use crate::transport::Endpoints;

/// Replies the broker may queue towards one client (libzmq's default is 1,000). A client may
/// pipeline requests freely; their replies must all fit here even when the client is briefly
/// slow to read. A client with more than this many replies unread is not reading at all (it
/// is broken or stuck): further replies to it are dropped, counted and logged.
pub const CLIENT_REPLY_HWM: i32 = 100_000;
/// Requests the broker buffers from one client while the servers are saturated (libzmq's
/// default, stated). Beyond it TCP pushes back on that client alone, so one client
/// pipelining thousands of requests does not crowd out the others (the ROUTER reads clients
/// fair-queued).
pub const CLIENT_REQUEST_HWM: i32 = 1_000;
/// Requests queued towards one server. Of the order of a server's own in-flight bound
/// (8,192): enough to keep it busy through a burst; small enough that the requests lost with
/// a crashed server (retried by their clients) stay few, and that back-pressure reaches the
/// clients soon.
pub const SERVER_REQUEST_HWM: i32 = 10_000;
/// Replies queued from one server. The broker reads replies whenever they come, so this only
/// absorbs bursts; it matches what a server queues towards the broker
/// (`zmq_bridge::REPLY_HWM`).
pub const SERVER_REPLY_HWM: i32 = 100_000;

/// Messages handled per socket per turn of the loop, so neither direction starves the other.
const BATCH: usize = 1024;

/// Where the broker listens.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Client-facing ROUTER endpoint, e.g. `tcp://*:5555`.
    pub frontend: String,
    /// Server-facing DEALER endpoint, e.g. `tcp://*:5556`.
    pub backend: String,
}

/// What the broker forwarded and what it could not deliver (running totals).
#[derive(Debug, Default)]
pub struct BrokerStats {
    /// Requests handed to a server.
    pub requests: AtomicU64,
    /// Replies handed to a client.
    pub replies: AtomicU64,
    /// Replies dropped because the client's queue was full ([`CLIENT_REPLY_HWM`] unread
    /// replies: the client stopped reading).
    pub replies_dropped_full: AtomicU64,
    /// Replies dropped because the client is gone (it reconnected or quit before its reply
    /// came; after a Lazy Pirate retry the retry's reply is the one that counts).
    pub replies_dropped_gone: AtomicU64,
    /// Replies dropped on any other socket error (never expected).
    pub replies_dropped_error: AtomicU64,
    /// Requests no server could take for a reason other than lack of room (a socket error;
    /// never expected).
    pub requests_dropped: AtomicU64,
}

impl BrokerStats {
    fn log_totals(&self) {
        tracing::info!(
            requests = self.requests.load(Ordering::Relaxed),
            replies = self.replies.load(Ordering::Relaxed),
            replies_dropped_full = self.replies_dropped_full.load(Ordering::Relaxed),
            replies_dropped_gone = self.replies_dropped_gone.load(Ordering::Relaxed),
            replies_dropped_error = self.replies_dropped_error.load(Ordering::Relaxed),
            requests_dropped = self.requests_dropped.load(Ordering::Relaxed),
            "broker totals"
        );
    }
}

/// A running broker; dropping it without [`Broker::stop`] leaves the thread running.
pub struct Broker {
    frontend: String,
    backend: String,
    control: zmq::Socket,
    stats: Arc<BrokerStats>,
    thread: Option<JoinHandle<()>>,
}

impl Broker {
    /// Binds both sockets (failing fast if an address is taken) and starts forwarding on a
    /// thread of its own. With CURVE, the frontend admits any client key and the backend only
    /// the deployment's (the ZAP handler of `endpoints`).
    pub fn start(endpoints: &Endpoints, config: &BrokerConfig) -> Result<Broker> {
        let ctx = endpoints.ctx();
        let transport = endpoints.transport();
        let frontend = net::socket(ctx, zmq::ROUTER, Exposure::Public, &transport.for_clients())?;
        frontend.set_router_mandatory(true)?;
        frontend.set_sndhwm(CLIENT_REPLY_HWM)?;
        frontend.set_rcvhwm(CLIENT_REQUEST_HWM)?;
        net::bind(&frontend, &config.frontend).context("broker frontend")?;
        let backend = net::socket(
            ctx,
            zmq::DEALER,
            Exposure::Internal,
            &transport.for_servers(),
        )?;
        backend.set_sndhwm(SERVER_REQUEST_HWM)?;
        backend.set_rcvhwm(SERVER_REPLY_HWM)?;
        net::bind(&backend, &config.backend).context("broker backend")?;
        let frontend_ep = net::last_endpoint(&frontend);
        let backend_ep = net::last_endpoint(&backend);

        let control_addr = format!("inproc://broker-control-{}", unique_suffix());
        let control = ctx.socket(zmq::PAIR)?;
        control.bind(&control_addr)?;
        let control_peer = ctx.socket(zmq::PAIR)?;
        control_peer.connect(&control_addr)?;

        let stats = Arc::new(BrokerStats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("broker".into())
            .spawn(move || {
                let mut device = Device {
                    frontend,
                    backend,
                    control: control_peer,
                    stats: thread_stats,
                    held: None,
                    full_log: DropLog::default(),
                };
                if let Err(e) = device.run() {
                    tracing::error!("broker stopped: {e}");
                }
            })
            .context("spawn broker thread")?;
        tracing::info!(frontend = %frontend_ep, backend = %backend_ep, "broker listening");
        Ok(Broker {
            frontend: frontend_ep,
            backend: backend_ep,
            control,
            stats,
            thread: Some(thread),
        })
    }

    /// The frontend endpoint actually bound (port resolved).
    pub fn frontend_endpoint(&self) -> &str {
        &self.frontend
    }

    /// The backend endpoint actually bound.
    pub fn backend_endpoint(&self) -> &str {
        &self.backend
    }

    /// Running totals: what was forwarded and what could not be delivered.
    pub fn stats(&self) -> &BrokerStats {
        &self.stats
    }

    /// Stops forwarding, waits for the thread and logs the totals.
    pub fn stop(mut self) {
        // DONTWAIT: if the forwarding thread has ended (an error), nobody reads the PAIR.
        let _ = self.control.send("TERMINATE", zmq::DONTWAIT);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.stats.log_totals();
        tracing::info!("broker stopped");
    }
}

/// Rate-limits the warning about replies dropped to clients that do not read: one line a
/// second at most, each with the running total, so a stuck client cannot flood the log and
/// no drop goes unreported (the rest are in the next line and in the totals at stop).
#[derive(Default)]
struct DropLog {
    last: Option<Instant>,
    unlogged: u64,
}

/// The forwarding loop's state.
struct Device {
    frontend: zmq::Socket,
    backend: zmq::Socket,
    control: zmq::Socket,
    stats: Arc<BrokerStats>,
    /// A request the backend refused for want of room although it reported room (a server
    /// left meanwhile): sent before anything else is read from the frontend.
    held: Option<Vec<Vec<u8>>>,
    full_log: DropLog,
}

impl Device {
    fn run(&mut self) -> Result<()> {
        loop {
            // Read requests only while a server can take them; otherwise wait for room.
            let room = self.held.is_none() && self.backend_has_room()?;
            let (front_in, back_ready, control_in) = {
                let back_events = if room {
                    zmq::POLLIN
                } else {
                    zmq::POLLIN | zmq::POLLOUT
                };
                let mut items = [
                    self.frontend.as_poll_item(if room {
                        zmq::POLLIN
                    } else {
                        zmq::PollEvents::empty()
                    }),
                    self.backend.as_poll_item(back_events),
                    self.control.as_poll_item(zmq::POLLIN),
                ];
                net::poll(&mut items, -1).context("broker poll")?;
                (
                    items[0].is_readable(),
                    items[1].get_revents(),
                    items[2].is_readable(),
                )
            };
            if control_in && self.on_control() {
                return Ok(());
            }
            if back_ready.contains(zmq::POLLIN) {
                self.forward_replies();
            }
            if front_in || back_ready.contains(zmq::POLLOUT) {
                self.forward_requests()?;
            }
        }
    }

    fn backend_has_room(&self) -> Result<bool> {
        Ok(self
            .backend
            .get_events()
            .context("broker backend events")?
            .contains(zmq::POLLOUT))
    }

    /// True when told to stop.
    fn on_control(&mut self) -> bool {
        match self.control.recv_bytes(zmq::DONTWAIT) {
            Ok(cmd) => cmd == b"TERMINATE",
            Err(_) => false,
        }
    }

    /// Server → client. ROUTER_MANDATORY + DONTWAIT: a reply that cannot be delivered is an
    /// error, counted here, never a silent drop.
    fn forward_replies(&mut self) {
        for _ in 0..BATCH {
            let Ok(frames) = self.backend.recv_multipart(zmq::DONTWAIT) else {
                break;
            };
            match self
                .frontend
                .send_multipart(frames.iter().map(|f| &f[..]), zmq::DONTWAIT)
            {
                Ok(()) => {
                    self.stats.replies.fetch_add(1, Ordering::Relaxed);
                }
                Err(zmq::Error::EAGAIN) => self.dropped_full(),
                Err(zmq::Error::EHOSTUNREACH) => {
                    let total = self
                        .stats
                        .replies_dropped_gone
                        .fetch_add(1, Ordering::Relaxed)
                        + 1;
                    tracing::debug!(total, "reply dropped: the client is gone");
                }
                Err(e) => {
                    let total = self
                        .stats
                        .replies_dropped_error
                        .fetch_add(1, Ordering::Relaxed)
                        + 1;
                    tracing::warn!(total, "reply dropped: {e}");
                }
            }
        }
    }

    fn dropped_full(&mut self) {
        let total = self
            .stats
            .replies_dropped_full
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        let log = &mut self.full_log;
        log.unlogged += 1;
        if log
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(
                dropped = log.unlogged,
                total,
                hwm = CLIENT_REPLY_HWM,
                "replies dropped: a client's reply queue is full (it stopped reading)"
            );
            log.last = Some(Instant::now());
            log.unlogged = 0;
        }
    }

    /// Client → server, while the backend has room; stops at the first refusal, keeping that
    /// request for the next turn.
    fn forward_requests(&mut self) -> Result<()> {
        for _ in 0..BATCH {
            let frames = match self.held.take() {
                Some(frames) => frames,
                None => {
                    if !self.backend_has_room()? {
                        return Ok(());
                    }
                    match self.frontend.recv_multipart(zmq::DONTWAIT) {
                        Ok(frames) => frames,
                        Err(_) => return Ok(()),
                    }
                }
            };
            match self
                .backend
                .send_multipart(frames.iter().map(|f| &f[..]), zmq::DONTWAIT)
            {
                Ok(()) => {
                    self.stats.requests.fetch_add(1, Ordering::Relaxed);
                }
                Err(zmq::Error::EAGAIN) => {
                    self.held = Some(frames);
                    return Ok(());
                }
                Err(e) => {
                    let total = self.stats.requests_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(total, "request dropped (the client will retry): {e}");
                }
            }
        }
        Ok(())
    }
}

/// A process-unique suffix for inproc endpoint names.
pub(crate) fn unique_suffix() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
