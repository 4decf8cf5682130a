//! Starts the real `zchat-broker`, `zchat-proxy` and `zchat-server` binaries on loopback in a
//! temporary directory, for integration tests, end-to-end tests and benchmarks. Everything
//! is killed when the [`Cluster`] is dropped.
//!
//! Ports: the broker and the proxy bind port `*` (the OS picks a free one) and report what
//! they bound through `--ready-file`; a restarted broker or proxy binds the very endpoints
//! its first run got, so clients reconnect to the same address. No port is ever probed and
//! released (that races with every other process picking ports).
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

/// The three backend processes on loopback.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin_dir: PathBuf,
    /// The deployment's public key (Z85); `None` with `--plaintext`.
    public_key: Option<String>,
    /// What the broker bound on its first start (reused on restarts).
    broker_at: Option<Bound>,
    /// What the proxy bound on its first start (reused on restarts).
    proxy_at: Option<Bound>,
    broker: Option<Child>,
    proxy: Option<Child>,
    server: Option<Child>,
    extra_servers: Vec<Child>,
}

impl Cluster {
    /// Starts broker, proxy and server with CURVE (a fresh deployment key pair) and waits
    /// until a ping goes through.
    pub fn start() -> Result<Cluster> {
        Cluster::start_with(true)
    }

    /// The same, with `--plaintext` (no CURVE) on every binary.
    pub fn start_plaintext() -> Result<Cluster> {
        Cluster::start_with(false)
    }

