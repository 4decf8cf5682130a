//! The socket thread: owns the DEALER (to one broker at a time) and the SUB (from every
//! proxy).
//!
//! Commands come in over a std channel with a wake-up byte on a socketpair that the thread
//! polls beside the zmq sockets, so requests go out at once; the poll timeout only paces
//! the check for a dropped handle.
//!
//! No request is dropped for want of room: one the DEALER cannot take now (it already queues
//! [`REQUEST_HWM`] requests, e.g. while the broker is away) waits in a FIFO backlog, and while the backlog
//! is not empty the thread also waits for the DEALER to become writable and sends those
//! first, in order. A request whose caller stopped waiting (timed out or gave up) is not
//! sent from the backlog: its retry, if any, comes as a new command with the same id, and a
//! request already waiting there is never queued twice.
//!
//! Transport: both sockets use the [`Security`] made by [`security`] — CURVE with the
//! server's public key and a fresh key pair of this run, or plaintext when no key is given.
//! A handshake that fails (wrong server key, CURVE on one side only, a refused key) is read
//! from the sockets' monitors, never guessed from a timeout: on the DEALER it fails every
//! waiting request at once with the reason ([`HandshakeFailure`]), and the socket is closed
//! until the next request (libzmq alone would retry every 100 ms forever); on the SUB it is
//! logged. Live events report a proxy as connected only once a handshake succeeded.
//!
//! Several brokers (the zguide's Freelance pattern, in its simplest robust form): the DEALER
//! talks to one broker at a time, the *active* one, and stays with it while it answers. It
//! moves to the next in the list ([`Io::fail_over`]) when a request times out (the caller
//! asks, [`Command::Reconnect`]), at once when the active broker's connection drops after a
//! handshake (a killed broker: the kernel closes its sockets), and when the active broker
//! has not completed a handshake [`CONNECT_PATIENCE`] after becoming active while requests
//! wait (nobody listens there). Moving resends, on the new socket and in request order,
//! every request whose caller still waits: the same encoded frame, so the same id and, for
//! a `send`, the same nonce. The thread remembers which requests each socket was given, so a
//! request is never sent twice on one socket, whoever asks.
//!
//! Several proxies: the SUB connects to all of them, so each event arrives once per proxy
//! that the publishing server reached; [`crate::feed`] drops the copies.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use zchat_protocol::net::{self, CurveKeys, Exposure, Security};
use zchat_protocol::{codec, EventEnvelope, ResponseEnvelope};

use crate::connection::ClientError;
use crate::link::{Counters, HandshakeFailure, Live, Pending};

/// Requests the DEALER may queue towards the broker (libzmq's default is 1,000). A client may
/// pipeline thousands of requests; most then wait here rather than in the backlog. Beyond it
/// they wait in the socket thread's backlog, so the number only trades libzmq's queue for
/// ours — nothing is dropped either way.
pub const REQUEST_HWM: i32 = 10_000;
/// Replies the DEALER may queue from the broker before the broker's pipe to this client
/// fills. The socket thread reads replies as soon as they come, so this only absorbs bursts;
/// it matches the broker's per-client reply queue (`CLIENT_REPLY_HWM`, 100,000), so that
/// everything a client may have in flight has room on both sides.
pub const REPLY_HWM: i32 = 100_000;

/// With several brokers, how long the active one may go without a completed handshake while
/// requests wait before the next one is tried. A broker on loopback or a LAN completes its
/// CURVE handshake in milliseconds; one that nobody listens on never does. Short, so that
/// a dead first entry in the list costs well under the 2 s failover budget.
pub const CONNECT_PATIENCE: Duration = Duration::from_millis(750);
/// The longest the connect patience grows to (see `SocketThread::connect_patience`).
pub const MAX_CONNECT_PATIENCE: Duration = Duration::from_secs(6);

/// What the async side asks of the socket thread.
pub(crate) enum Command {
    /// A request frame and its id (the same for every attempt).
    Send {
        id: u64,
        frame: Vec<u8>,
    },
    /// A request timed out after `timeout`: reopen the request socket, on the next broker
    /// when there are several, and resend there what is still awaited — unless the socket
    /// is younger than `timeout` (the thread itself failed over since: the request went out
    /// again on it, and its answer may still come; moving again would go back to a dead
    /// broker).
    Reconnect {
        timeout: Duration,
    },
    Subscribe(String),
    Unsubscribe(String),
    SetSink(mpsc::UnboundedSender<Live>),
}

