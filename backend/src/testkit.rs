//! Starts the real `zchat-broker`, `zchat-proxy` and `zchat-server` binaries on loopback in a
//! temporary directory, for integration tests, end-to-end tests and benchmarks. Everything
//! is killed when the [`Cluster`] is dropped.
//!
//! Ports: brokers and proxies bind port `*` (the OS picks a free one) and report what they
//! bound through `--ready-file`; a restarted broker or proxy binds the very endpoints its
//! first run got, so clients and servers reconnect to the same address. No port is ever
//! probed and released (that races with every other process picking ports).
//!
//! Redundancy: [`Cluster::builder`] starts several brokers, proxies and servers; every
//! server gets every broker's backend in `--broker` and every proxy's XSUB in `--proxy`.
//! Each can be killed (`SIGKILL`, by the process id the kit started) and started again on
//! the same endpoints; starts wait until the servers' logs show the connections made.
//!
//! Transport: CURVE, as in production. [`Cluster::start`] makes the deployment's key pair
//! with the real `zchat-server keygen` in the temp dir and starts the three binaries with
//! `--key-dir`; [`Cluster::public_key`] and [`Cluster::client_config`] hand the key to
//! clients. [`Cluster::start_plaintext`] runs them with `--plaintext` instead, for tests of
//! clients that cannot speak CURVE yet (raw ZMTP, or binaries without a server-key flag).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use zchat_client::{Client, ClientConfig};

/// A loopback endpoint on a port the OS picks at bind time.
const ANY_PORT: &str = "tcp://127.0.0.1:*";

/// The directory holding the backend binaries: `$ZCHAT_BIN_DIR`, else the cargo target
/// profile directory of the running executable (tests run from `target/<profile>/deps`).
/// Builds the binaries with cargo if they are missing there.
pub fn bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("ZCHAT_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("exe has no parent")?.to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    if !dir.join("zchat-server").exists() {
        let release = dir.ends_with("release");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "--quiet", "-p", "zchat-backend", "--bins"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .context("running cargo build for the backend binaries")?;
        if !status.success() {
            bail!("cargo build of the backend binaries failed");
        }
    }
    Ok(dir)
}

/// Waits until `path` holds the JSON object a binary writes with `--ready-file` (it is
/// written whole, through a rename), and returns the endpoints under `keys`, in order. Fails
/// early if `child` exits first (e.g. its address is taken), or after `timeout`.
pub fn read_ready_file<const N: usize>(
    path: &Path,
    keys: [&str; N],
    child: &mut Child,
    timeout: Duration,
) -> Result<[String; N]> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            let json: serde_json::Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("ready file {} is not JSON", path.display()))?;
            let mut out: [String; N] = std::array::from_fn(|_| String::new());
            for (slot, key) in out.iter_mut().zip(keys) {
                *slot = json[key]
                    .as_str()
                    .with_context(|| format!("no {key:?} in {json}"))?
                    .to_string();
            }
            return Ok(out);
        }
        if let Some(status) = child.try_wait()? {
            bail!("exited ({status}) before writing {}", path.display());
        }
        if Instant::now() > deadline {
            bail!("no {} after {timeout:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Endpoints one process bound, as it reported them.
#[derive(Debug, Clone)]
struct Bound {
    /// The client-facing one (broker frontend, proxy XPUB).
    public: String,
    /// The server-facing one (broker backend, proxy XSUB).
    internal: String,
}

/// One broker or proxy: its process, if running, and what it bound on its first start
/// (reused on restarts, so clients and servers reconnect to the same address).
#[derive(Default)]
struct Device {
    at: Option<Bound>,
    child: Option<Child>,
}

/// One server: its process, if running, and how long its log was when this run started (a
/// restarted server appends to the same log; waits read only what this run wrote).
#[derive(Default)]
struct ServerProc {
    child: Option<Child>,
    log_from: usize,
}

/// How many brokers, proxies and servers a [`Cluster`] runs, and with which transport:
/// `Cluster::builder().brokers(2).proxies(2).servers(3).start()`. Every server connects to
/// every broker and publishes to every proxy, as a redundant deployment does.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    brokers: usize,
    proxies: usize,
    servers: usize,
    curve: bool,
    db: Option<String>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            brokers: 1,
            proxies: 1,
            servers: 1,
            curve: true,
            db: None,
        }
    }
}

impl ClusterBuilder {
    /// Number of brokers (default 1).
    #[must_use]
    pub fn brokers(mut self, n: usize) -> Self {
        self.brokers = n;
        self
    }

