//! The thread that owns the server's ZeroMQ sockets, and its link to the async world.
//!
//! A zmq socket must stay on one thread, so one thread owns both the DEALER (requests from
//! the broker, replies back) and the PUB (live events to the proxy). Requests go to tokio
//! over a bounded channel (back-pressure: when handlers fall behind, the thread stops reading
//! and libzmq queues). Replies and publications come back over a std channel plus a wake-up
//! byte on a socketpair that the thread polls next to the zmq sockets, so nothing waits
//! for a poll timeout and the 100 ms timeout only paces shutdown checks.
//!
//! No reply is dropped for want of room: a reply the DEALER cannot take now (its pipe to the
//! broker is full) waits in a backlog, and while the backlog is not empty the thread reads no
//! new requests and waits until the DEALER is writable again. Only a real socket error drops
//! a reply, and that is logged with a running count ([`BridgeStats`]).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use zchat_protocol::net::{self, Exposure, Security};

use crate::shutdown::Shutdown;

/// A request as received: the routing envelope to answer to, and the payload frame.
#[derive(Debug)]
pub struct Incoming {
    /// Every frame before the payload (client identity, delimiter…), returned untouched.
    pub envelope: Vec<Vec<u8>>,
    /// The last frame: the MessagePack request.
    pub body: Vec<u8>,
}

/// Something for the socket thread to send.
#[derive(Debug)]
pub enum Outbound {
    /// A reply through the broker.
    Reply {
        /// The request's envelope.
        envelope: Vec<Vec<u8>>,
        /// The MessagePack response.
        body: Vec<u8>,
    },
    /// A publication through the proxy.
    Publish {
        /// Topic frame.
        topic: String,
        /// MessagePack event frame.
        payload: Vec<u8>,
    },
}

/// Counters a graceful stop and the logs report.
#[derive(Debug, Default)]
pub struct BridgeStats {
    /// Replies lost to a socket error (never for want of room: those wait).
    pub replies_dropped: AtomicU64,
    /// Publications the PUB socket refused.
    pub publications_dropped: AtomicU64,
}

/// Replies a zchat-server DEALER may queue towards the broker before it waits for room
/// (libzmq's default is 1,000). Beyond it replies wait in the socket thread's backlog.
pub const REPLY_HWM: i32 = 100_000;
/// Publications the server's PUB may queue towards the proxy before libzmq drops them
/// (subscribers then backfill the gap from history). Sized for bursts of a whole batch
/// of DMs to many inboxes.
pub const PUBLISH_HWM: i32 = 100_000;

/// Cloneable sender of [`Outbound`] messages to the socket thread. Never blocks.
#[derive(Clone)]
pub struct OutboundSender {
    tx: std_mpsc::Sender<Outbound>,
    wake: Arc<UnixStream>,
}

impl OutboundSender {
    /// Queues a message and wakes the socket thread.
    pub fn send(&self, msg: Outbound) {
        if self.tx.send(msg).is_ok() {
            // A full socketpair buffer means a wake-up is already pending: ignore it.
            let _ = (&*self.wake).write(&[1]);
        }
    }
}

/// Endpoints the server connects to, and how.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The broker's backend (DEALER) endpoint.
    pub broker: String,
    /// The proxy's XSUB endpoint.
    pub proxy: String,
    /// Both sockets' security: with CURVE, clients of broker and proxy authenticating with
    /// the deployment's key pair.
    pub security: Security,
}

/// Connects the sockets (failing fast on malformed endpoints) and starts the socket thread.
pub fn start(
    ctx: &zmq::Context,
    config: &BridgeConfig,
    inbound: mpsc::Sender<Incoming>,
    stats: Arc<BridgeStats>,
    shutdown: Shutdown,
) -> Result<(OutboundSender, JoinHandle<()>)> {
    let dealer = net::socket(ctx, zmq::DEALER, Exposure::Internal, &config.security)?;
    dealer.set_sndhwm(REPLY_HWM)?;
    let publisher = net::socket(ctx, zmq::PUB, Exposure::Internal, &config.security)?;
    publisher.set_sndhwm(PUBLISH_HWM)?;
    // Monitors first, so that even an instant connection is reported.
    let monitors = [
        net::monitor(ctx, &dealer, "server-dealer")?,
        net::monitor(ctx, &publisher, "server-pub")?,
    ];
    net::connect(&dealer, &config.broker).context("server to broker")?;
    net::connect(&publisher, &config.proxy).context("server to proxy")?;
    let (wake_rx, wake_tx) = UnixStream::pair().context("socketpair")?;
    wake_rx.set_nonblocking(true)?;
    wake_tx.set_nonblocking(true)?;
    let (tx, rx) = std_mpsc::channel();
    let links = Links::new(config, monitors);
    let thread = std::thread::Builder::new()
        .name("zmq-bridge".into())
        .spawn(move || {
            run(SocketThread {
                dealer,
                publisher,
                links,
                wake: wake_rx,
                outbound: rx,
                inbound,
                stats,
                shutdown,
            });
        })
        .context("spawn socket thread")?;
    Ok((
        OutboundSender {
            tx,
            wake: Arc::new(wake_tx),
        },
        thread,
    ))
}