/// Owner side of the thread: dropping it stops the thread.
pub(crate) struct IoHandle {
    tx: std_mpsc::Sender<Command>,
    wake: UnixStream,
}

impl IoHandle {
    pub(crate) fn send(&self, cmd: Command) {
        if self.tx.send(cmd).is_ok() {
            let _ = (&self.wake).write(&[1]);
        }
    }
}

impl Drop for IoHandle {
    fn drop(&mut self) {
        // Closing `wake` makes the thread's end readable with EOF: it exits.
        let _ = self.wake.shutdown(std::net::Shutdown::Both);
    }
}

/// The sockets' security for a server key (`None`: plaintext): CURVE with a fresh ephemeral
/// key pair; who the user is stays the business of login and tokens.
pub(crate) fn security(server_key: Option<&str>) -> Result<Security, ClientError> {
    let Some(key) = server_key else {
        return Ok(Security::Plaintext);
    };
    let server_key = net::decode_key(key)
        .map_err(|e| ClientError::Local(format!("invalid server key {key:?}: {e}")))?;
    let keys = CurveKeys::generate()
        .map_err(|e| ClientError::Local(format!("cannot make a CURVE key pair: {e}")))?;
    Ok(Security::CurveClient { server_key, keys })
}

/// What a failed handshake means, in words that name the server key in use.
fn describe_failure(event: u16, value: u32, security: &Security) -> String {
    let Security::CurveClient { server_key, .. } = security else {
        return "requires an encrypted connection (CURVE) and this client connected in \
                plaintext: give the client the server's public key (the deployment's zchat.pub, \
                printed by `zchat-server public-key`)"
            .into();
    };
    let key = net::encode_key(server_key);
    match (event, value) {
        (net::EVENT_HANDSHAKE_FAILED_PROTOCOL, net::PROTOCOL_ERROR_MECHANISM_MISMATCH) => {
            format!("is not using CURVE (a --plaintext backend) but this client expects server key {key}")
        }
        (net::EVENT_HANDSHAKE_FAILED_AUTH, status) => {
            format!("refused this client's handshake (status {status}) with server key {key}")
        }
        _ => format!(
            "did not accept the handshake with server key {key}: wrong server key, or the \
             server is not using CURVE"
        ),
    }
}

/// Starts the socket thread: the DEALER on the first of `brokers` (a non-empty list), the
/// SUB on every one of `proxies` (none for a requests-only client).
pub(crate) fn start(
    brokers: Vec<String>,
    proxies: Vec<String>,
    security: Security,
    pending: Pending,
    counters: Arc<Counters>,
) -> Result<IoHandle> {
    let ctx = zmq::Context::new();
    let first = brokers.first().context("no broker endpoint")?;
    let (dealer, dealer_monitor) = new_dealer(&ctx, first, &security)?;
    let sub = net::socket(&ctx, zmq::SUB, Exposure::Internal, &security)?;
    sub.set_linger(0)?;
    // Subscriptions are small and must never be dropped at the high-water mark while the
    // proxy is away (a dropped one would never be resent): no limit on what SUB queues.
    sub.set_sndhwm(0)?;
    let monitor = net::monitor(&ctx, &sub, "client-sub")?;
    for proxy in &proxies {
        net::connect(&sub, proxy).context("client to proxy")?;
    }
    let (wake_rx, wake_tx) = UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    wake_tx.set_nonblocking(true)?;
    let (tx, rx) = std_mpsc::channel();
    std::thread::Builder::new()
        .name("zchat-client-io".into())
        .spawn(move || {
            let mut io = Io {
                ctx,
                brokers,
                active: 0,
                active_since: Instant::now(),
                connect_patience: CONNECT_PATIENCE,
                active_up: false,
                proxies,
                security,
                dealer,
                dealer_monitor,
                dealer_failed: false,
                no_detail_streak: 0,
                sub,
                monitor,
                sub_up: HashMap::new(),
                sub_failure_logged: None,
                sink: None,
                pending,
                counters,
                backlog: VecDeque::new(),
                waiting: HashSet::new(),
                inflight: BTreeMap::new(),
                prune_at: PRUNE_MIN,
            };
            io.run(wake_rx, rx);
        })?;
    Ok(IoHandle { tx, wake: wake_tx })
}

