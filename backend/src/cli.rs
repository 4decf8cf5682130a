//! Command lines of the three backend binaries, and what they run. The binaries in
//! `src/bin/` only call these, so `--help`, env vars and behaviour live in one file.
//!
//! Every flag can also be set through the environment variable shown in `--help`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use zchat_client::{Client, ClientConfig};

use crate::all_in_one::{AllInOne, AllInOneConfig};
use crate::broker::{Broker, BrokerConfig};
use crate::proxy::{Proxy, ProxyConfig};
use crate::server::{self, ServerConfig};
use crate::shutdown::Shutdown;

/// Sets up `tracing` to stderr; the level comes from `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `zchat-broker`: routes requests from clients (ROUTER) to servers (DEALER).
#[derive(Debug, Parser)]
#[command(
    name = "zchat-broker",
    version,
    about = "zchat request broker (ZeroMQ ROUTER/DEALER)"
)]
pub struct BrokerArgs {
    /// Endpoint clients connect to (ROUTER).
    #[arg(long, env = "ZCHAT_BROKER_FRONTEND", default_value = "tcp://*:5555")]
    pub frontend: String,
    /// Endpoint servers connect to (DEALER). Loopback by default: whoever connects here
    /// receives clients' requests, so expose it only to your servers.
    #[arg(
        long,
        env = "ZCHAT_BROKER_BACKEND",
        default_value = "tcp://127.0.0.1:5556"
    )]
    pub backend: String,
    /// Check that a broker is accepting connections on the frontend port, then exit
    /// (0 = healthy). For container health checks.
    #[arg(long, env = "ZCHAT_BROKER_HEALTHCHECK", value_parser = clap::builder::FalseyValueParser::new())]
    pub healthcheck: bool,
    /// Once both sockets are bound, write the endpoints actually bound (ports resolved) to
    /// this file as JSON: `{"frontend": "tcp://…", "backend": "tcp://…"}`. With port `*`
    /// (e.g. `tcp://127.0.0.1:*`) the OS picks a free port and this file says which.
    #[arg(long, env = "ZCHAT_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

/// `zchat-proxy`: fans publications (XSUB) out to subscribers (XPUB).
#[derive(Debug, Parser)]
#[command(
    name = "zchat-proxy",
    version,
    about = "zchat pub/sub proxy (ZeroMQ XSUB/XPUB, whole-topic subscriptions only)"
)]
pub struct ProxyArgs {
    /// Endpoint subscribers connect to (XPUB).
    #[arg(long, env = "ZCHAT_PROXY_XPUB", default_value = "tcp://*:5557")]
    pub xpub: String,
    /// Endpoint publishers (servers) connect to (XSUB). Loopback by default: whoever
    /// connects here can publish, so expose it only to your servers.
    #[arg(long, env = "ZCHAT_PROXY_XSUB", default_value = "tcp://127.0.0.1:5558")]
    pub xsub: String,
    /// Check that a proxy is accepting connections on the XPUB port, then exit.
    #[arg(long, env = "ZCHAT_PROXY_HEALTHCHECK", value_parser = clap::builder::FalseyValueParser::new())]
    pub healthcheck: bool,
    /// Once both sockets are bound, write the endpoints actually bound to this file as JSON:
    /// `{"xpub": "tcp://…", "xsub": "tcp://…"}`.
    #[arg(long, env = "ZCHAT_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

/// `zchat-server`: the chat logic and storage.
#[derive(Debug, Parser)]
#[command(
    name = "zchat-server",
    version,
    about = "zchat server: accounts, channels, messages, history"
)]
pub struct ServerArgs {
    /// The broker's backend endpoint to connect to (in --all-in-one: to bind).
    #[arg(
        long,
        env = "ZCHAT_SERVER_BROKER",
        default_value = "tcp://127.0.0.1:5556"
    )]
    pub broker: String,
    /// The proxy's XSUB endpoint to connect to (in --all-in-one: to bind).
    #[arg(
        long,
        env = "ZCHAT_SERVER_PROXY",
        default_value = "tcp://127.0.0.1:5558"
    )]
    pub proxy: String,
    /// Directory of the database (created if missing).
    #[arg(long, env = "ZCHAT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Also sync every commit to disk (SQLite synchronous=FULL): survives power loss, not
    /// only crashes, at the cost of an fsync per message.
    #[arg(long, env = "ZCHAT_FSYNC", value_parser = clap::builder::FalseyValueParser::new())]
    pub fsync: bool,
    /// Session lifetime in hours.
    #[arg(long, env = "ZCHAT_SESSION_TTL_HOURS", default_value_t = 720)]
    pub session_ttl_hours: u64,
    /// Password hashes computed at once (default: cores - 1, at least 1).
    #[arg(long, env = "ZCHAT_HASH_WORKERS")]
    pub hash_workers: Option<usize>,
    /// Run broker, proxy and server in this one process (for demos and quick starts).
    #[arg(long, env = "ZCHAT_ALL_IN_ONE", value_parser = clap::builder::FalseyValueParser::new())]
    pub all_in_one: bool,
    /// In --all-in-one: the broker endpoint clients connect to.
    #[arg(
        long,
        env = "ZCHAT_BROKER_FRONTEND",
        default_value = "tcp://127.0.0.1:5555"
    )]
    pub frontend: String,
    /// In --all-in-one: the proxy endpoint clients subscribe to.
    #[arg(long, env = "ZCHAT_PROXY_XPUB", default_value = "tcp://127.0.0.1:5557")]
    pub xpub: String,
    /// Send a ping through the broker at --health-endpoint, exit 0 on a pong.
    #[arg(long, env = "ZCHAT_SERVER_HEALTHCHECK", value_parser = clap::builder::FalseyValueParser::new())]
    pub healthcheck: bool,
    /// Broker frontend used by --healthcheck.
    #[arg(
        long,
        env = "ZCHAT_HEALTH_ENDPOINT",
        default_value = "tcp://127.0.0.1:5555"
    )]
    pub health_endpoint: String,
    /// In --all-in-one: once everything is bound, write the endpoints clients connect to
    /// as JSON: `{"frontend": "tcp://…", "xpub": "tcp://…"}`. Ignored otherwise (a plain
    /// server binds nothing).
    #[arg(long, env = "ZCHAT_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