/// Watches the two outgoing connections and says so in the logs: connected (handshake
/// done), lost, refused (a key that is not the deployment's, or CURVE on one side only), or
/// still not connected (every 10 s), so an unreachable broker or proxy is obvious.
struct Links {
    monitors: [zmq::Socket; 2],
    names: [String; 2],
    up: [bool; 2],
    last_warning: std::time::Instant,
    last_refusal: Option<std::time::Instant>,
}

impl Links {
    fn new(config: &BridgeConfig, monitors: [zmq::Socket; 2]) -> Links {
        Links {
            monitors,
            names: [
                format!("broker at {}", config.broker),
                format!("proxy at {}", config.proxy),
            ],
            up: [false; 2],
            last_warning: std::time::Instant::now(),
            last_refusal: None,
        }
    }

    fn on_event(&mut self, i: usize) {
        while let Ok(frames) = self.monitors[i].recv_multipart(zmq::DONTWAIT) {
            match net::monitor_event(&frames) {
                Some(net::EVENT_HANDSHAKE_SUCCEEDED) => {
                    self.up[i] = true;
                    tracing::info!("connected to the {}", self.names[i]);
                }
                Some(net::EVENT_DISCONNECTED) => {
                    if self.up[i] {
                        tracing::warn!("lost the {}; reconnecting", self.names[i]);
                    }
                    self.up[i] = false;
                }
                // Retried by libzmq: logged at most every 10 s (warn_if_down says it lasts).
                Some(e)
                    if net::is_handshake_failure(e)
                        && self
                            .last_refusal
                            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10)) =>
                {
                    self.last_refusal = Some(std::time::Instant::now());
                    tracing::error!(
                        event = e,
                        value = net::monitor_value(&frames).unwrap_or(0),
                        "the {} refused this server's handshake: is --key-dir the \
                         deployment's key pair, and CURVE (or --plaintext) the same on both?",
                        self.names[i]
                    );
                }
                _ => {}
            }
        }
    }

    fn warn_if_down(&mut self) {
        if self.last_warning.elapsed() >= std::time::Duration::from_secs(10) {
            self.last_warning = std::time::Instant::now();
            for i in 0..2 {
                if !self.up[i] {
                    tracing::warn!(
                        "still not connected to the {} (is it running and reachable?)",
                        self.names[i]
                    );
                }
            }
        }
    }
}

/// Everything the socket thread owns.
struct SocketThread {
    dealer: zmq::Socket,
    publisher: zmq::Socket,
    links: Links,
    wake: UnixStream,
    outbound: std_mpsc::Receiver<Outbound>,
    inbound: mpsc::Sender<Incoming>,
    stats: Arc<BridgeStats>,
    shutdown: Shutdown,
}

/// Most requests read in one turn of the loop before replies and publications go out again.
const READ_TURN: usize = 256;

/// How long a graceful stop keeps trying to hand waiting replies to the broker.
const FLUSH_AT_STOP: std::time::Duration = std::time::Duration::from_secs(5);

