//! Command lines of the three backend binaries, and what they run. The binaries in
//! `src/bin/` only call these, so `--help`, env vars and behaviour live in one file.
//!
//! Every flag can also be set through the environment variable shown in `--help`.
//!
//! Transport security is CURVE, on by default: the three binaries take the deployment's key
//! directory (`--key-dir`, made once with `zchat-server keygen`) and refuse to start without
//! it, unless told `--plaintext`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use zchat_client::{Client, ClientConfig};

use crate::all_in_one::{AllInOne, AllInOneConfig};
use crate::broker::{Broker, BrokerConfig};
use crate::keys;
use crate::proxy::{Proxy, ProxyConfig};
use crate::server::{self, ServerConfig};
use crate::shutdown::Shutdown;
use crate::store::DbUrl;
use crate::transport::{Endpoints, Transport};

/// What a backend binary says when started with neither keys nor `--plaintext`.
const NO_KEYS: &str = "no key directory: zchat encrypts and authenticates every connection \
(CURVE) and needs the deployment's key pair. Create it once with \
`zchat-server keygen --key-dir DIR`, then start zchat-broker, zchat-proxy and zchat-server \
with --key-dir DIR (or ZCHAT_KEY_DIR=DIR); clients need the public key it prints \
(also in DIR/zchat.pub). Or pass --plaintext (ZCHAT_PLAINTEXT=1) to run unencrypted, on a \
trusted network only";

/// Transport security flags, the same on the three binaries.
#[derive(Debug, Clone, Args)]
pub struct TransportArgs {
    /// Directory of the deployment's CURVE key pair (zchat.key, zchat.pub), made with
    /// `zchat-server keygen --key-dir DIR`. Required unless --plaintext.
    #[arg(long, env = "ZCHAT_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// Turn CURVE off: no encryption, no authentication of peers (logged as a warning).
    /// For trusted networks and benchmarks only; never the default.
    #[arg(long, env = "ZCHAT_PLAINTEXT", value_parser = clap::builder::FalseyValueParser::new(), conflicts_with = "key_dir")]
    pub plaintext: bool,
}

impl TransportArgs {
    /// Loads the deployment's keys (or plaintext, explicitly); no keys and no `--plaintext`
    /// is an error that says how to make them.
    pub fn transport(&self) -> Result<Transport> {
        if self.plaintext {
            warn_plaintext();
            return Ok(Transport::Plaintext);
        }
        let Some(dir) = &self.key_dir else {
            bail!(NO_KEYS);
        };
        let keys = keys::load(dir)?;
        tracing::info!(public_key = %keys.public_z85(), "CURVE on, with the deployment's key pair");
        Ok(Transport::Curve(keys))
    }

    /// The server key a local client (the health check) must use: `None` in plaintext.
    fn client_key(&self, default_dir: Option<&Path>) -> Result<Option<String>> {
        if self.plaintext {
            return Ok(None);
        }
        let dir = self.key_dir.as_deref().or(default_dir).context(NO_KEYS)?;
        Ok(Some(zchat_protocol::net::encode_key(&keys::load_public(
            dir,
        )?)))
    }
}

fn warn_plaintext() {
    tracing::warn!(
        "--plaintext: CURVE is off; every byte (passwords, tokens, messages) crosses the \
         network in clear and anyone who reaches the internal ports is trusted"
    );
}

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
    #[command(flatten)]
    pub transport: TransportArgs,
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
    #[command(flatten)]
    pub transport: TransportArgs,
}

