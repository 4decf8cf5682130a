//! The thread that owns the server's ZeroMQ sockets, and its link to the async world.
//!
//! A zmq socket must stay on one thread, so one thread owns them all: one DEALER per broker
//! (requests from that broker, replies back through it) and one PUB connected to every
//! proxy (live events). Requests go to tokio over a bounded channel (back-pressure: when
//! handlers fall behind, the thread stops reading and libzmq queues). Replies and
//! publications come back over a std channel plus a wake-up byte on a socketpair that the
//! thread polls next to the zmq sockets, so nothing waits for a poll timeout and the 100 ms
//! timeout only paces shutdown checks.
//!
//! Why one DEALER per broker rather than one DEALER connected to all: a DEALER spreads what
//! it sends round-robin over its peers, so a reply would go to whichever broker is next,
//! which does not know the client. Each request remembers the DEALER it came on
//! ([`Incoming::dealer`]) and its reply goes back on that one. A PUB, on the other hand,
//! sends each publication to every peer that subscribed, so one PUB connected to every
//! proxy's XSUB is exactly the fan-out wanted.
//!
//! No reply is dropped for want of room: a reply a DEALER cannot take now (its pipe to its
//! broker is full) waits in that DEALER's backlog, and while that backlog is not empty the
//! thread reads no new requests from that DEALER and waits until it is writable again (the
//! other brokers' DEALERs go on as usual). Only a real socket error drops a reply, and that
//! is logged with a running count ([`BridgeStats`]).