/// A DEALER connected to the broker, and the monitor that reports its handshakes.
fn new_dealer(
    ctx: &zmq::Context,
    broker: &str,
    security: &Security,
) -> Result<(zmq::Socket, zmq::Socket)> {
    let dealer = net::socket(ctx, zmq::DEALER, Exposure::Internal, security)?;
    dealer.set_linger(0)?;
    dealer.set_sndhwm(REQUEST_HWM)?;
    dealer.set_rcvhwm(REPLY_HWM)?;
    // The monitor first, so that even the first handshake is reported.
    let monitor = net::monitor(ctx, &dealer, "client-dealer")?;
    net::connect(&dealer, broker).context("client to broker")?;
    Ok((dealer, monitor))
}

/// Stops the monitors before the sockets and their readers drop (see [`net::unmonitor`]).
impl Drop for Io {
    fn drop(&mut self) {
        net::unmonitor(&mut self.dealer);
        net::unmonitor(&mut self.sub);
    }
}

/// `HANDSHAKE_FAILED_NO_DETAIL`s in a row taken as a refused handshake (a wrong server key
/// repeats on every reconnect, ~100/200/400 ms apart, well within a request's timeout; a
/// dropped connection happens once).
const NO_DETAIL_FINAL: u32 = 3;

/// `inflight` is pruned of requests nobody awaits any more when it grows past twice its
/// size after the last pruning, and never below this.
const PRUNE_MIN: usize = 1024;

/// What became of a request handed to the DEALER.
enum Sent {
    /// The DEALER took it.
    Taken,
    /// No room for it now: it waits in the backlog.
    Full,
    /// A socket error: dropped (logged); its caller times out and retries.
    Failed,
}

struct Io {
    ctx: zmq::Context,
    /// The broker endpoints, in the order given (never empty).
    brokers: Vec<String>,
    /// The index in `brokers` of the one the DEALER is connected to.
    active: usize,
    /// When the active broker became active (the DEALER was opened on it).
    active_since: Instant,
    /// A handshake with the active broker succeeded and its connection has not dropped since.
    active_up: bool,
    /// How long a broker may take to complete a handshake before the next is tried:
    /// [`CONNECT_PATIENCE`], doubled after each broker that did not make it (to
    /// [`MAX_CONNECT_PATIENCE`]), so that on a machine so loaded that handshakes take longer,
    /// the client does not give up on every broker in turn forever; back to the start at the
    /// first success.
    connect_patience: Duration,
    /// The proxy endpoints (none for a requests-only client), for messages.
    proxies: Vec<String>,
    security: Security,
    dealer: zmq::Socket,
    dealer_monitor: zmq::Socket,
    /// The DEALER's handshake failed and it was disconnected: reopened for the next request.
    dealer_failed: bool,
    /// `HANDSHAKE_FAILED_NO_DETAIL`s in a row since the last successful handshake: libzmq
    /// reports any connection dropped before the handshake ended that way too (a broker
    /// restarting, a proxy in front closing), so only a repeated one means "wrong key".
    no_detail_streak: u32,
    sub: zmq::Socket,
    monitor: zmq::Socket,
    /// The SUB's connections whose handshake succeeded and that have not been lost since,
    /// counted by the address the monitor names (one per proxy; two if a proxy is listed
    /// twice).
    sub_up: HashMap<String, u32>,
    /// When a SUB handshake failure was last logged (at most one line a minute).
    sub_failure_logged: Option<std::time::Instant>,
    sink: Option<mpsc::UnboundedSender<Live>>,
    pending: Pending,
    counters: Arc<Counters>,
    /// Requests the DEALER had no room for, oldest first: `(id, frame)`.
    backlog: VecDeque<(u64, Vec<u8>)>,
    /// The ids in `backlog`.
    waiting: HashSet<u64>,
    /// Requests handed to the current DEALER, by id (ids grow, so this is request order):
    /// never handed to it again, and resent on the next socket while their callers wait.
    inflight: BTreeMap<u64, Vec<u8>>,
    /// The size of `inflight` that triggers the next pruning.
    prune_at: usize,
}