/// `zchat-server`: the chat logic and storage.
#[derive(Debug, Parser)]
#[command(
    name = "zchat-server",
    version,
    about = "zchat server: accounts, channels, messages, history"
)]
pub struct ServerArgs {
    /// The brokers' backend endpoints to connect to, comma-separated: one DEALER each, so
    /// every broker can bring requests (in --all-in-one: the one endpoint to bind).
    #[arg(
        long,
        env = "ZCHAT_SERVER_BROKER",
        default_value = "tcp://127.0.0.1:5556"
    )]
    pub broker: String,
    /// The proxies' XSUB endpoints to connect to, comma-separated: every event is published
    /// to all of them (in --all-in-one: the one endpoint to bind).
    #[arg(
        long,
        env = "ZCHAT_SERVER_PROXY",
        default_value = "tcp://127.0.0.1:5558"
    )]
    pub proxy: String,
    /// Directory of the SQLite database (created if missing), unless --db says otherwise.
    #[arg(long, env = "ZCHAT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Where the data lives: `sqlite:PATH` (default: sqlite:<data-dir>/zchat.db) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, shared by any number of servers.
    /// Prefer the env var for a URL with a password (arguments show up in `ps`).
    #[arg(long, env = "ZCHAT_DB", hide_env_values = true)]
    pub db: Option<String>,
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
    /// and the server key as JSON: `{"frontend": "tcp://…", "xpub": "tcp://…",
    /// "server_key": "<Z85>"}` (empty key with --plaintext). Ignored otherwise (a plain
    /// server binds nothing).
    #[arg(long, env = "ZCHAT_READY_FILE")]
    pub ready_file: Option<PathBuf>,
    /// CURVE keys (in --all-in-one: created in --key-dir, by default --data-dir, on first
    /// start).
    #[command(flatten)]
    pub transport: TransportArgs,
    /// Key management, or copying an installation to PostgreSQL, instead of running a
    /// server.
    #[command(subcommand)]
    pub command: Option<ServerCommand>,
}

impl ServerArgs {
    /// `--db`, or SQLite in `--data-dir`. Parsed here rather than by clap, whose error
    /// would echo the value — a password included.
    pub fn db_url(&self) -> Result<DbUrl> {
        match &self.db {
            Some(url) => Ok(url.parse::<DbUrl>()?),
            None => Ok(DbUrl::sqlite_in(&self.data_dir)),
        }
    }
}

/// `zchat-server keygen` / `zchat-server public-key` / `zchat-server copy-db`.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create the deployment's CURVE key pair in DIR (zchat.key, mode 0600, and zchat.pub)
    /// and print the public key. Never overwrites an existing pair.
    Keygen {
        /// Where to write the key pair (created if missing).
        #[arg(long, env = "ZCHAT_KEY_DIR")]
        key_dir: PathBuf,
    },
    /// Print the deployment's public key (from DIR/zchat.pub, checked against the secret
    /// key when DIR has it): what clients pass as their server key.
    PublicKey {
        /// The key directory.
        #[arg(long, env = "ZCHAT_KEY_DIR")]
        key_dir: PathBuf,
    },
    /// Copy a SQLite installation into an empty PostgreSQL database, and verify the copy.
    ///
    /// Copies users with their password hashes, sessions, login throttling, channels,
    /// memberships, read markers and every message with its seq, keeping every id. Then
    /// checks that every table has as many rows on both sides and that each conversation's
    /// last seq, message count and largest seq are equal. All in one PostgreSQL transaction:
    /// on any error or difference nothing is committed. Exit status 0 only when the copy is
    /// complete and verified; the summary goes to stdout.
    ///
    /// The target must hold no zchat row (its schema is created or migrated as a server
    /// start would). Stop every server using the SQLite file first: what is written to it
    /// during the copy is not copied. A source made by an older release is upgraded in
    /// place first, as a server start would do; one from a newer release is refused.
    #[command(name = "copy-db")]
    CopyDb {
        /// The installation to copy: sqlite:PATH (e.g. sqlite:./data/zchat.db). Must exist.
        #[arg(long, env = "ZCHAT_COPY_FROM")]
        from: String,
        /// The empty PostgreSQL database: postgres://USER:PASSWORD@HOST:PORT/DATABASE
        /// (prefer the env var for a URL with a password: arguments show up in `ps`).
        #[arg(long, env = "ZCHAT_COPY_TO", hide_env_values = true)]
        to: String,
    },
}