use std::collections::{BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc;
use zchat_protocol::net::{self, Exposure, Security};

use crate::shutdown::Shutdown;

/// A request as received: which broker it came through, the routing envelope to answer
/// to, and the payload frame.
#[derive(Debug)]
pub struct Incoming {
    /// The DEALER (index into [`BridgeConfig::broker`]) it arrived on: the reply must go
    /// back through the same broker, the only one that knows the client.
    pub dealer: usize,
    /// Every frame before the payload (client identity, delimiter…), returned untouched.
    pub envelope: Vec<Vec<u8>>,
    /// The last frame: the MessagePack request.
    pub body: Vec<u8>,
}

/// Something for the socket thread to send.
#[derive(Debug)]
pub enum Outbound {
    /// A reply through the broker the request came from.
    Reply {
        /// The request's [`Incoming::dealer`].
        dealer: usize,
        /// The request's envelope.
        envelope: Vec<Vec<u8>>,
        /// The MessagePack response.
        body: Vec<u8>,
    },
    /// A publication through every proxy.
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

/// Replies a zchat-server DEALER may queue towards its broker before it waits for room
/// (libzmq's default is 1,000). Beyond it replies wait in the socket thread's backlog.
pub const REPLY_HWM: i32 = 100_000;
/// Publications the server's PUB may queue towards each proxy before libzmq drops them
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
    /// Every broker's backend (DEALER) endpoint: one DEALER each, so that any broker can
    /// bring requests and each reply goes back the way its request came. At least one.
    pub broker: Vec<String>,
    /// Every proxy's XSUB endpoint: the one PUB connects to all of them, so each proxy
    /// (and every client subscribed through it) gets every publication. At least one.
    pub proxy: Vec<String>,
    /// Every socket's security: with CURVE, clients of brokers and proxies authenticating
    /// with the deployment's key pair.
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
    if config.broker.is_empty() {
        bail!("no broker endpoint to connect to");
    }
    if config.proxy.is_empty() {
        bail!("no proxy endpoint to connect to");
    }
    let mut dealers = Vec::with_capacity(config.broker.len());
    for _ in &config.broker {
        let dealer = net::socket(ctx, zmq::DEALER, Exposure::Internal, &config.security)?;
        dealer.set_sndhwm(REPLY_HWM)?;
        dealers.push(dealer);
    }
    let mut publisher = net::socket(ctx, zmq::PUB, Exposure::Internal, &config.security)?;
    publisher.set_sndhwm(PUBLISH_HWM)?;
    // Monitors first, so that even an instant connection is reported.
    let mut monitors = Vec::with_capacity(dealers.len());
    for dealer in &dealers {
        monitors.push(net::monitor(ctx, dealer, "server-dealer")?);
    }
    let pub_monitor = net::monitor(ctx, &publisher, "server-pub")?;
    if let Err(e) = connect_all(&dealers, &publisher, config) {
        // Before the monitors' readers drop: see `net::unmonitor`.
        for dealer in &mut dealers {
            net::unmonitor(dealer);
        }
        net::unmonitor(&mut publisher);
        return Err(e);
    }
    let (wake_rx, wake_tx) = UnixStream::pair().context("socketpair")?;
    wake_rx.set_nonblocking(true)?;
    wake_tx.set_nonblocking(true)?;
    let (tx, rx) = std_mpsc::channel();
    let links = Links::new(config, monitors, pub_monitor);
    let thread = std::thread::Builder::new()
        .name("zmq-bridge".into())
        .spawn(move || {
            run(SocketThread {
                dealers,
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

/// Connects DEALER `i` to broker `i`, and the PUB to every proxy.
fn connect_all(
    dealers: &[zmq::Socket],
    publisher: &zmq::Socket,
    config: &BridgeConfig,
) -> Result<()> {
    for (dealer, endpoint) in dealers.iter().zip(&config.broker) {
        net::connect(dealer, endpoint).context("server to broker")?;
    }
    for endpoint in &config.proxy {
        net::connect(publisher, endpoint).context("server to proxy")?;
    }
    Ok(())
}

/// One socket's outgoing connections, as its monitor reports them.
struct Link {
    monitor: zmq::Socket,
    /// What the peers are ("broker", "proxy"), for the logs.
    role: &'static str,
    /// The endpoints this socket connects to, as configured.
    endpoints: Vec<String>,
    /// Peers whose handshake succeeded and that have not been lost since, by name.
    up: BTreeSet<String>,
}

impl Link {
    /// How the logs name the peer of a monitor event: the configured endpoint when the
    /// socket has only one (it keeps host names), else the address libzmq reports (the
    /// resolved one, e.g. `tcp://10.0.0.2:5558`).
    fn peer(&self, frames: &[Vec<u8>]) -> String {
        if let [only] = &self.endpoints[..] {
            return only.clone();
        }
        frames.get(1).map_or_else(
            || self.endpoints.join(","),
            |address| String::from_utf8_lossy(address).into_owned(),
        )
    }
}

/// Watches the outgoing connections and says so in the logs, per peer: connected
/// (handshake done), lost, refused (a key that is not the deployment's, or CURVE on one side
/// only), or still not connected (every 10 s), so an unreachable broker or proxy is obvious.
struct Links {
    /// One per DEALER (same order as the brokers), then the PUB's.
    links: Vec<Link>,
    last_warning: Instant,
    last_refusal: Option<Instant>,
}

impl Links {
    fn new(config: &BridgeConfig, dealers: Vec<zmq::Socket>, publisher: zmq::Socket) -> Links {
        let mut links: Vec<Link> = dealers
            .into_iter()
            .zip(&config.broker)
            .map(|(monitor, endpoint)| Link {
                monitor,
                role: "broker",
                endpoints: vec![endpoint.clone()],
                up: BTreeSet::new(),
            })
            .collect();
        links.push(Link {
            monitor: publisher,
            role: "proxy",
            endpoints: config.proxy.clone(),
            up: BTreeSet::new(),
        });
        Links {
            links,
            last_warning: Instant::now(),
            last_refusal: None,
        }
    }

    fn on_event(&mut self, i: usize) {
        let Some(link) = self.links.get_mut(i) else {
            return;
        };
        while let Ok(frames) = link.monitor.recv_multipart(zmq::DONTWAIT) {
            let peer = link.peer(&frames);
            let role = link.role;
            match net::monitor_event(&frames) {
                Some(net::EVENT_HANDSHAKE_SUCCEEDED) => {
                    link.up.insert(peer.clone());
                    tracing::info!("connected to the {role} at {peer}");
                }
                Some(net::EVENT_DISCONNECTED) => {
                    let was_up = link.up.remove(&peer);
                    if was_up {
                        tracing::warn!("lost the {role} at {peer}; reconnecting");
                    }
                }
                // Retried by libzmq: logged at most every 10 s (warn_if_down says it lasts).
                Some(e)
                    if net::is_handshake_failure(e)
                        && self
                            .last_refusal
                            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) =>
                {
                    self.last_refusal = Some(Instant::now());
                    tracing::error!(
                        event = e,
                        value = net::monitor_value(&frames).unwrap_or(0),
                        "the {role} at {peer} refused this server's handshake: is --key-dir \
                         the deployment's key pair, and CURVE (or --plaintext) the same on \
                         both?"
                    );
                }
                _ => {}
            }
        }
    }

    fn warn_if_down(&mut self) {
        if self.last_warning.elapsed() < Duration::from_secs(10) {
            return;
        }
        self.last_warning = Instant::now();
        for link in &self.links {
            let (up, all) = (link.up.len(), link.endpoints.len());
            if up >= all {
                continue;
            }
            let role = link.role;
            if let [only] = &link.endpoints[..] {
                tracing::warn!(
                    "still not connected to the {role} at {only} (is it running and reachable?)"
                );
            } else {
                tracing::warn!(
                    "connected to {up} of the {all} {role} endpoints ({}); still trying the \
                     others (are they running and reachable?)",
                    link.endpoints.join(", ")
                );
            }
        }
    }
}

/// Everything the socket thread owns.
struct SocketThread {
    /// One per broker, in the order of [`BridgeConfig::broker`].
    dealers: Vec<zmq::Socket>,
    publisher: zmq::Socket,
    links: Links,
    wake: UnixStream,
    outbound: std_mpsc::Receiver<Outbound>,
    inbound: mpsc::Sender<Incoming>,
    stats: Arc<BridgeStats>,
    shutdown: Shutdown,
}

/// Most requests read from one DEALER in one turn of the loop before replies and
/// publications go out again.
const READ_TURN: usize = 256;

/// How long a graceful stop keeps trying to hand waiting replies to the brokers.
const FLUSH_AT_STOP: Duration = Duration::from_secs(5);

fn run(thread: SocketThread) {
    let SocketThread {
        mut dealers,
        mut publisher,
        mut links,
        mut wake,
        outbound,
        inbound,
        stats,
        shutdown,
    } = thread;
    let mut sender = Sender {
        dealers: &dealers,
        publisher: &publisher,
        backlogs: vec![VecDeque::new(); dealers.len()],
        stats: &stats,
    };
    let wake_fd = wake.as_raw_fd();
    let mut scratch = [0u8; 256];
    let mut reading = true;
    let n = dealers.len();
    loop {
        let ready: Vec<zmq::PollEvents> = {
            let mut items = Vec::with_capacity(2 * n + 2);
            for (dealer, backlog) in dealers.iter().zip(&sender.backlogs) {
                // While replies wait for room, read no requests from this DEALER: wait for
                // it to drain.
                let events = if !backlog.is_empty() {
                    zmq::POLLOUT
                } else if reading {
                    zmq::POLLIN
                } else {
                    zmq::PollEvents::empty()
                };
                items.push(dealer.as_poll_item(events));
            }
            items.push(zmq::PollItem::from_fd(wake_fd, zmq::POLLIN));
            for link in &links.links {
                items.push(link.monitor.as_poll_item(zmq::POLLIN));
            }
            if let Err(e) = net::poll(&mut items, 100) {
                tracing::error!("socket thread poll failed: {e}");
                break;
            }
            items.iter().map(zmq::PollItem::get_revents).collect()
        };
        for (i, events) in ready[n + 1..].iter().enumerate() {
            if events.contains(zmq::POLLIN) {
                links.on_event(i);
            }
        }
        links.warn_if_down();
        if ready[n].contains(zmq::POLLIN) {
            while matches!(wake.read(&mut scratch), Ok(n) if n > 0) {}
        }
        sender.flush_backlogs();
        while let Ok(msg) = outbound.try_recv() {
            sender.send(msg);
        }
        for (i, dealer) in dealers.iter().enumerate() {
            if !reading || !sender.backlogs[i].is_empty() || !ready[i].contains(zmq::POLLIN) {
                continue;
            }
            // A bounded turn: under sustained load a DEALER is never empty, and replies
            // (sent at the top of the loop) must not wait for it to be.
            for _ in 0..READ_TURN {
                let Ok(mut frames) = dealer.recv_multipart(zmq::DONTWAIT) else {
                    break;
                };
                let Some(body) = frames.pop() else { continue };
                let incoming = Incoming {
                    dealer: i,
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
    let deadline = Instant::now() + FLUSH_AT_STOP;
    while sender.waiting() > 0 && Instant::now() < deadline {
        let mut items: Vec<zmq::PollItem> = dealers
            .iter()
            .zip(&sender.backlogs)
            .filter(|(_, backlog)| !backlog.is_empty())
            .map(|(dealer, _)| dealer.as_poll_item(zmq::POLLOUT))
            .collect();
        if net::poll(&mut items, 100).is_err() {
            break;
        }
        sender.flush_backlogs();
    }
    let lost = sender.waiting() as u64;
    if lost > 0 {
        let total = stats.replies_dropped.fetch_add(lost, Ordering::Relaxed) + lost;
        tracing::warn!(
            lost,
            total,
            "replies still waiting for a broker at stop were dropped"
        );
    }
    // Before the monitors' readers (in `links`) drop: see `net::unmonitor`.
    for dealer in &mut dealers {
        net::unmonitor(dealer);
    }
    net::unmonitor(&mut publisher);
}

/// Writes replies and publications, keeping replies a DEALER has no room for.
struct Sender<'a> {
    dealers: &'a [zmq::Socket],
    publisher: &'a zmq::Socket,
    /// Replies waiting for room, one line per DEALER.
    backlogs: Vec<VecDeque<Vec<Vec<u8>>>>,
    stats: &'a BridgeStats,
}

impl Sender<'_> {
    fn send(&mut self, msg: Outbound) {
        match msg {
            Outbound::Reply {
                dealer,
                mut envelope,
                body,
            } => {
                envelope.push(body);
                match self.backlogs.get_mut(dealer) {
                    Some(backlog) if !backlog.is_empty() => backlog.push_back(envelope),
                    Some(_) => {
                        self.try_reply(dealer, envelope);
                    }
                    None => {
                        let total = self.stats.replies_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::error!(total, dealer, "reply for no known broker dropped");
                    }
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

    /// Sends one reply on DEALER `i`, or keeps it (at the front of its line) when there is
    /// no room.
    fn try_reply(&mut self, i: usize, frames: Vec<Vec<u8>>) -> bool {
        let (Some(dealer), Some(backlog)) = (self.dealers.get(i), self.backlogs.get_mut(i)) else {
            return true;
        };
        match dealer.send_multipart(frames.iter().map(|f| &f[..]), zmq::DONTWAIT) {
            Ok(()) => true,
            Err(zmq::Error::EAGAIN) => {
                backlog.push_front(frames);
                false
            }
            Err(e) => {
                let total = self.stats.replies_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(total, "reply dropped: {e}");
                true
            }
        }
    }

    /// Sends waiting replies, in order, on every DEALER that has room for them.
    fn flush_backlogs(&mut self) {
        for i in 0..self.backlogs.len() {
            while let Some(frames) = self.backlogs[i].pop_front() {
                if !self.try_reply(i, frames) {
                    break;
                }
            }
        }
    }

    /// Replies waiting for room, over every DEALER.
    fn waiting(&self) -> usize {
        self.backlogs.iter().map(VecDeque::len).sum()
    }
}