impl Io {
    fn run(&mut self, mut wake: UnixStream, commands: std_mpsc::Receiver<Command>) {
        let wake_fd = wake.as_raw_fd();
        let mut scratch = [0u8; 256];
        loop {
            // While requests wait for room, wait for the DEALER to become writable too.
            let dealer_events = if self.backlog.is_empty() {
                zmq::POLLIN
            } else {
                zmq::POLLIN | zmq::POLLOUT
            };
            let (dealer_ready, sub_in, mon_in, wake_in, dealer_mon_in) = {
                let mut items = [
                    self.dealer.as_poll_item(dealer_events),
                    self.sub.as_poll_item(zmq::POLLIN),
                    self.monitor.as_poll_item(zmq::POLLIN),
                    zmq::PollItem::from_fd(wake_fd, zmq::POLLIN),
                    self.dealer_monitor.as_poll_item(zmq::POLLIN),
                ];
                // While a broker switch may be due, look again soon.
                let timeout = if self.switch_pending() { 50 } else { 1000 };
                if net::poll(&mut items, timeout).is_err() {
                    return;
                }
                (
                    items[0].get_revents(),
                    items[1].is_readable(),
                    items[2].is_readable(),
                    items[3].is_readable(),
                    items[4].is_readable(),
                )
            };
            if dealer_mon_in {
                while let Ok(frames) = self.dealer_monitor.recv_multipart(zmq::DONTWAIT) {
                    self.on_dealer_monitor(&frames);
                }
            }
            if dealer_ready.contains(zmq::POLLIN) {
                while let Ok(frames) = self.dealer.recv_multipart(zmq::DONTWAIT) {
                    self.on_reply(frames);
                }
            }
            self.flush_backlog();
            if sub_in {
                while let Ok(frames) = self.sub.recv_multipart(zmq::DONTWAIT) {
                    self.on_publication(frames);
                }
            }
            if mon_in {
                while let Ok(frames) = self.monitor.recv_multipart(zmq::DONTWAIT) {
                    self.on_monitor(&frames);
                }
            }
            if wake_in {
                loop {
                    match wake.read(&mut scratch) {
                        Ok(0) => return, // handle dropped
                        Ok(_) => continue,
                        Err(_) => break,
                    }
                }
            }
            loop {
                match commands.try_recv() {
                    Ok(cmd) => self.on_command(cmd),
                    Err(std_mpsc::TryRecvError::Empty) => break,
                    Err(std_mpsc::TryRecvError::Disconnected) => return,
                }
            }
            if self.switch_pending() && self.active_since.elapsed() >= self.connect_patience {
                let awaited = self.awaited();
                if awaited {
                    self.connect_patience = (self.connect_patience * 2).min(MAX_CONNECT_PATIENCE);
                    self.fail_over("no connection");
                }
            }
        }
    }

    /// The active broker of several has no working connection and requests wait for it:
    /// once [`CONNECT_PATIENCE`] has passed, the next one is tried.
    fn switch_pending(&self) -> bool {
        self.brokers.len() > 1
            && !self.active_up
            && !self.dealer_failed
            && (!self.inflight.is_empty() || !self.backlog.is_empty())
    }

    /// Whether any request given to this thread still has a caller waiting for it.
    fn awaited(&self) -> bool {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.inflight
            .keys()
            .chain(self.waiting.iter())
            .any(|id| pending.contains_key(id))
    }