/// Runs `copy-db` on a thread that may block (the PostgreSQL client is synchronous) and
/// prints its summary on stdout. The URLs are parsed here rather than by clap, whose error
/// would echo a bad value — a password included.
pub async fn run_copy_db(from: &str, to: &str) -> Result<()> {
    let (from, to): (DbUrl, DbUrl) = (from.parse()?, to.parse()?);
    let report = tokio::task::spawn_blocking(move || crate::store::copy::copy_db(&from, &to))
        .await
        .context("the copy thread failed")??;
    println!("{report}");
    Ok(())
}

/// Runs `keygen` or `public-key`, printing the public key on stdout.
pub fn run_key_command(command: &ServerCommand) -> Result<()> {
    let public = match command {
        ServerCommand::Keygen { key_dir } => {
            let made = keys::generate(key_dir)?;
            let (secret, public) = keys::paths(key_dir);
            eprintln!(
                "zchat-server: wrote {} (secret, mode 0600) and {}; give clients this public key:",
                secret.display(),
                public.display()
            );
            made.public_z85()
        }
        ServerCommand::PublicKey { key_dir } => {
            let (secret, _) = keys::paths(key_dir);
            if secret.exists() {
                keys::load(key_dir)?.public_z85()
            } else {
                zchat_protocol::net::encode_key(&keys::load_public(key_dir)?)
            }
        }
        ServerCommand::CopyDb { .. } => bail!("copy-db is not a key command"),
    };
    println!("{public}");
    Ok(())
}

