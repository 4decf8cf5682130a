//! The socket thread: owns the DEALER (to the broker) and the SUB (from the proxy).
//!
//! Commands come in over a std channel with a wake-up byte on a socketpair that the thread
//! polls beside the zmq sockets, so requests go out at once; the poll timeout only paces
//! the check for a dropped handle.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc as std_mpsc;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use zchat_protocol::net::{self, Exposure};
use zchat_protocol::{codec, EventEnvelope, ResponseEnvelope};

use crate::connection::{ClientConfig, Live, Pending};

/// What the async side asks of the socket thread.
pub(crate) enum Command {
    Send(Vec<u8>),
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

pub(crate) fn start(config: &ClientConfig, pending: Pending) -> Result<IoHandle> {
    let ctx = zmq::Context::new();
    let dealer = new_dealer(&ctx, &config.broker)?;
    let sub = net::socket(&ctx, zmq::SUB, Exposure::Internal)?;
    sub.set_linger(0)?;
    let monitor = net::monitor(&ctx, &sub, "client-sub")?;
    if let Some(proxy) = &config.proxy {
        net::connect(&sub, proxy).context("client to proxy")?;
    }
    let (wake_rx, wake_tx) = UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    wake_tx.set_nonblocking(true)?;
    let (tx, rx) = std_mpsc::channel();
    let broker = config.broker.clone();
    std::thread::Builder::new()
        .name("zchat-client-io".into())
        .spawn(move || {
            let mut io = Io {
                ctx,
                broker,
                dealer,
                sub,
                monitor,
                sink: None,
                pending,
            };
            io.run(wake_rx, rx);
        })?;
    Ok(IoHandle { tx, wake: wake_tx })
}

fn new_dealer(ctx: &zmq::Context, broker: &str) -> Result<zmq::Socket> {
    let dealer = net::socket(ctx, zmq::DEALER, Exposure::Internal)?;
    dealer.set_linger(0)?;
    net::connect(&dealer, broker).context("client to broker")?;
    Ok(dealer)
}

struct Io {
    ctx: zmq::Context,
    broker: String,
    dealer: zmq::Socket,
    sub: zmq::Socket,
    monitor: zmq::Socket,
    sink: Option<mpsc::UnboundedSender<Live>>,
    pending: Pending,
}

impl Io {
    fn run(&mut self, mut wake: UnixStream, commands: std_mpsc::Receiver<Command>) {
        let wake_fd = wake.as_raw_fd();
        let mut scratch = [0u8; 256];
        loop {
            let (dealer_in, sub_in, mon_in, wake_in) = {
                let mut items = [
                    self.dealer.as_poll_item(zmq::POLLIN),
                    self.sub.as_poll_item(zmq::POLLIN),
                    self.monitor.as_poll_item(zmq::POLLIN),
                    zmq::PollItem::from_fd(wake_fd, zmq::POLLIN),
                ];
                if zmq::poll(&mut items, 1000).is_err() {
                    return;
                }
                (
                    items[0].is_readable(),
                    items[1].is_readable(),
                    items[2].is_readable(),
                    items[3].is_readable(),
                )
            };
            if dealer_in {
                while let Ok(frames) = self.dealer.recv_multipart(zmq::DONTWAIT) {
                    self.on_reply(frames);
                }
            }
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
            Command::Send(frame) => {
                if let Err(e) = self
                    .dealer
                    .send_multipart([&b""[..], &frame[..]], zmq::DONTWAIT)
                {
                    tracing::debug!("request not sent (will time out and retry): {e}");
                }
            }
            Command::Reconnect => match new_dealer(&self.ctx, &self.broker) {
                Ok(d) => self.dealer = d,
                Err(e) => tracing::warn!("cannot reopen request socket: {e:#}"),
            },
            Command::Subscribe(topic) => {
                let _ = self.sub.set_subscribe(topic.as_bytes());
            }
            Command::Unsubscribe(topic) => {
                let _ = self.sub.set_unsubscribe(topic.as_bytes());
            }
            Command::SetSink(sink) => self.sink = Some(sink),
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
            .unwrap_or_else(|p| p.into_inner())
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

    fn on_monitor(&mut self, frames: &[Vec<u8>]) {
        match net::monitor_event(frames) {
            Some(net::EVENT_CONNECTED) => self.emit(Live::ProxyConnected),
            Some(net::EVENT_DISCONNECTED) => self.emit(Live::ProxyDisconnected),
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