    /// The active broker's endpoint.
    fn broker(&self) -> &str {
        self.brokers.get(self.active).map_or("", String::as_str)
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Send { id, frame } => {
                if self.dealer_failed {
                    self.reopen_dealer(true);
                }
                if self.waiting.contains(&id) || self.inflight.contains_key(&id) {
                    // An earlier attempt still waits for room, or this socket already has
                    // it (resent there when the socket was replaced): never twice.
                } else if !self.backlog.is_empty() {
                    self.defer(id, frame);
                } else {
                    match self.send_now(id, &frame) {
                        Sent::Taken => self.taken(id, frame),
                        Sent::Full => self.defer(id, frame),
                        Sent::Failed => {}
                    }
                }
            }
            // The old socket is closed with whatever libzmq still queued in it; what its
            // callers still wait for goes out on the new socket, in order, before the
            // backlog (which was never handed to the old one).
            Command::Reconnect { timeout } => {
                if self.active_since.elapsed() >= timeout {
                    self.fail_over("no reply within the timeout");
                }
            }
            Command::Subscribe(topic) => {
                let _ = self.sub.set_subscribe(topic.as_bytes());
            }
            Command::Unsubscribe(topic) => {
                let _ = self.sub.set_unsubscribe(topic.as_bytes());
            }
            Command::SetSink(sink) => self.sink = Some(sink),
        }
    }

    /// Hands a request to the DEALER, if it has room for it now. A socket error drops it
    /// (logged): its caller times out and retries.
    fn send_now(&self, id: u64, frame: &[u8]) -> Sent {
        match self.dealer.send_multipart([&b""[..], frame], zmq::DONTWAIT) {
            Ok(()) => Sent::Taken,
            Err(zmq::Error::EAGAIN) => Sent::Full,
            Err(e) => {
                tracing::warn!(
                    id,
                    "request not sent (it will time out and be retried): {e}"
                );
                Sent::Failed
            }
        }
    }

    /// Remembers a request the DEALER took, for resending on the next socket; now and then
    /// forgets those nobody awaits any more (callers that gave up).
    fn taken(&mut self, id: u64, frame: Vec<u8>) {
        self.inflight.insert(id, frame);
        if self.inflight.len() >= self.prune_at {
            let pending = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.inflight.retain(|id, _| pending.contains_key(id));
            drop(pending);
            self.prune_at = (self.inflight.len() * 2).max(PRUNE_MIN);
        }
    }

    /// Queues a request behind those already waiting for room.
    fn defer(&mut self, id: u64, frame: Vec<u8>) {
        self.waiting.insert(id);
        self.backlog.push_back((id, frame));
        self.counters.deferred.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends waiting requests, oldest first, until the DEALER is full again. A request whose
    /// caller no longer waits for it is skipped (a retry brings it back, with the same id).
    fn flush_backlog(&mut self) {
        while let Some((id, frame)) = self.backlog.pop_front() {
            self.waiting.remove(&id);
            let wanted = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains_key(&id);
            if !wanted {
                continue;
            }
            match self.send_now(id, &frame) {
                Sent::Taken => self.taken(id, frame),
                Sent::Full => {
                    self.waiting.insert(id);
                    self.backlog.push_front((id, frame));
                    break;
                }
                Sent::Failed => {}
            }
        }
    }

    fn on_reply(&mut self, frames: Vec<Vec<u8>>) {
        let Some(body) = frames.last() else { return };
        let Ok(resp) = codec::decode::<ResponseEnvelope>(body) else {
            tracing::warn!("undecodable reply ignored");
            return;
        };
        self.inflight.remove(&resp.id);
        let waiter = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&resp.id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(resp.body);
        }
    }

    fn on_publication(&mut self, frames: Vec<Vec<u8>>) {
        let (Some(topic), Some(payload)) = (frames.first(), frames.get(1)) else {
            return;
        };
        let Ok(env) = codec::decode::<EventEnvelope>(payload) else {
            tracing::warn!("undecodable event ignored");
            return;
        };
        self.emit(Live::Event {
            topic: String::from_utf8_lossy(topic).into_owned(),
            event: env.body,
        });
    }

    /// Replaces the request socket with a new one on the next broker (the same one when
    /// there is only one), and resends there, in request order, every request still
    /// awaited: those the old socket had, then the backlog.
    fn fail_over(&mut self, why: &str) {
        let moving = self.brokers.len() > 1;
        if moving {
            let from = self.broker().to_string();
            self.active = (self.active + 1) % self.brokers.len();
            self.counters.failovers.fetch_add(1, Ordering::Relaxed);
            tracing::info!("broker {from}: {why}; trying {}", self.broker());
        }
        // Every broker of a deployment holds the same key: handshakes failing at one broker
        // after another still add up to "wrong key" (else moving on every 750 ms would
        // never let three failures in a row be seen).
        if !self.reopen_dealer(!moving) {
            // No new socket (e.g. out of file descriptors): everything stays where it was,
            // never sent twice on the old socket; the next timeout tries again.
            return;
        }
        let mut queue: Vec<(u64, Vec<u8>)> = std::mem::take(&mut self.inflight)
            .into_iter()
            .chain(self.backlog.drain(..))
            .collect();
        queue.sort_by_key(|(id, _)| *id);
        self.waiting = queue.iter().map(|(id, _)| *id).collect();
        self.backlog = queue.into();
        // Skips the requests nobody awaits any more.
        self.flush_backlog();
    }

    /// Replaces the request socket (and its monitor) with a new one on the active broker;
    /// `fresh_start`: forget the handshake failures seen so far, too. `false` when no new socket
    /// could be made (the old one is kept).
    fn reopen_dealer(&mut self, fresh_start: bool) -> bool {
        match new_dealer(&self.ctx, self.broker(), &self.security) {
            Ok((dealer, monitor)) => {
                net::unmonitor(&mut self.dealer);
                self.dealer = dealer;
                self.dealer_monitor = monitor;
                self.dealer_failed = false;
                self.active_up = false;
                self.active_since = Instant::now();
                // A fresh socket: what failed before is found out again, not assumed (the
                // broker may be down now, which is "unreachable", not a key problem).
                if fresh_start {
                    self.no_detail_streak = 0;
                }
                *self
                    .counters
                    .handshake
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                true
            }
            Err(e) => {
                tracing::warn!("cannot reopen request socket: {e:#}");
                false
            }
        }
    }

    /// A handshake with the broker succeeded or failed. A failure fails every waiting
    /// request now (their callers see [`ClientError::Handshake`]) and closes the connection
    /// until the next request, instead of libzmq's endless retries.
    fn on_dealer_monitor(&mut self, frames: &[Vec<u8>]) {
        let Some(event) = net::monitor_event(frames) else {
            return;
        };
        if event == net::EVENT_DISCONNECTED {
            // A broker that was answering went away (a killed broker's kernel closes its
            // connections at once): with another to go to, go now, not at the timeout.
            if std::mem::take(&mut self.active_up) && self.brokers.len() > 1 {
                self.fail_over("connection lost");
            }
        } else if event == net::EVENT_HANDSHAKE_SUCCEEDED {
            self.active_up = true;
            self.connect_patience = CONNECT_PATIENCE;
            self.no_detail_streak = 0;
            *self
                .counters
                .handshake
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        } else if net::is_handshake_failure(event) && !self.dealer_failed {
            if event == net::EVENT_HANDSHAKE_FAILED_NO_DETAIL {
                self.no_detail_streak += 1;
                if self.no_detail_streak < NO_DETAIL_FINAL {
                    return;
                }
            }
            let value = net::monitor_value(frames).unwrap_or(0);
            let failure = HandshakeFailure {
                endpoint: self.broker().to_string(),
                detail: describe_failure(event, value, &self.security),
            };
            tracing::warn!(
                "the server at {} {} (handshake event {event:#x}, value {value:#x})",
                failure.endpoint,
                failure.detail
            );
            *self
                .counters
                .handshake
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(failure);
            // Dropping the reply slots wakes every caller with the failure. Every broker of
            // a deployment holds the same key, so trying the next one cannot help.
            self.pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
            self.inflight.clear();
            let broker = self.broker().to_string();
            let _ = self.dealer.disconnect(&broker);
            self.dealer_failed = true;
        }
    }

    /// A SUB connection (one per proxy) came up or went down: reported per connection, so
    /// the feed can tell "one proxy of two lost" from "every proxy lost".
    fn on_monitor(&mut self, frames: &[Vec<u8>]) {
        let address = frames
            .get(1)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .unwrap_or_default();
        match net::monitor_event(frames) {
            Some(net::EVENT_HANDSHAKE_SUCCEEDED) => {
                *self.sub_up.entry(address).or_default() += 1;
                self.emit(Live::ProxyConnected);
            }
            // Only a connection that was up (a failed handshake ends with a disconnect too).
            Some(net::EVENT_DISCONNECTED) if self.sub_up.get(&address).is_some_and(|n| *n > 0) => {
                if let Some(n) = self.sub_up.get_mut(&address) {
                    *n -= 1;
                }
                self.emit(Live::ProxyDisconnected);
            }
            Some(event) if net::is_handshake_failure(event) => {
                let due = self
                    .sub_failure_logged
                    .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(60));
                if due {
                    self.sub_failure_logged = Some(std::time::Instant::now());
                    let value = net::monitor_value(frames).unwrap_or(0);
                    let proxy = if address.is_empty() {
                        self.proxies.join(",")
                    } else {
                        address
                    };
                    tracing::warn!(
                        "the proxy at {proxy} {} (live events cannot arrive from it; libzmq keeps retrying)",
                        describe_failure(event, value, &self.security)
                    );
                }
            }
            _ => {}
        }
    }

    fn emit(&mut self, live: Live) {
        if let Some(sink) = &self.sink {
            if sink.send(live).is_err() {
                self.sink = None;
            }
        }
    }
}