/// Runs the broker until SIGINT/SIGTERM.
pub async fn run_broker(args: BrokerArgs) -> Result<()> {
    if args.healthcheck {
        return tcp_healthcheck(&args.frontend);
    }
    crate::limits::raise_fd_limit_logged("broker");
    let endpoints = Endpoints::new(args.transport.transport()?)?;
    let broker = Broker::start(
        &endpoints,
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
    crate::limits::raise_fd_limit_logged("proxy");
    let endpoints = Endpoints::new(args.transport.transport()?)?;
    let proxy = Proxy::start(
        &endpoints,
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
    match args.command {
        Some(ServerCommand::CopyDb { from, to }) => return run_copy_db(&from, &to).await,
        Some(command) => return run_key_command(&command),
        None => {}
    }
    if args.healthcheck {
        let default_dir = args.all_in_one.then_some(args.data_dir.as_path());
        let key = args.transport.client_key(default_dir)?;
        return ping(&args.health_endpoint, key, Duration::from_secs(3)).await;
    }
    if args.all_in_one {
        crate::limits::raise_fd_limit_logged("all-in-one");
        let db = args.db_url()?;
        for (flag, value) in [("--broker", &args.broker), ("--proxy", &args.proxy)] {
            if value.contains(',') {
                bail!(
                    "{flag} {value:?}: --all-in-one binds one broker backend and one proxy \
                     XSUB endpoint itself; lists of endpoints are for a plain zchat-server \
                     that connects to several brokers and proxies"
                );
            }
        }
        let mut all = AllInOne::start(AllInOneConfig {
            db: Some(db),
            data_dir: args.data_dir,
            frontend: args.frontend,
            backend: args.broker,
            xpub: args.xpub,
            xsub: args.proxy,
            key_dir: args.transport.key_dir,
            plaintext: args.transport.plaintext,
        })
        .await?;
        let key_flag = all
            .public_key()
            .map_or_else(|| " --plaintext".into(), |k| format!(" --server-key '{k}'"));
        tracing::info!(
            broker = %all.frontend_endpoint(),
            proxy = %all.xpub_endpoint(),
            "all-in-one backend ready: connect clients with --broker {} --proxy {}{key_flag}",
            all.frontend_endpoint(),
            all.xpub_endpoint()
        );
        if let Some(path) = &args.ready_file {
            let key = all.public_key().unwrap_or_default();
            write_ready_file(
                path,
                &[
                    ("frontend", &all.frontend_endpoint()),
                    ("xpub", &all.xpub_endpoint()),
                    ("server_key", &key),
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
    let db = args.db_url()?;
    let broker = endpoint_list("--broker", &args.broker)?;
    let proxy = endpoint_list("--proxy", &args.proxy)?;
    let transport = args.transport.transport()?;
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    server::run(
        ServerConfig {
            broker,
            proxy,
            db,
            fsync: args.fsync,
            session_ttl: Duration::from_secs(args.session_ttl_hours.max(1) * 3600),
            hash_workers: args
                .hash_workers
                .unwrap_or_else(crate::auth::Hasher::default_workers),
            transport,
        },
        shutdown,
    )
    .await
}

/// Splits the comma-separated endpoint list given to `flag` (`--broker`, `--proxy`), so a
/// server can connect to several brokers and proxies. Items are trimmed; an empty item (a
/// stray comma) or an endpoint given twice (the PUB would send every event twice to that
/// proxy) is an error naming the flag, not something to guess about.
pub fn endpoint_list(flag: &str, value: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in value.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            bail!(
                "{flag} {value:?}: item {} is empty; give one endpoint or a comma-separated \
                 list, e.g. tcp://10.0.0.1:5556,tcp://10.0.0.2:5556",
                i + 1
            );
        }
        if out.iter().any(|e| e == item) {
            bail!("{flag} {value:?}: {item} is listed twice");
        }
        out.push(item.to_string());
    }
    Ok(out)
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

/// Sends one protocol `ping` through a broker frontend (CURVE with `server_key`, plaintext
/// with `None`) and waits up to `timeout` for the `pong` (one attempt, no retry): the server
/// healthcheck.
pub async fn ping(endpoint: &str, server_key: Option<String>, timeout: Duration) -> Result<()> {
    let mut config = ClientConfig::requests_only(endpoint);
    config.server_key = server_key;
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
    fn endpoint_lists_are_split_trimmed_and_checked() {
        assert_eq!(
            endpoint_list("--broker", "tcp://127.0.0.1:5556").expect("one"),
            vec!["tcp://127.0.0.1:5556"]
        );
        assert_eq!(
            endpoint_list("--broker", " tcp://a:1 ,tcp://b:2,  tcp://c:3").expect("three"),
            vec!["tcp://a:1", "tcp://b:2", "tcp://c:3"]
        );
        for bad in ["", " ", "tcp://a:1,", ",tcp://a:1", "tcp://a:1, ,tcp://b:2"] {
            let e = endpoint_list("--proxy", bad).expect_err(bad).to_string();
            assert!(
                e.starts_with("--proxy") && e.contains("is empty"),
                "{bad:?}: {e}"
            );
        }
        let e = endpoint_list("--broker", "tcp://a:1,tcp://a:1")
            .expect_err("twice")
            .to_string();
        assert!(e.contains("tcp://a:1 is listed twice"), "{e}");
    }

    #[test]
    fn server_takes_lists_but_all_in_one_does_not() {
        let args = ServerArgs::try_parse_from([
            "zchat-server",
            "--broker",
            "tcp://127.0.0.1:1,tcp://127.0.0.1:2",
            "--proxy",
            "tcp://127.0.0.1:3",
        ])
        .expect("parses");
        assert_eq!(
            endpoint_list("--broker", &args.broker).expect("list").len(),
            2
        );
        let args = ServerArgs::try_parse_from([
            "zchat-server",
            "--all-in-one",
            "--plaintext",
            "--broker",
            "tcp://127.0.0.1:*,tcp://127.0.0.1:*",
        ])
        .expect("parses");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let e = rt
            .block_on(run_server(args))
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("--broker") && e.contains("--all-in-one binds one"),
            "{e}"
        );
    }

    #[test]
    fn internal_endpoints_default_to_loopback() {
        let b = BrokerArgs::try_parse_from(["zchat-broker"]).expect("parses");
        assert_eq!(b.backend, "tcp://127.0.0.1:5556");
        let p = ProxyArgs::try_parse_from(["zchat-proxy"]).expect("parses");
        assert_eq!(p.xsub, "tcp://127.0.0.1:5558");
    }
}