fn run(thread: SocketThread) {
    let SocketThread {
        mut dealer,
        mut publisher,
        mut links,
        mut wake,
        outbound,
        inbound,
        stats,
        shutdown,
    } = thread;
    let mut sender = Sender {
        dealer: &dealer,
        publisher: &publisher,
        backlog: VecDeque::new(),
        stats: &stats,
    };
    let wake_fd = wake.as_raw_fd();
    let mut scratch = [0u8; 256];
    let mut reading = true;
    loop {
        // While replies wait for room, read no requests: wait for the DEALER to drain.
        let dealer_events = if !sender.backlog.is_empty() {
            zmq::POLLOUT
        } else if reading {
            zmq::POLLIN
        } else {
            zmq::PollEvents::empty()
        };
        let ready = {
            let mut items = [
                dealer.as_poll_item(dealer_events),
                zmq::PollItem::from_fd(wake_fd, zmq::POLLIN),
                links.monitors[0].as_poll_item(zmq::POLLIN),
                links.monitors[1].as_poll_item(zmq::POLLIN),
            ];
            if let Err(e) = net::poll(&mut items, 100) {
                tracing::error!("socket thread poll failed: {e}");
                break;
            }
            items.map(|i| i.get_revents())
        };
        for (i, events) in [ready[2], ready[3]].into_iter().enumerate() {
            if events.contains(zmq::POLLIN) {
                links.on_event(i);
            }
        }
        links.warn_if_down();
        if ready[1].contains(zmq::POLLIN) {
            while matches!(wake.read(&mut scratch), Ok(n) if n > 0) {}
        }
        sender.flush_backlog();
        while let Ok(msg) = outbound.try_recv() {
            sender.send(msg);
        }
        if reading && sender.backlog.is_empty() && ready[0].contains(zmq::POLLIN) {
            // A bounded turn: under sustained load the DEALER is never empty, and replies
            // (sent at the top of the loop) must not wait for it to be.
            for _ in 0..READ_TURN {
                let Ok(mut frames) = dealer.recv_multipart(zmq::DONTWAIT) else {
                    break;
                };
                let Some(body) = frames.pop() else { continue };
                let incoming = Incoming {
                    envelope: frames,
                    body,
                };
                if inbound.blocking_send(incoming).is_err() {
                    // The server loop takes no more requests (it is stopping): leave the
                    // rest to libzmq and keep sending its answers until told to stop.
                    reading = false;
                    break;
                }
            }
        }
        if shutdown.is_triggered() {
            break;
        }
    }
    // Flush what handlers produced before stopping, then let linger deliver it.
    while let Ok(msg) = outbound.try_recv() {
        sender.send(msg);
    }
    let deadline = std::time::Instant::now() + FLUSH_AT_STOP;
    while !sender.backlog.is_empty() && std::time::Instant::now() < deadline {
        let mut items = [dealer.as_poll_item(zmq::POLLOUT)];
        if net::poll(&mut items, 100).is_err() {
            break;
        }
        sender.flush_backlog();
    }
    if !sender.backlog.is_empty() {
        let lost = sender.backlog.len() as u64;
        let total = stats.replies_dropped.fetch_add(lost, Ordering::Relaxed) + lost;
        tracing::warn!(
            lost,
            total,
            "replies still waiting for the broker at stop were dropped"
        );
    }
    // Before the monitors' readers (in `links`) drop: see `net::unmonitor`.
    net::unmonitor(&mut dealer);
    net::unmonitor(&mut publisher);
}

/// Writes replies and publications, keeping replies the DEALER has no room for.
struct Sender<'a> {
    dealer: &'a zmq::Socket,
    publisher: &'a zmq::Socket,
    backlog: VecDeque<Vec<Vec<u8>>>,
    stats: &'a BridgeStats,
}

impl Sender<'_> {
    fn send(&mut self, msg: Outbound) {
        match msg {
            Outbound::Reply { mut envelope, body } => {
                envelope.push(body);
                if self.backlog.is_empty() {
                    self.try_reply(envelope);
                } else {
                    self.backlog.push_back(envelope);
                }
            }
            Outbound::Publish { topic, payload } => {
                if let Err(e) = self
                    .publisher
                    .send_multipart([topic.as_bytes(), &payload[..]], zmq::DONTWAIT)
                {
                    let total = self
                        .stats
                        .publications_dropped
                        .fetch_add(1, Ordering::Relaxed)
                        + 1;
                    tracing::warn!(total, "publication dropped: {e}");
                }
            }
        }
    }

    /// Sends one reply, or keeps it (at the front of the line) when there is no room.
    fn try_reply(&mut self, frames: Vec<Vec<u8>>) -> bool {
        match self
            .dealer
            .send_multipart(frames.iter().map(|f| &f[..]), zmq::DONTWAIT)
        {
            Ok(()) => true,
            Err(zmq::Error::EAGAIN) => {
                self.backlog.push_front(frames);
                false
            }
            Err(e) => {
                let total = self.stats.replies_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(total, "reply dropped: {e}");
                true
            }
        }
    }

    fn flush_backlog(&mut self) {
        while let Some(frames) = self.backlog.pop_front() {
            if !self.try_reply(frames) {
                break;
            }
        }
    }
}
