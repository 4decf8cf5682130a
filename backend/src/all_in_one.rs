//! Broker, proxy and server in one process: `zchat-server --all-in-one` and `zchat demo`.
//!
//! The three parts are the same code as the separate binaries, wired over TCP exactly as in
//! a real deployment, so the all-in-one mode exercises the real system — CURVE included:
//! the deployment's key pair is created in the key directory (by default the data
//! directory) on first start and reused afterwards; [`AllInOne::public_key`] hands it to
//! clients.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::broker::{Broker, BrokerConfig};
use crate::keys;
use crate::proxy::{Proxy, ProxyConfig};
use crate::server::{self, ServerConfig};
use crate::shutdown::Shutdown;
use crate::store::DbUrl;
use crate::transport::{Endpoints, Transport};
use zchat_client::ClientConfig;

/// Where everything listens and stores.
#[derive(Debug, Clone)]
pub struct AllInOneConfig {
    /// Database directory (and the key pair's, by default).
    pub data_dir: PathBuf,
    /// Where the data lives; `None`: `zchat.db` in `data_dir`.
    pub db: Option<DbUrl>,
    /// Client-facing broker endpoint (`tcp://127.0.0.1:*` picks a free port).
    pub frontend: String,
    /// Server-facing broker endpoint.
    pub backend: String,
    /// Client-facing proxy endpoint.
    pub xpub: String,
    /// Server-facing proxy endpoint.
    pub xsub: String,
    /// Where the deployment's key pair lives (created on first start); `None`: `data_dir`.
    pub key_dir: Option<PathBuf>,
    /// No CURVE (explicitly; logged as a warning).
    pub plaintext: bool,
}

impl AllInOneConfig {
    /// Everything on free loopback ports.
    pub fn loopback(data_dir: PathBuf) -> Self {
        let any = || "tcp://127.0.0.1:*".to_string();
        AllInOneConfig {
            data_dir,
            db: None,
            frontend: any(),
            backend: any(),
            xpub: any(),
            xsub: any(),
            key_dir: None,
            plaintext: false,
        }
    }

    /// The transport this configuration asks for: the key pair loaded, or created on first
    /// start.
    pub fn transport(&self) -> Result<Transport> {
        if self.plaintext {
            tracing::warn!("--plaintext: CURVE is off, every byte crosses the network in clear");
            return Ok(Transport::Plaintext);
        }
        let dir = self.key_dir.as_ref().unwrap_or(&self.data_dir);
        Ok(Transport::Curve(keys::load_or_generate(dir)?))
    }
}

/// A running all-in-one backend. Call [`AllInOne::shutdown`] to stop it.
pub struct AllInOne {
    /// Keeps the context and its ZAP handler alive while broker and proxy run.
    endpoints: Endpoints,
    transport: Transport,
    broker: Broker,
    proxy: Proxy,
    shutdown: Shutdown,
    server: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl AllInOne {
    /// Binds broker and proxy, then starts the server on the current tokio runtime.
    pub async fn start(config: AllInOneConfig) -> Result<AllInOne> {
        let transport = config.transport()?;
        let endpoints = Endpoints::new(transport.clone())?;
        let broker = Broker::start(
            &endpoints,
            &BrokerConfig {
                frontend: config.frontend.clone(),
                backend: config.backend.clone(),
            },
        )?;
        let proxy = Proxy::start(
            &endpoints,
            &ProxyConfig {
                xpub: config.xpub.clone(),
                xsub: config.xsub.clone(),
            },
        )?;
        let shutdown = Shutdown::new();
        let server_config = ServerConfig {
            broker: vec![connectable(broker.backend_endpoint())],
            proxy: vec![connectable(proxy.xsub_endpoint())],
            db: config
                .db
                .clone()
                .unwrap_or_else(|| DbUrl::sqlite_in(&config.data_dir)),
            fsync: false,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            hash_workers: crate::auth::Hasher::default_workers(),
            transport: transport.clone(),
        };
        let sd = shutdown.clone();
        let server = tokio::spawn(async move { server::run(server_config, sd).await });
        Ok(AllInOne {
            endpoints,
            transport,
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

    /// The deployment's public key (Z85) clients must use, `None` in plaintext.
    pub fn public_key(&self) -> Option<String> {
        self.transport.public_key()
    }

    /// A client configuration for this backend: both endpoints and the server key.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(self.frontend_endpoint(), self.xpub_endpoint());
        config.server_key = self.public_key();
        config
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
        drop(self.endpoints);
        result
    }
}

/// Turns a bound endpoint (`tcp://0.0.0.0:5555`) into one a local client can connect to.
pub fn connectable(endpoint: &str) -> String {
    endpoint
        .replace("://0.0.0.0:", "://127.0.0.1:")
        .replace("://[::]:", "://127.0.0.1:")
}