/// Runs the broker until SIGINT/SIGTERM.
pub async fn run_broker(args: BrokerArgs) -> Result<()> {
    if args.healthcheck {
        return tcp_healthcheck(&args.frontend);
    }
    let ctx = zmq::Context::new();
    let broker = Broker::start(
        &ctx,
        &BrokerConfig {
            frontend: args.frontend,
            backend: args.backend,
        },
    )?;
    if let Some(path) = &args.ready_file {
        write_ready_file(
            path,
            &[
                ("frontend", broker.frontend_endpoint()),
                ("backend", broker.backend_endpoint()),
            ],
        )?;
    }
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    shutdown.wait().await;
    broker.stop();
    Ok(())
}

/// Runs the proxy until SIGINT/SIGTERM.
pub async fn run_proxy(args: ProxyArgs) -> Result<()> {
    if args.healthcheck {
        return tcp_healthcheck(&args.xpub);
    }
    let ctx = zmq::Context::new();
    let proxy = Proxy::start(
        &ctx,
        &ProxyConfig {
            xpub: args.xpub,
            xsub: args.xsub,
        },
    )?;
    if let Some(path) = &args.ready_file {
        write_ready_file(
            path,
            &[
                ("xpub", proxy.xpub_endpoint()),
                ("xsub", proxy.xsub_endpoint()),
            ],
        )?;
    }
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    shutdown.wait().await;
    proxy.stop();
    Ok(())
}

/// Runs the server (or all three, with `--all-in-one`) until SIGINT/SIGTERM.
pub async fn run_server(args: ServerArgs) -> Result<()> {
    if args.healthcheck {
        return ping(&args.health_endpoint, Duration::from_secs(3)).await;
    }
    if args.all_in_one {
        let mut all = AllInOne::start(AllInOneConfig {
            data_dir: args.data_dir,
            frontend: args.frontend,
            backend: args.broker,
            xpub: args.xpub,
            xsub: args.proxy,
        })
        .await?;
        tracing::info!(
            broker = %all.frontend_endpoint(),
            proxy = %all.xpub_endpoint(),
            "all-in-one backend ready: connect clients with --broker {} --proxy {}",
            all.frontend_endpoint(),
            all.xpub_endpoint()
        );
        if let Some(path) = &args.ready_file {
            write_ready_file(
                path,
                &[
                    ("frontend", &all.frontend_endpoint()),
                    ("xpub", &all.xpub_endpoint()),
                ],
            )?;
        }
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        tokio::select! {
            _ = shutdown.wait() => {}
            r = all.wait() => { r?; bail!("server stopped unexpectedly"); }
        }
        return all.shutdown().await;
    }
    if let Some(path) = &args.ready_file {
        tracing::warn!(
            "ignoring --ready-file {} (only --all-in-one binds anything)",
            path.display()
        );
    }
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    server::run(
        ServerConfig {
            broker: args.broker,
            proxy: args.proxy,
            data_dir: args.data_dir,
            fsync: args.fsync,
            session_ttl: Duration::from_secs(args.session_ttl_hours.max(1) * 3600),
            hash_workers: args
                .hash_workers
                .unwrap_or_else(crate::auth::Hasher::default_workers),
        },
        shutdown,
    )
    .await
}

/// Writes `endpoints` as one JSON object to `path`, through a temporary file and a rename,
/// so that whoever waits for the file never reads half of it.
fn write_ready_file(path: &Path, endpoints: &[(&str, &str)]) -> Result<()> {
    let object: serde_json::Map<String, serde_json::Value> = endpoints
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, serde_json::to_vec(&object)?)
        .with_context(|| format!("writing the ready file {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("writing the ready file {}", path.display()))?;
    Ok(())
}

/// TCP-connects to the port of a bound endpoint on 127.0.0.1.
fn tcp_healthcheck(endpoint: &str) -> Result<()> {
    let port = endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .with_context(|| format!("no port in {endpoint}"))?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .with_context(|| format!("nothing accepts connections on {addr}"))?;
    Ok(())
}

/// Sends one protocol `ping` through a broker frontend and waits up to `timeout` for the
/// `pong` (one attempt, no retry): the server healthcheck, and how tests wait for a backend
/// to be ready.
pub async fn ping(endpoint: &str, timeout: Duration) -> Result<()> {
    let mut config = ClientConfig::requests_only(endpoint);
    config.request_timeout = timeout;
    config.attempts = 1;
    let client = Client::start(config)?;
    client
        .ping()
        .await
        .with_context(|| format!("no pong from {endpoint}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_lines_are_well_formed() {
        BrokerArgs::command().debug_assert();
        ProxyArgs::command().debug_assert();
        ServerArgs::command().debug_assert();
    }

    #[test]
    fn internal_endpoints_default_to_loopback() {
        let b = BrokerArgs::try_parse_from(["zchat-broker"]).expect("parses");
        assert_eq!(b.backend, "tcp://127.0.0.1:5556");
        let p = ProxyArgs::try_parse_from(["zchat-proxy"]).expect("parses");
        assert_eq!(p.xsub, "tcp://127.0.0.1:5558");
    }
}
