//! The socket thread: owns the DEALER (to the broker) and the SUB (from the proxy).
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
//! logged. Live events report the proxy as connected only once a handshake succeeded.

use std::collections::{HashSet, VecDeque};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;

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

/// What the async side asks of the socket thread.
pub(crate) enum Command {
    /// A request frame and its id (the same for every attempt).
    Send {
        id: u64,
        frame: Vec<u8>,
    },
    Reconnect,
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

pub(crate) fn start(
    broker: &str,
    proxy: Option<&str>,
    security: Security,
    pending: Pending,
    counters: Arc<Counters>,
) -> Result<IoHandle> {
    let ctx = zmq::Context::new();
    let (dealer, dealer_monitor) = new_dealer(&ctx, broker, &security)?;
    let sub = net::socket(&ctx, zmq::SUB, Exposure::Internal, &security)?;
    sub.set_linger(0)?;
    // Subscriptions are small and must never be dropped at the high-water mark while the
    // proxy is away (a dropped one would never be resent): no limit on what SUB queues.
    sub.set_sndhwm(0)?;
    let monitor = net::monitor(&ctx, &sub, "client-sub")?;
    if let Some(proxy) = proxy {
        net::connect(&sub, proxy).context("client to proxy")?;
    }
    let (wake_rx, wake_tx) = UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    wake_tx.set_nonblocking(true)?;
    let (tx, rx) = std_mpsc::channel();
    let broker = broker.to_string();
    let proxy = proxy.unwrap_or_default().to_string();
    std::thread::Builder::new()
        .name("zchat-client-io".into())
        .spawn(move || {
            let mut io = Io {
                ctx,
                broker,
                proxy,
                security,
                dealer,
                dealer_monitor,
                dealer_failed: false,
                no_detail_streak: 0,
                sub,
                monitor,
                sub_up: false,
                sub_failure_logged: None,
                sink: None,
                pending,
                counters,
                backlog: VecDeque::new(),
                waiting: HashSet::new(),
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

struct Io {
    ctx: zmq::Context,
    broker: String,
    /// The proxy endpoint ("" for a requests-only client), for messages.
    proxy: String,
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
    /// A handshake with the proxy succeeded and the connection has not been lost since.
    sub_up: bool,
    /// When a SUB handshake failure was last logged (at most one line a minute).
    sub_failure_logged: Option<std::time::Instant>,
    sink: Option<mpsc::UnboundedSender<Live>>,
    pending: Pending,
    counters: Arc<Counters>,
    /// Requests the DEALER had no room for, oldest first: `(id, frame)`.
    backlog: VecDeque<(u64, Vec<u8>)>,
    /// The ids in `backlog`.
    waiting: HashSet<u64>,
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
                if net::poll(&mut items, 1000).is_err() {
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
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Send { id, frame } => {
                if self.dealer_failed {
                    self.reopen_dealer();
                }
                if self.waiting.contains(&id) {
                    // An earlier attempt still waits for room: that one goes out, once.
                } else if !self.backlog.is_empty() {
                    self.defer(id, frame);
                } else if let Some(frame) = self.send_now(id, frame) {
                    self.defer(id, frame);
                }
            }
            // The old socket is closed with whatever libzmq still queued in it (those
            // callers time out and retry); the backlog was never handed to it, so it goes
            // out on the new socket, in order.
            Command::Reconnect => self.reopen_dealer(),
            Command::Subscribe(topic) => {
                let _ = self.sub.set_subscribe(topic.as_bytes());
            }
            Command::Unsubscribe(topic) => {
                let _ = self.sub.set_unsubscribe(topic.as_bytes());
            }
            Command::SetSink(sink) => self.sink = Some(sink),
        }
    }

    /// Hands a request to the DEALER; gives it back when there is no room for it now. A
    /// socket error drops it (logged): its caller times out and retries.
    fn send_now(&self, id: u64, frame: Vec<u8>) -> Option<Vec<u8>> {
        match self
            .dealer
            .send_multipart([&b""[..], &frame[..]], zmq::DONTWAIT)
        {
            Ok(()) => None,
            Err(zmq::Error::EAGAIN) => Some(frame),
            Err(e) => {
                tracing::warn!(
                    id,
                    "request not sent (it will time out and be retried): {e}"
                );
                None
            }
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
            if let Some(frame) = self.send_now(id, frame) {
                self.waiting.insert(id);
                self.backlog.push_front((id, frame));
                break;
            }
        }
    }

    fn on_reply(&mut self, frames: Vec<Vec<u8>>) {
        let Some(body) = frames.last() else { return };
        let Ok(resp) = codec::decode::<ResponseEnvelope>(body) else {
            tracing::warn!("undecodable reply ignored");
            return;
        };
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

    /// Replaces the request socket (and its monitor) with a new one.
    fn reopen_dealer(&mut self) {
        match new_dealer(&self.ctx, &self.broker, &self.security) {
            Ok((dealer, monitor)) => {
                net::unmonitor(&mut self.dealer);
                self.dealer = dealer;
                self.dealer_monitor = monitor;
                self.dealer_failed = false;
                // A fresh socket: what failed before is found out again, not assumed (the
                // broker may be down now, which is "unreachable", not a key problem).
                self.no_detail_streak = 0;
                *self
                    .counters
                    .handshake
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            }
            Err(e) => tracing::warn!("cannot reopen request socket: {e:#}"),
        }
    }

    /// A handshake with the broker succeeded or failed. A failure fails every waiting
    /// request now (their callers see [`ClientError::Handshake`]) and closes the connection
    /// until the next request, instead of libzmq's endless retries.
    fn on_dealer_monitor(&mut self, frames: &[Vec<u8>]) {
        let Some(event) = net::monitor_event(frames) else {
            return;
        };
        if event == net::EVENT_HANDSHAKE_SUCCEEDED {
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
                endpoint: self.broker.clone(),
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
            // Dropping the reply slots wakes every caller with the failure.
            self.pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
            let _ = self.dealer.disconnect(&self.broker);
            self.dealer_failed = true;
        }
    }

    fn on_monitor(&mut self, frames: &[Vec<u8>]) {
        match net::monitor_event(frames) {
            Some(net::EVENT_HANDSHAKE_SUCCEEDED) => {
                self.sub_up = true;
                self.emit(Live::ProxyConnected);
            }
            Some(net::EVENT_DISCONNECTED) if self.sub_up => {
                self.sub_up = false;
                self.emit(Live::ProxyDisconnected);
            }
            Some(event) if net::is_handshake_failure(event) => {
                let due = self
                    .sub_failure_logged
                    .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(60));
                if due {
                    self.sub_failure_logged = Some(std::time::Instant::now());
                    let value = net::monitor_value(frames).unwrap_or(0);
                    tracing::warn!(
                        "the proxy at {} {} (live events cannot arrive; libzmq keeps retrying)",
                        self.proxy,
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