    /// Number of proxies (default 1).
    #[must_use]
    pub fn proxies(mut self, n: usize) -> Self {
        self.proxies = n;
        self
    }

    /// Number of servers (default 1), all on one database.
    #[must_use]
    pub fn servers(mut self, n: usize) -> Self {
        self.servers = n;
        self
    }

    /// The servers' `--db` URL (e.g. a PostgreSQL database from `test_postgres`); default:
    /// SQLite in the cluster's data dir.
    #[must_use]
    pub fn db(mut self, url: impl Into<String>) -> Self {
        self.db = Some(url.into());
        self
    }

    /// `--plaintext` on every binary instead of CURVE (see [`Cluster::start_plaintext`]).
    #[must_use]
    pub fn plaintext(mut self) -> Self {
        self.curve = false;
        self
    }

    /// Starts the brokers, then the proxies, then the servers (each waiting until it is
    /// connected to every broker and proxy), and waits until a ping goes through every
    /// broker.
    pub fn start(self) -> Result<Cluster> {
        if self.brokers == 0 || self.proxies == 0 || self.servers == 0 {
            bail!("a cluster needs at least one broker, one proxy and one server: {self:?}");
        }
        let dir = tempfile::tempdir()?;
        let bin_dir = bin_dir()?;
        let public_key = if self.curve {
            Some(keygen(&bin_dir, &dir.path().join("keys"))?)
        } else {
            None
        };
        let mut c = Cluster {
            dir,
            bin_dir,
            public_key,
            brokers: std::iter::repeat_with(Device::default)
                .take(self.brokers)
                .collect(),
            proxies: std::iter::repeat_with(Device::default)
                .take(self.proxies)
                .collect(),
            servers: std::iter::repeat_with(ServerProc::default)
                .take(self.servers)
                .collect(),
            db: self.db.clone(),
        };
        for i in 0..self.brokers {
            c.start_broker_nth(i)?;
        }
        for i in 0..self.proxies {
            c.start_proxy_nth(i)?;
        }
        for i in 0..self.servers {
            c.start_server_nth(i)?;
        }
        c.wait_ready(STARTUP)?;
        Ok(c)
    }
}

/// How long a process may take to start, bind or connect.
const STARTUP: Duration = Duration::from_secs(20);

/// The log (and ready-file) name of process `i` of a kind: `broker`, `broker-2`, …
fn nth_name(kind: &str, i: usize) -> String {
    if i == 0 {
        kind.to_string()
    } else {
        format!("{kind}-{}", i + 1)
    }
}

/// The backend processes on loopback: by default one broker, one proxy and one server
/// ([`Cluster::start`]); any number of each with [`Cluster::builder`]. Methods without an
/// index act on the first of each (broker 0, proxy 0, server 0); the `_nth` ones take the
/// index.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin_dir: PathBuf,
    /// The deployment's public key (Z85); `None` with `--plaintext`.
    public_key: Option<String>,
    /// Broker 0 logs to `broker.log`, broker i to `broker-{i+1}.log`.
    brokers: Vec<Device>,
    /// Proxy 0 logs to `proxy.log`, proxy i to `proxy-{i+1}.log`.
    proxies: Vec<Device>,
    /// Server 0 logs to `server.log`, server i to `server-{i+1}.log`.
    servers: Vec<ServerProc>,
    /// The servers' `--db`; `None`: SQLite in the data dir.
    db: Option<String>,
}

impl Cluster {
    /// Starts broker, proxy and server with CURVE (a fresh deployment key pair) and waits
    /// until a ping goes through.
    pub fn start() -> Result<Cluster> {
        Cluster::builder().start()
    }

    /// The same, with `--plaintext` (no CURVE) on every binary.
    pub fn start_plaintext() -> Result<Cluster> {
        Cluster::builder().plaintext().start()
    }

