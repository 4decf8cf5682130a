//! Broker, proxy and server in one process: `zchat-server --all-in-one` and `zchat demo`.
//!
//! The three parts are the same code as the separate binaries, wired over TCP exactly as in
//! a real deployment, so the all-in-one mode exercises the real system.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::broker::{Broker, BrokerConfig};
use crate::proxy::{Proxy, ProxyConfig};
use crate::server::{self, ServerConfig};
use crate::shutdown::Shutdown;

/// Where everything listens and stores.
#[derive(Debug, Clone)]
pub struct AllInOneConfig {
    /// Database directory.
    pub data_dir: PathBuf,
    /// Client-facing broker endpoint (`tcp://127.0.0.1:*` picks a free port).
    pub frontend: String,
    /// Server-facing broker endpoint.
    pub backend: String,
    /// Client-facing proxy endpoint.
    pub xpub: String,
    /// Server-facing proxy endpoint.
    pub xsub: String,
}

impl AllInOneConfig {
    /// Everything on free loopback ports.
    pub fn loopback(data_dir: PathBuf) -> Self {
        let any = || "tcp://127.0.0.1:*".to_string();
        AllInOneConfig {
            data_dir,
            frontend: any(),
            backend: any(),
            xpub: any(),
            xsub: any(),
        }
    }
}

/// A running all-in-one backend. Call [`AllInOne::shutdown`] to stop it.
pub struct AllInOne {
    broker: Broker,
    proxy: Proxy,
    shutdown: Shutdown,
    server: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl AllInOne {
    /// Binds broker and proxy, then starts the server on the current tokio runtime.
    pub async fn start(config: AllInOneConfig) -> Result<AllInOne> {
        let ctx = zmq::Context::new();
        let broker = Broker::start(
            &ctx,
            &BrokerConfig {
                frontend: config.frontend.clone(),
                backend: config.backend.clone(),
            },
        )?;
        let proxy = Proxy::start(
            &ctx,
            &ProxyConfig {
                xpub: config.xpub.clone(),
                xsub: config.xsub.clone(),
            },
        )?;
        let shutdown = Shutdown::new();
        let server_config = ServerConfig {
            broker: connectable(broker.backend_endpoint()),
            proxy: connectable(proxy.xsub_endpoint()),
            data_dir: config.data_dir.clone(),
            fsync: false,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            hash_workers: crate::auth::Hasher::default_workers(),
        };
        let sd = shutdown.clone();
        let server = tokio::spawn(async move { server::run(server_config, sd).await });
        Ok(AllInOne {
            broker,
            proxy,
            shutdown,
            server: Some(server),
        })
    }

    /// Where clients send requests.
    pub fn frontend_endpoint(&self) -> String {
        connectable(self.broker.frontend_endpoint())
    }

    /// Where clients subscribe.
    pub fn xpub_endpoint(&self) -> String {
        connectable(self.proxy.xpub_endpoint())
    }

    /// Resolves when the server stops on its own (an error) or `shutdown` is called.
    pub async fn wait(&mut self) -> Result<()> {
        match self.server.as_mut() {
            Some(handle) => {
                let result = handle.await.context("server task");
                self.server = None;
                result?
            }
            None => std::future::pending().await,
        }
    }

    /// Stops the server, then the proxy and broker.
    pub async fn shutdown(self) -> Result<()> {
        self.shutdown.trigger();
        let result = match self.server {
            Some(handle) => handle.await.context("server task").and_then(|r| r),
            None => Ok(()),
        };
        self.proxy.stop();
        self.broker.stop();
        result
    }
}

/// Turns a bound endpoint (`tcp://0.0.0.0:5555`) into one a local client can connect to.
pub fn connectable(endpoint: &str) -> String {
    endpoint
        .replace("://0.0.0.0:", "://127.0.0.1:")
        .replace("://[::]:", "://127.0.0.1:")
}