    fn start_with(curve: bool) -> Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let bin_dir = bin_dir()?;
        let public_key = if curve {
            Some(keygen(&bin_dir, &dir.path().join("keys"))?)
        } else {
            None
        };
        let mut c = Cluster {
            dir,
            bin_dir,
            public_key,
            broker_at: None,
            proxy_at: None,
            broker: None,
            proxy: None,
            server: None,
            extra_servers: Vec::new(),
        };
        c.start_broker()?;
        c.start_proxy()?;
        c.start_server()?;
        c.wait_ready(Duration::from_secs(20))?;
        Ok(c)
    }

    /// Where clients send requests.
    pub fn broker_endpoint(&self) -> String {
        self.broker_at
            .as_ref()
            .map(|b| b.public.clone())
            .unwrap_or_default()
    }

    /// Where clients subscribe.
    pub fn proxy_endpoint(&self) -> String {
        self.proxy_at
            .as_ref()
            .map(|p| p.public.clone())
            .unwrap_or_default()
    }

    /// The broker's backend endpoint (where servers connect), for attacks on it.
    pub fn broker_backend_endpoint(&self) -> String {
        self.broker_at
            .as_ref()
            .map(|b| b.internal.clone())
            .unwrap_or_default()
    }

    /// The proxy's publisher (XSUB) endpoint (where servers publish), for attacks on it.
    pub fn proxy_publisher_endpoint(&self) -> String {
        self.proxy_at
            .as_ref()
            .map(|p| p.internal.clone())
            .unwrap_or_default()
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

    /// A client configuration for this cluster: both endpoints and the server key.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(self.broker_endpoint(), self.proxy_endpoint())
            .with_server_key(self.public_key())
    }

    /// A requests-only client configuration (no proxy) with the server key.
    pub fn requests_config(&self) -> ClientConfig {
        ClientConfig::requests_only(self.broker_endpoint()).with_server_key(self.public_key())
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

    /// The temp dir holding data and logs (`broker.log`, `proxy.log`, `server.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id, if running.
    pub fn server_pid(&self) -> Option<u32> {
        self.server.as_ref().map(std::process::Child::id)
    }

    fn server_args(&self) -> Vec<String> {
        vec![
            "--broker".into(),
            self.broker_at
                .as_ref()
                .map(|b| b.internal.clone())
                .unwrap_or_default(),
            "--proxy".into(),
            self.proxy_at
                .as_ref()
                .map(|p| p.internal.clone())
                .unwrap_or_default(),
            "--data-dir".into(),
            self.data_dir().display().to_string(),
        ]
    }

    /// Starts one more server process on the same broker, proxy and database (logging to
    /// `server-N.log`), and waits until it is connected to the broker.
    pub fn start_extra_server(&mut self) -> Result<()> {
        let name = format!("server-{}", self.extra_servers.len() + 2);
        let child = self.spawn_named(&name, "server", &self.server_args())?;
        self.extra_servers.push(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log(&name).contains("connected to the broker") {
            if Instant::now() > deadline {
                bail!("{name} never connected:\n{}", self.log(&name));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
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

    /// Starts the broker (if stopped), and waits until it has bound: on the first start to
    /// free ports, later to the same endpoints as the first time.
    pub fn start_broker(&mut self) -> Result<()> {
        if self.broker.is_none() {
            let (child, bound) =
                self.start_bound("broker", ["frontend", "backend"], &self.broker_at)?;
            self.broker = Some(child);
            self.broker_at = Some(bound);
        }
        Ok(())
    }

    /// Starts the proxy (if stopped), and waits until it has bound (same endpoints as the
    /// first time on a restart).
    pub fn start_proxy(&mut self) -> Result<()> {
        if self.proxy.is_none() {
            let (child, bound) = self.start_bound("proxy", ["xpub", "xsub"], &self.proxy_at)?;
            self.proxy = Some(child);
            self.proxy_at = Some(bound);
        }
        Ok(())
    }

    /// Starts `zchat-<name>` with its two endpoint flags (`flags`, also the keys of its
    /// ready file) set to `known` or, the first time, to any free loopback port, and reads
    /// back what it bound.
    fn start_bound(
        &self,
        name: &str,
        flags: [&str; 2],
        known: &Option<Bound>,
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
        let mut child = self.spawn(name, &args)?;
        match read_ready_file(&ready, flags, &mut child, Duration::from_secs(20)) {
            Ok([public, internal]) => Ok((child, Bound { public, internal })),
            Err(e) => {
                kill(&mut Some(child), libc::SIGKILL);
                bail!("zchat-{name}: {e:#}; its log:\n{}", self.log(name))
            }
        }
    }

    /// Starts the server (if stopped) on the same data dir.
    pub fn start_server(&mut self) -> Result<()> {
        if self.server.is_none() {
            self.server = Some(self.spawn("server", &self.server_args())?);
        }
        Ok(())
    }

    /// SIGKILLs the server: no chance to flush anything.
    pub fn kill_server(&mut self) {
        kill(&mut self.server, libc::SIGKILL);
    }

    /// SIGTERMs the server and waits for a clean exit.
    pub fn stop_server(&mut self) {
        kill(&mut self.server, libc::SIGTERM);
    }

    /// Stops and starts the server, then waits until it answers.
    pub fn restart_server(&mut self) -> Result<()> {
        self.stop_server();
        self.start_server()?;
        self.wait_ready(Duration::from_secs(20))
    }

    /// SIGTERMs the broker.
    pub fn stop_broker(&mut self) {
        kill(&mut self.broker, libc::SIGTERM);
    }

    /// SIGTERMs the proxy.
    pub fn stop_proxy(&mut self) {
        kill(&mut self.proxy, libc::SIGTERM);
    }

    /// Pings through the broker until a pong comes back (each unanswered ping is retried on
    /// a fresh socket, Lazy Pirate), for at most `timeout`. Callable from sync and async
    /// tests alike: the client runs on a thread of its own.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let mut config = self.requests_config();
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
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => bail!(
                "backend not ready after {timeout:?} ({e:#}); server log:\n{}",
                self.log("server")
            ),
            Err(_) => bail!("the readiness check panicked"),
        }
    }

    /// The log of one component.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        kill(&mut self.server, libc::SIGKILL);
        for child in std::mem::take(&mut self.extra_servers) {
            kill(&mut Some(child), libc::SIGKILL);
        }
        kill(&mut self.proxy, libc::SIGKILL);
        kill(&mut self.broker, libc::SIGKILL);
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