    /// A cluster of several brokers, proxies and servers: see [`ClusterBuilder`].
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// Where clients send requests (broker 0).
    pub fn broker_endpoint(&self) -> String {
        self.broker_endpoints()
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Where clients subscribe (proxy 0).
    pub fn proxy_endpoint(&self) -> String {
        self.proxy_endpoints()
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Broker 0's backend endpoint (where servers connect), for attacks on it.
    pub fn broker_backend_endpoint(&self) -> String {
        self.broker_backend_endpoints()
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Proxy 0's publisher (XSUB) endpoint (where servers publish), for attacks on it.
    pub fn proxy_publisher_endpoint(&self) -> String {
        self.proxy_publisher_endpoints()
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Every broker's frontend (where clients send requests), in broker order.
    pub fn broker_endpoints(&self) -> Vec<String> {
        endpoints(&self.brokers, |b| &b.public)
    }

    /// Every proxy's XPUB endpoint (where clients subscribe), in proxy order.
    pub fn proxy_endpoints(&self) -> Vec<String> {
        endpoints(&self.proxies, |b| &b.public)
    }

    /// Every broker's backend endpoint (what servers get in `--broker`), in broker order.
    pub fn broker_backend_endpoints(&self) -> Vec<String> {
        endpoints(&self.brokers, |b| &b.internal)
    }

    /// Every proxy's XSUB endpoint (what servers get in `--proxy`), in proxy order.
    pub fn proxy_publisher_endpoints(&self) -> Vec<String> {
        endpoints(&self.proxies, |b| &b.internal)
    }

    /// Every broker's frontend, comma-joined: the form a client's `--broker` takes.
    pub fn broker_list(&self) -> String {
        self.broker_endpoints().join(",")
    }

    /// Every proxy's XPUB endpoint, comma-joined: the form a client's `--proxy` takes.
    pub fn proxy_list(&self) -> String {
        self.proxy_endpoints().join(",")
    }

    /// How many brokers the cluster has (running or not).
    pub fn broker_count(&self) -> usize {
        self.brokers.len()
    }

    /// How many proxies the cluster has (running or not).
    pub fn proxy_count(&self) -> usize {
        self.proxies.len()
    }

    /// How many servers the cluster has (running or not).
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// The deployment's public key (Z85), `None` in plaintext: what clients need.
    pub fn public_key(&self) -> Option<String> {
        self.public_key.clone()
    }

    /// The directory of the deployment's key pair (`zchat.key`, `zchat.pub`), when CURVE is
    /// on.
    pub fn key_dir(&self) -> Option<PathBuf> {
        self.public_key
            .as_ref()
            .map(|_| self.dir.path().join("keys"))
    }

    /// A client configuration for this cluster: every broker and proxy (comma-joined) and
    /// the server key. With one broker and one proxy, plain endpoints.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(self.broker_list(), self.proxy_list()).with_server_key(self.public_key())
    }

    /// A requests-only client configuration (no proxy) with the server key, on every broker
    /// (comma-joined).
    pub fn requests_config(&self) -> ClientConfig {
        ClientConfig::requests_only(self.broker_list()).with_server_key(self.public_key())
    }

    /// A client configuration on broker `broker` and proxy `proxy` only (one endpoint
    /// each), with the server key: for tests that must know which path a request or an
    /// event takes.
    pub fn client_config_via(&self, broker: usize, proxy: usize) -> ClientConfig {
        ClientConfig::new(
            self.broker_endpoints()
                .get(broker)
                .cloned()
                .unwrap_or_default(),
            self.proxy_endpoints()
                .get(proxy)
                .cloned()
                .unwrap_or_default(),
        )
        .with_server_key(self.public_key())
    }

    /// A requests-only client configuration on broker `broker` only, with the server key.
    pub fn requests_config_via(&self, broker: usize) -> ClientConfig {
        ClientConfig::requests_only(
            self.broker_endpoints()
                .get(broker)
                .cloned()
                .unwrap_or_default(),
        )
        .with_server_key(self.public_key())
    }

    /// The transport flags every binary of this cluster gets.
    pub fn transport_args(&self) -> Vec<String> {
        match self.key_dir() {
            Some(dir) => vec!["--key-dir".into(), dir.display().to_string()],
            None => vec!["--plaintext".into()],
        }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The temp dir holding data and logs (`broker.log`, `proxy.log`, `server.log`, and
    /// `broker-2.log`, `server-3.log`… for the others).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Server 0's process id, if running.
    pub fn server_pid(&self) -> Option<u32> {
        self.server_pid_nth(0)
    }

    /// Server `i`'s process id, if running.
    pub fn server_pid_nth(&self, i: usize) -> Option<u32> {
        self.servers.get(i)?.child.as_ref().map(Child::id)
    }

    /// Broker `i`'s process id, if running.
    pub fn broker_pid_nth(&self, i: usize) -> Option<u32> {
        self.brokers.get(i)?.child.as_ref().map(Child::id)
    }

    /// Proxy `i`'s process id, if running.
    pub fn proxy_pid_nth(&self, i: usize) -> Option<u32> {
        self.proxies.get(i)?.child.as_ref().map(Child::id)
    }

    fn server_args(&self) -> Vec<String> {
        let mut args = vec![
            "--broker".into(),
            self.broker_backend_endpoints().join(","),
            "--proxy".into(),
            self.proxy_publisher_endpoints().join(","),
            "--data-dir".into(),
            self.data_dir().display().to_string(),
        ];
        if let Some(db) = &self.db {
            args.extend(["--db".into(), db.clone()]);
        }
        args
    }

    /// Starts one more server process on every broker and proxy and the same database
    /// (logging to `server-N.log`), and waits until it is connected to all of them.
    pub fn start_extra_server(&mut self) -> Result<()> {
        self.servers.push(ServerProc::default());
        self.start_server_nth(self.servers.len() - 1)
    }

    fn spawn(&self, name: &str, args: &[String]) -> Result<Child> {
        self.spawn_named(name, name, args)
    }

    fn spawn_named(&self, log_name: &str, name: &str, args: &[String]) -> Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{log_name}.log")))?;
        Command::new(self.bin_dir.join(format!("zchat-{name}")))
            .args(args)
            .args(self.transport_args())
            .env(
                "RUST_LOG",
                std::env::var("ZCHAT_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting zchat-{name} from {}", self.bin_dir.display()))
    }

    /// Starts broker 0 if stopped: see [`Cluster::start_broker_nth`].
    pub fn start_broker(&mut self) -> Result<()> {
        self.start_broker_nth(0)
    }

    /// Starts broker `i` (if stopped) and waits until it has bound (on its first start to
    /// free ports, later to the same endpoints as the first time) and every running server
    /// has (re)connected to it.
    pub fn start_broker_nth(&mut self, i: usize) -> Result<()> {
        self.start_device("broker", i)
    }

    /// Starts proxy 0 if stopped: see [`Cluster::start_proxy_nth`].
    pub fn start_proxy(&mut self) -> Result<()> {
        self.start_proxy_nth(0)
    }

    /// Starts proxy `i` (if stopped) and waits until it has bound (same endpoints as the
    /// first time on a restart) and every running server has (re)connected to it.
    pub fn start_proxy_nth(&mut self, i: usize) -> Result<()> {
        self.start_device("proxy", i)
    }

    /// Starts broker or proxy `i` (`kind` "broker" or "proxy") if stopped, then waits for
    /// every running server to log one more connection to it than before.
    fn start_device(&mut self, kind: &str, i: usize) -> Result<()> {
        let (devices, flags) = match kind {
            "broker" => (&self.brokers, ["frontend", "backend"]),
            _ => (&self.proxies, ["xpub", "xsub"]),
        };
        let device = devices
            .get(i)
            .with_context(|| format!("no {kind} {i}: the cluster has {}", devices.len()))?;
        if device.child.is_some() {
            return Ok(());
        }
        let known = device.at.clone();
        let before: Vec<(usize, usize)> = match &known {
            Some(b) => self.connection_counts(kind, &b.internal),
            None => self.connection_counts(kind, ""),
        };
        let name = nth_name(kind, i);
        let (child, bound) = self.start_bound(&name, kind, flags, known.as_ref())?;
        let internal = bound.internal.clone();
        let devices = match kind {
            "broker" => &mut self.brokers,
            _ => &mut self.proxies,
        };
        if let Some(device) = devices.get_mut(i) {
            device.child = Some(child);
            device.at = Some(bound);
        }
        let deadline = Instant::now() + STARTUP;
        for (server, count) in before {
            while self.connections(server, kind, &internal) <= count {
                if Instant::now() > deadline {
                    bail!(
                        "{} never connected to {name} at {internal}; its log:\n{}",
                        nth_name("server", server),
                        self.log(&nth_name("server", server))
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Starts `zchat-<bin>` (logging to `<name>.log`) with its two endpoint flags (`flags`,
    /// also the keys of its ready file) set to `known` or, the first time, to any free
    /// loopback port, and reads back what it bound.
    fn start_bound(
        &self,
        name: &str,
        bin: &str,
        flags: [&str; 2],
        known: Option<&Bound>,
    ) -> Result<(Child, Bound)> {
        let ready = self.dir.path().join(format!("{name}.ready.json"));
        let _ = std::fs::remove_file(&ready);
        let (public, internal) = match known {
            Some(b) => (b.public.clone(), b.internal.clone()),
            None => (ANY_PORT.to_string(), ANY_PORT.to_string()),
        };
        let args = vec![
            format!("--{}", flags[0]),
            public,
            format!("--{}", flags[1]),
            internal,
            "--ready-file".into(),
            ready.display().to_string(),
        ];
        let mut child = self.spawn_named(name, bin, &args)?;
        match read_ready_file(&ready, flags, &mut child, STARTUP) {
            Ok([public, internal]) => Ok((child, Bound { public, internal })),
            Err(e) => {
                kill(&mut Some(child), libc::SIGKILL);
                bail!("zchat-{bin}: {e:#}; its log:\n{}", self.log(name))
            }
        }
    }

    /// Starts server 0 if stopped: see [`Cluster::start_server_nth`].
    pub fn start_server(&mut self) -> Result<()> {
        self.start_server_nth(0)
    }

    /// Starts server `i` (if stopped) on every broker and proxy and the same data dir, and
    /// waits until it is connected to every running broker and proxy.
    pub fn start_server_nth(&mut self, i: usize) -> Result<()> {
        let count = self.servers.len();
        let server = self
            .servers
            .get(i)
            .with_context(|| format!("no server {i}: the cluster has {count}"))?;
        if server.child.is_some() {
            return Ok(());
        }
        let name = nth_name("server", i);
        let log_from = self.log(&name).len();
        let child = if i == 0 {
            self.spawn("server", &self.server_args())?
        } else {
            self.spawn_named(&name, "server", &self.server_args())?
        };
        if let Some(server) = self.servers.get_mut(i) {
            server.child = Some(child);
            server.log_from = log_from;
        }
        let mut peers: Vec<(&str, String)> = Vec::new();
        for (kind, devices) in [("broker", &self.brokers), ("proxy", &self.proxies)] {
            for device in devices.iter().filter(|d| d.child.is_some()) {
                if let Some(at) = &device.at {
                    peers.push((kind, at.internal.clone()));
                }
            }
        }
        let deadline = Instant::now() + STARTUP;
        for (kind, endpoint) in peers {
            while self.connections(i, kind, &endpoint) == 0 {
                let exited = self
                    .servers
                    .get_mut(i)
                    .and_then(|s| s.child.as_mut())
                    .and_then(|c| c.try_wait().ok().flatten());
                if exited.is_some() || Instant::now() > deadline {
                    bail!(
                        "{name} never connected to the {kind} at {endpoint}; its log:\n{}",
                        self.log(&name)
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// How many times this run of server `server` logged a handshake with the `kind`
    /// ("broker" or "proxy") at `endpoint`.
    fn connections(&self, server: usize, kind: &str, endpoint: &str) -> usize {
        let Some(from) = self.servers.get(server).map(|s| s.log_from) else {
            return 0;
        };
        let line = format!("connected to the {kind} at {endpoint}");
        self.log(&nth_name("server", server))
            .get(from..)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.trim_end().ends_with(&line) && !l.contains("still not"))
            .count()
    }

    /// For every running server: its index and [`Cluster::connections`] to `endpoint` now
    /// (0 for an endpoint not bound yet).
    fn connection_counts(&self, kind: &str, endpoint: &str) -> Vec<(usize, usize)> {
        (0..self.servers.len())
            .filter(|&i| self.servers.get(i).is_some_and(|s| s.child.is_some()))
            .map(|i| {
                let n = if endpoint.is_empty() {
                    0
                } else {
                    self.connections(i, kind, endpoint)
                };
                (i, n)
            })
            .collect()
    }

    /// SIGKILLs server 0: no chance to flush anything.
    pub fn kill_server(&mut self) {
        self.kill_server_nth(0);
    }

    /// SIGKILLs server `i` (by the process id the kit started) and reaps it.
    pub fn kill_server_nth(&mut self, i: usize) {
        if let Some(s) = self.servers.get_mut(i) {
            kill(&mut s.child, libc::SIGKILL);
        }
    }

    /// SIGTERMs server 0 and waits for a clean exit.
    pub fn stop_server(&mut self) {
        self.stop_server_nth(0);
    }

    /// SIGTERMs server `i` and waits for a clean exit.
    pub fn stop_server_nth(&mut self, i: usize) {
        if let Some(s) = self.servers.get_mut(i) {
            kill(&mut s.child, libc::SIGTERM);
        }
    }

    /// Stops and starts server 0, then waits until it answers.
    pub fn restart_server(&mut self) -> Result<()> {
        self.stop_server();
        self.start_server()?;
        self.wait_ready(STARTUP)
    }

    /// SIGTERMs broker 0.
    pub fn stop_broker(&mut self) {
        self.stop_broker_nth(0);
    }

    /// SIGTERMs broker `i`.
    pub fn stop_broker_nth(&mut self, i: usize) {
        if let Some(d) = self.brokers.get_mut(i) {
            kill(&mut d.child, libc::SIGTERM);
        }
    }

    /// SIGKILLs broker `i` (by the process id the kit started) and reaps it; start it again
    /// on the same endpoints with [`Cluster::start_broker_nth`].
    pub fn kill_broker_nth(&mut self, i: usize) {
        if let Some(d) = self.brokers.get_mut(i) {
            kill(&mut d.child, libc::SIGKILL);
        }
    }

    /// SIGTERMs proxy 0.
    pub fn stop_proxy(&mut self) {
        self.stop_proxy_nth(0);
    }

    /// SIGTERMs proxy `i`.
    pub fn stop_proxy_nth(&mut self, i: usize) {
        if let Some(d) = self.proxies.get_mut(i) {
            kill(&mut d.child, libc::SIGTERM);
        }
    }

    /// SIGKILLs proxy `i` (by the process id the kit started) and reaps it; start it again
    /// on the same endpoints with [`Cluster::start_proxy_nth`].
    pub fn kill_proxy_nth(&mut self, i: usize) {
        if let Some(d) = self.proxies.get_mut(i) {
            kill(&mut d.child, libc::SIGKILL);
        }
    }

    /// Pings through every running broker until a pong comes back (each unanswered ping is
    /// retried on a fresh socket, Lazy Pirate), for at most `timeout` per broker. Callable
    /// from sync and async tests alike: the clients run on a thread of their own.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let running: Vec<usize> = (0..self.brokers.len())
            .filter(|&i| self.brokers.get(i).is_some_and(|b| b.child.is_some()))
            .collect();
        if running.is_empty() {
            bail!("no broker is running");
        }
        for i in running {
            let config = self.requests_config_via(i);
            if let Err(e) = ping_until(config, timeout) {
                let logs: String = (0..self.servers.len())
                    .map(|s| {
                        let name = nth_name("server", s);
                        format!("{name} log:\n{}\n", self.log(&name))
                    })
                    .collect();
                bail!(
                    "backend not ready through {} after {timeout:?} ({e:#});\n{logs}",
                    nth_name("broker", i)
                );
            }
        }
        Ok(())
    }

    /// The log of one component.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

/// What each started device bound, in order (`pick` chooses which of its two endpoints).
fn endpoints(devices: &[Device], pick: impl Fn(&Bound) -> &String) -> Vec<String> {
    devices
        .iter()
        .filter_map(|d| d.at.as_ref().map(|b| pick(b).clone()))
        .collect()
}

/// Pings with `config` until a pong comes back, for at most `timeout`, on a thread of its
/// own (so that async tests may call it too).
fn ping_until(mut config: ClientConfig, timeout: Duration) -> Result<()> {
    let outcome = std::thread::spawn(move || -> Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            config.request_timeout = Duration::from_millis(250);
            config.attempts = (timeout.as_millis() / 250).max(1) as u32;
            Client::start(config)?.ping().await?;
            Ok(())
        })
    })
    .join();
    match outcome {
        Ok(result) => result,
        Err(_) => bail!("the readiness check panicked"),
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in &mut self.servers {
            kill(&mut s.child, libc::SIGKILL);
        }
        for d in self.proxies.iter_mut().chain(self.brokers.iter_mut()) {
            kill(&mut d.child, libc::SIGKILL);
        }
    }
}

/// Runs `zchat-server keygen --key-dir dir` and returns the public key it printed.
fn keygen(bin_dir: &Path, dir: &Path) -> Result<String> {
    let out = Command::new(bin_dir.join("zchat-server"))
        .args(["keygen", "--key-dir"])
        .arg(dir)
        .output()
        .context("running zchat-server keygen")?;
    if !out.status.success() {
        bail!(
            "zchat-server keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `std` can only SIGKILL a child; graceful-stop tests need SIGTERM, hence the FFI call.
#[allow(unsafe_code)]
fn kill(child: &mut Option<Child>, signal: i32) {
    if let Some(mut c) = child.take() {
        // SAFETY: plain kill(2) on a child we spawned and have not reaped yet.
        unsafe {
            libc::kill(c.id() as i32, signal);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}
