//! The broker: a ROUTER (clients) / DEALER (servers) queue device.
//!
//! Clients connect to the frontend; every `zchat-server` connects a DEALER to the backend.
//! Requests are spread over servers by the backend DEALER's round robin, replies find their
//! way back through the ROUTER's identity envelope. The broker never looks inside a
//! payload, so nothing a client sends can make it misbehave; the frontend caps message size.

use std::thread::JoinHandle;

use anyhow::{Context, Result};
use zchat_protocol::net::{self, Exposure};

/// Where the broker listens.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Client-facing ROUTER endpoint, e.g. `tcp://*:5555`.
    pub frontend: String,
    /// Server-facing DEALER endpoint, e.g. `tcp://*:5556`.
    pub backend: String,
}

/// A running broker; dropping it without [`Broker::stop`] leaves the thread running.
pub struct Broker {
    frontend: String,
    backend: String,
    control: zmq::Socket,
    thread: Option<JoinHandle<()>>,
}

impl Broker {
    /// Binds both sockets (failing fast if an address is taken) and starts forwarding on a
    /// thread of its own.
    pub fn start(ctx: &zmq::Context, config: &BrokerConfig) -> Result<Broker> {
        let frontend = net::socket(ctx, zmq::ROUTER, Exposure::Public)?;
        net::bind(&frontend, &config.frontend).context("broker frontend")?;
        let backend = net::socket(ctx, zmq::DEALER, Exposure::Internal)?;
        net::bind(&backend, &config.backend).context("broker backend")?;
        let frontend_ep = net::last_endpoint(&frontend);
        let backend_ep = net::last_endpoint(&backend);

        let control_addr = format!("inproc://broker-control-{}", unique_suffix());
        let control = ctx.socket(zmq::PAIR)?;
        control.bind(&control_addr)?;
        let control_peer = ctx.socket(zmq::PAIR)?;
        control_peer.connect(&control_addr)?;

        let thread = std::thread::Builder::new()
            .name("broker".into())
            .spawn(move || {
                let mut frontend = frontend;
                let mut backend = backend;
                let mut control_peer = control_peer;
                if let Err(e) = zmq::proxy_steerable(&mut frontend, &mut backend, &mut control_peer)
                {
                    tracing::error!("broker stopped: {e}");
                }
            })
            .context("spawn broker thread")?;
        tracing::info!(frontend = %frontend_ep, backend = %backend_ep, "broker listening");
        Ok(Broker {
            frontend: frontend_ep,
            backend: backend_ep,
            control,
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

    /// Stops forwarding and waits for the thread.
    pub fn stop(mut self) {
        let _ = self.control.send("TERMINATE", 0);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        tracing::info!("broker stopped");
    }
}

/// A process-unique suffix for inproc endpoint names.
pub(crate) fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
