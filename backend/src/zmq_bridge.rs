//! The thread that owns the server's ZeroMQ sockets, and its link to the async world.
//!
//! A zmq socket must stay on one thread, so one thread owns both the DEALER (requests from
//! the broker, replies back) and the PUB (live events to the proxy). Requests go to tokio
//! over a bounded channel (back-pressure: when handlers fall behind, the thread stops reading
//! and libzmq queues). Replies and publications come back over a std channel plus a wake-up
//! byte on a socketpair that the thread polls next to the zmq sockets, so nothing waits
//! for a poll timeout and the 100 ms timeout only paces shutdown checks.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use zchat_protocol::net::{self, Exposure};

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

/// An optional hook the socket thread offers every request to before handing it to tokio:
/// it returns the request back if it does not take it. The server installs one (after it has
/// built its state, hence the `OnceLock`) so that the hot request, `send`, goes straight to
/// the storage writer without two thread hand-offs.
pub type FastPath =
    Arc<std::sync::OnceLock<Box<dyn Fn(Incoming) -> Option<Incoming> + Send + Sync>>>;

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

/// Endpoints the server connects to.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The broker's backend (DEALER) endpoint.
    pub broker: String,
    /// The proxy's XSUB endpoint.
    pub proxy: String,
}

/// Connects the sockets (failing fast on malformed endpoints) and starts the socket thread.
pub fn start(
    ctx: &zmq::Context,
    config: &BridgeConfig,
    inbound: mpsc::Sender<Incoming>,
    fast_path: FastPath,
    shutdown: Shutdown,
) -> Result<(OutboundSender, JoinHandle<()>)> {
    let dealer = net::socket(ctx, zmq::DEALER, Exposure::Internal)?;
    let publisher = net::socket(ctx, zmq::PUB, Exposure::Internal)?;
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
                fast_path,
                shutdown,
            })
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

/// Watches the two outgoing connections and says so in the logs: connected, lost, or still
/// not connected (every 10 s), so an unreachable broker or proxy is obvious.
struct Links {
    monitors: [zmq::Socket; 2],
    names: [String; 2],
    up: [bool; 2],
    last_warning: std::time::Instant,
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
        }
    }

    fn on_event(&mut self, i: usize) {
        while let Ok(frames) = self.monitors[i].recv_multipart(zmq::DONTWAIT) {
            match net::monitor_event(&frames) {
                Some(net::EVENT_CONNECTED) => {
                    self.up[i] = true;
                    tracing::info!("connected to the {}", self.names[i]);
                }
                Some(net::EVENT_DISCONNECTED) => {
                    self.up[i] = false;
                    tracing::warn!("lost the {}; reconnecting", self.names[i]);
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
    fast_path: FastPath,
    shutdown: Shutdown,
}

fn run(thread: SocketThread) {
    let SocketThread {
        dealer,
        publisher,
        mut links,
        mut wake,
        outbound,
        inbound,
        fast_path,
        shutdown,
    } = thread;
    let wake_fd = wake.as_raw_fd();
    let mut scratch = [0u8; 256];
    loop {
        let ready = {
            let mut items = [
                dealer.as_poll_item(zmq::POLLIN),
                zmq::PollItem::from_fd(wake_fd, zmq::POLLIN),
                links.monitors[0].as_poll_item(zmq::POLLIN),
                links.monitors[1].as_poll_item(zmq::POLLIN),
            ];
            if let Err(e) = zmq::poll(&mut items, 100) {
                tracing::error!("socket thread poll failed: {e}");
                break;
            }
            items.map(|i| i.is_readable())
        };
        for (i, monitor_ready) in [ready[2], ready[3]].into_iter().enumerate() {
            if monitor_ready {
                links.on_event(i);
            }
        }
        links.warn_if_down();
        if ready[0] {
            while let Ok(mut frames) = dealer.recv_multipart(zmq::DONTWAIT) {
                let Some(body) = frames.pop() else { continue };
                let incoming = Incoming {
                    envelope: frames,
                    body,
                };
                let incoming = match fast_path.get() {
                    Some(fast) => match fast(incoming) {
                        Some(declined) => declined,
                        None => continue,
                    },
                    None => incoming,
                };
                if inbound.blocking_send(incoming).is_err() {
                    // The server loop is gone: send what it produced, then stop.
                    while let Ok(msg) = outbound.try_recv() {
                        send(&dealer, &publisher, msg);
                    }
                    return;
                }
            }
        }
        if ready[1] {
            while matches!(wake.read(&mut scratch), Ok(n) if n > 0) {}
        }
        while let Ok(msg) = outbound.try_recv() {
            send(&dealer, &publisher, msg);
        }
        if shutdown.is_triggered() {
            // Flush what handlers produced before stopping, then let linger deliver it.
            while let Ok(msg) = outbound.try_recv() {
                send(&dealer, &publisher, msg);
            }
            break;
        }
    }
}

fn send(dealer: &zmq::Socket, publisher: &zmq::Socket, msg: Outbound) {
    match msg {
        Outbound::Reply { mut envelope, body } => {
            envelope.push(body);
            if let Err(e) = dealer.send_multipart(envelope, zmq::DONTWAIT) {
                tracing::warn!("reply dropped (broker unreachable?): {e}");
            }
        }
        Outbound::Publish { topic, payload } => {
            if let Err(e) =
                publisher.send_multipart([topic.as_bytes(), &payload[..]], zmq::DONTWAIT)
            {
                tracing::warn!("publication dropped: {e}");
            }
        }
    }
}
