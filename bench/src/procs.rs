//! Starting and stopping the systems under test as child processes on loopback.
//!
//! Ports: zchat's binaries and the raw counterparts bind port `*` (the OS picks a free one)
//! and report what they bound in a ready file (`--ready-file` / `ZCHAT_READY_FILE`), which
//! is also how the bench knows they are listening. Only ngircd needs a port number up front;
//! a clash there is retried with another port.
//!
//! Every child is killed (and reaped) when its guard is dropped, so a failing scenario never
//! leaves a broker, a proxy, a server or an IRC daemon behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::transport::{self, Endpoint, Transport};

/// A loopback endpoint on a port the OS picks at bind time.
pub const ANY_PORT: &str = "tcp://127.0.0.1:*";

/// The environment variable naming a child's ready file (also read by zchat's binaries).
pub const READY_FILE_ENV: &str = "ZCHAT_READY_FILE";

/// Writes `endpoints` as one JSON object to `path`, through a rename so that a reader never
/// sees half of it (what zchat's binaries do with `--ready-file`; the raw helpers use it).
pub fn write_ready_file(path: &Path, endpoints: &[(&str, &str)]) -> Result<()> {
    let object: serde_json::Map<String, serde_json::Value> = endpoints
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&object)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Writes `value` as JSON to `path` through a rename, like [`write_ready_file`].
pub fn write_ready_file_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(value)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Waits (bounded) until `proc` has written its ready file `path`, and returns the
/// endpoints under `keys`, in order. Fails at once if the process exits first.
fn read_ready_file<const N: usize>(
    proc: &mut Proc,
    path: &Path,
    keys: [&str; N],
) -> Result<[String; N]> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            let json: serde_json::Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: ready file is not JSON", proc.name))?;
            let mut out: [String; N] = std::array::from_fn(|_| String::new());
            for (slot, key) in out.iter_mut().zip(keys) {
                *slot = json[key]
                    .as_str()
                    .with_context(|| format!("{}: no {key:?} in {json}", proc.name))?
                    .to_string();
            }
            return Ok(out);
        }
        proc.check_alive()?;
        if Instant::now() > deadline {
            bail!("{} did not report its endpoints within 20 s", proc.name);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Spawns `cmd` with a ready file in `dir` and waits for the endpoints under `keys`.
fn spawn_bound<const N: usize>(
    name: &str,
    mut cmd: Command,
    quiet: bool,
    dir: &Path,
    keys: [&str; N],
) -> Result<(Proc, [String; N])> {
    let ready = dir.join(format!("{}.ready.json", name.replace(' ', "-")));
    cmd.env(READY_FILE_ENV, &ready);
    let mut proc = Proc::spawn(name, cmd, quiet)?;
    let endpoints = read_ready_file(&mut proc, &ready, keys)?;
    Ok((proc, endpoints))
}

/// A child process killed and reaped on drop.
pub struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    /// Spawns `cmd`, with stdout discarded and stderr inherited unless `quiet`.
    pub fn spawn(name: &str, mut cmd: Command, quiet: bool) -> Result<Proc> {
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
        if quiet {
            cmd.stderr(Stdio::null());
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name} ({cmd:?})"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process has already exited (e.g. it could not bind its port).
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early: {status}", self.name);
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size and its peak, in MiB, from `/proc/<pid>/status`.
pub fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used so far, in µs, from `/proc/<pid>/stat`
/// (10 ms resolution: USER_HZ is 100 on Linux).
pub fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000)
}

/// Total CPU time of several processes, in µs.
pub fn cpu_us_sum(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|&p| cpu_us(p)).sum()
}

/// `pid` and its direct children (a PostgreSQL postmaster and its backends, checkpointer,
/// WAL writer…), from `/proc`: what to sum for the database's CPU time.
pub fn with_children(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.filter_map(std::result::Result::ok) {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let parent = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|stat| {
                // "PID (COMM) STATE PPID …", where COMM may hold spaces.
                let rest = stat.get(stat.rfind(')')? + 2..)?.to_string();
                rest.split_whitespace().nth(1)?.parse::<u32>().ok()
            });
        if parent == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Where the zchat binaries are: `$ZCHAT_BIN_DIR`, else next to this executable (the same
/// cargo profile directory).
pub fn zchat_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ZCHAT_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("cannot locate the bench executable")?;
    Ok(exe
        .parent()
        .context("bench executable has no parent directory")?
        .to_path_buf())
}

/// Builds the backend binaries with cargo, in the profile this bench was built with, so the
/// bench never measures stale binaries. A no-op when they are fresh.
pub fn build_backend(bin_dir: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench crate has no parent directory")?;
    let profile = bin_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("release");
    let profile = if profile == "debug" { "dev" } else { profile };
    eprintln!("building zchat-backend binaries (profile {profile})…");
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--quiet",
            "--profile",
            profile,
            "-p",
            "zchat-backend",
            "--bins",
        ])
        .status()
        .context("cannot run cargo to build the backend")?;
    if !status.success() {
        bail!("building zchat-backend failed: {status}");
    }
    Ok(())
}

/// Runs the real `zchat-server keygen --key-dir dir` and returns the public key it wrote to
/// `dir/zchat.pub` (the file clients are given).
fn keygen(bin_dir: &Path, dir: &Path) -> Result<[u8; 32]> {
    let out = Command::new(bin_dir.join("zchat-server"))
        .args(["keygen", "--key-dir"])
        .arg(dir)
        .env_remove("ZCHAT_KEY_DIR")
        .stdin(Stdio::null())
        .output()
        .context("cannot run zchat-server keygen")?;
    if !out.status.success() {
        bail!(
            "zchat-server keygen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    transport::read_public_key(&dir.join("zchat.pub"))
}

/// The real zchat system: broker, proxy and server, on free loopback ports, data in a temp dir.
pub struct ZchatCluster {
    /// Where clients send requests (the broker's ROUTER frontend).
    pub frontend: Endpoint,
    /// Where clients subscribe (the proxy's XPUB).
    pub xpub: Endpoint,
    server: Proc,
    _proxy: Proc,
    _broker: Proc,
    _dir: tempfile::TempDir,
}

impl ZchatCluster {
    /// Starts the three binaries from `bin_dir`: over CURVE with a key pair made by the real
    /// `zchat-server keygen` in the temp dir (`--key-dir` to all three), or `--plaintext`.
    pub fn start(bin_dir: &Path, quiet: bool, transport: Transport) -> Result<ZchatCluster> {
        for b in ["zchat-broker", "zchat-proxy", "zchat-server"] {
            if !bin_dir.join(b).exists() {
                bail!(
                    "{} not found: build it with `cargo build --release -p zchat-backend`",
                    bin_dir.join(b).display()
                );
            }
        }
        let dir = tempfile::tempdir()?;
        let key_dir = dir.path().join("keys");
        let server_key = match transport {
            Transport::Curve => Some(keygen(bin_dir, &key_dir)?),
            Transport::Plaintext => None,
        };
        // The same security flags for all three, and the environment cannot override them.
        let configure = |c: &mut Command| {
            if std::env::var_os("RUST_LOG").is_none() {
                // --plaintext's start-up warning is expected here: errors only.
                c.env(
                    "RUST_LOG",
                    if server_key.is_some() {
                        "warn"
                    } else {
                        "error"
                    },
                );
            }
            c.env_remove("ZCHAT_KEY_DIR").env_remove("ZCHAT_PLAINTEXT");
            match server_key {
                Some(_) => c.arg("--key-dir").arg(&key_dir),
                None => c.arg("--plaintext"),
            };
        };
        let mut broker = Command::new(bin_dir.join("zchat-broker"));
        broker.args(["--frontend", ANY_PORT, "--backend", ANY_PORT]);
        configure(&mut broker);
        let (broker, [frontend, backend]) = spawn_bound(
            "zchat-broker",
            broker,
            quiet,
            dir.path(),
            ["frontend", "backend"],
        )?;
        let mut proxy = Command::new(bin_dir.join("zchat-proxy"));
        proxy.args(["--xpub", ANY_PORT, "--xsub", ANY_PORT]);
        configure(&mut proxy);
        let (proxy, [xpub, xsub]) =
            spawn_bound("zchat-proxy", proxy, quiet, dir.path(), ["xpub", "xsub"])?;
        let mut server = Command::new(bin_dir.join("zchat-server"));
        server.args(["--broker", &backend, "--proxy", &xsub]);
        server.arg("--data-dir").arg(dir.path().join("data"));
        configure(&mut server);
        let server = Proc::spawn("zchat-server", server, quiet)?;
        let mut c = ZchatCluster {
            frontend: Endpoint::new(frontend, server_key),
            xpub: Endpoint::new(xpub, server_key),
            server,
            _proxy: proxy,
            _broker: broker,
            _dir: dir,
        };
        c.wait_ready()?;
        Ok(c)
    }

    /// The server's process id (for its RSS).
    pub fn server_pid(&self) -> u32 {
        self.server.pid()
    }

    /// Broker, proxy and server process ids (for their CPU time).
    pub fn pids(&self) -> [u32; 3] {
        [self._broker.pid(), self._proxy.pid(), self.server.pid()]
    }

    /// Pings (typed API, one attempt of 300 ms each, a fresh client every time) until a
    /// pong comes back, failing early if a process dies.
    fn wait_ready(&mut self) -> Result<()> {
        let api = crate::zchat::Api::new(&self.frontend)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.server.check_alive()?;
            self._broker.check_alive()?;
            self._proxy.check_alive()?;
            if api.ping(Duration::from_millis(300)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("zchat did not answer a ping within 20 s");
            }
        }
    }
}

/// The raw-ZeroMQ counterpart: a ROUTER/DEALER broker, a REP echo and an XSUB/XPUB proxy,
/// each a child process running this same executable (so each hop is a process, as in zchat),
/// over CURVE (one key pair for the three, as zchat's deployment key) or plaintext.
pub struct RawCluster {
    /// The broker's ROUTER frontend.
    pub frontend: Endpoint,
    /// The proxy's XSUB (publishers connect here).
    pub xsub: Endpoint,
    /// The proxy's XPUB (subscribers connect here).
    pub xpub: Endpoint,
    _echo: Proc,
    _proxy: Proc,
    _broker: Proc,
    _dir: tempfile::TempDir,
}

impl RawCluster {
    /// Broker, echo and proxy process ids (for their CPU time).
    pub fn pids(&self) -> [u32; 3] {
        [self._broker.pid(), self._echo.pid(), self._proxy.pid()]
    }

    /// Starts the three raw processes.
    pub fn start(transport: Transport) -> Result<RawCluster> {
        let exe = std::env::current_exe()?;
        let dir = tempfile::tempdir()?;
        let key_dir = dir.path().join("keys");
        let server_key = match transport {
            Transport::Curve => {
                std::fs::create_dir(&key_dir)?;
                Some(transport::write_key_dir(&key_dir)?.public)
            }
            Transport::Plaintext => None,
        };
        let keys = |c: &mut Command| {
            if server_key.is_some() {
                c.arg("--key-dir").arg(&key_dir);
            }
        };
        let mut broker = Command::new(&exe);
        broker.args(["raw-broker", ANY_PORT, ANY_PORT]);
        keys(&mut broker);
        let (broker, [frontend, backend]) = spawn_bound(
            "raw broker",
            broker,
            false,
            dir.path(),
            ["frontend", "backend"],
        )?;
        let mut echo = Command::new(&exe);
        echo.args(["raw-echo", &backend]);
        keys(&mut echo);
        let echo = Proc::spawn("raw echo", echo, false)?;
        let mut proxy = Command::new(&exe);
        proxy.args(["raw-proxy", ANY_PORT, ANY_PORT]);
        keys(&mut proxy);
        let (proxy, [xsub, xpub]) =
            spawn_bound("raw proxy", proxy, false, dir.path(), ["xsub", "xpub"])?;
        let mut c = RawCluster {
            frontend: Endpoint::new(frontend, server_key),
            xsub: Endpoint::new(xsub, server_key),
            xpub: Endpoint::new(xpub, server_key),
            _broker: broker,
            _echo: echo,
            _proxy: proxy,
            _dir: dir,
        };
        // Ready when an echo comes back (through both CURVE handshakes, if any).
        let ctx = zmq::Context::new();
        let s = c.frontend.dial(&ctx, zmq::DEALER)?;
        s.send_multipart([&b""[..], b"ready?"], 0)?;
        s.set_rcvtimeo(10_000)?;
        let reply = s.recv_multipart(0);
        for p in [&mut c._broker, &mut c._echo, &mut c._proxy] {
            p.check_alive()?;
        }
        reply.context("raw echo did not answer within 10 s")?;
        Ok(c)
    }
}

/// Where ngircd is, if installed (`$ZCHAT_BENCH_NGIRCD` overrides the search).
pub fn ngircd_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZCHAT_BENCH_NGIRCD") {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    [
        "/usr/sbin/ngircd",
        "/usr/bin/ngircd",
        "/usr/local/sbin/ngircd",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Our own ngircd: foreground (`-n`), own config in a temp dir, 127.0.0.1 only, free port,
/// flood penalties and per-IP connection limits off (all clients come from 127.0.0.1).
pub struct Ngircd {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

/// A free TCP port on 127.0.0.1, bound and released: only for ngircd, which must be told its
/// port in its configuration. Another process may take the port meanwhile; then ngircd
/// exits and [`Ngircd::start`] tries again with another one.
fn probe_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot bind a probe port")?;
    Ok(l.local_addr()?.port())
}

impl Ngircd {
    /// Starts it and waits until it accepts connections (another port if its was taken).
    pub fn start(bin: &Path) -> Result<Ngircd> {
        let mut outcome = Self::start_on(bin, probe_port()?);
        for _ in 1..5 {
            if outcome.is_ok() {
                break;
            }
            outcome = Self::start_on(bin, probe_port()?);
        }
        outcome
    }

    fn start_on(bin: &Path, port: u16) -> Result<Ngircd> {
        let dir = tempfile::tempdir()?;
        let motd = dir.path().join("motd");
        std::fs::write(&motd, "zchat bench\n")?;
        let conf = dir.path().join("ngircd.conf");
        std::fs::write(
            &conf,
            format!(
                "[Global]\n\
                 Name = bench.zchat.invalid\n\
                 Info = zchat bench peer\n\
                 Listen = 127.0.0.1\n\
                 Ports = {port}\n\
                 MotdFile = {motd}\n\
                 PidFile = {pid}\n\
                 [Limits]\n\
                 MaxConnections = 0\n\
                 MaxConnectionsIP = 0\n\
                 MaxJoins = 0\n\
                 MaxPenaltyTime = 0\n\
                 PingTimeout = 600\n\
                 PongTimeout = 600\n\
                 [Options]\n\
                 DNS = no\n\
                 Ident = no\n\
                 PAM = no\n",
                motd = motd.display(),
                pid = dir.path().join("ngircd.pid").display(),
            ),
        )?;
        let mut cmd = Command::new(bin);
        cmd.arg("-n").arg("-f").arg(&conf);
        let mut proc = Proc::spawn("ngircd", cmd, true)?;
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            proc.check_alive()?;
            if std::net::TcpStream::connect(&addr).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!("ngircd did not listen on {addr} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Ngircd {
            addr,
            _proc: proc,
            _dir: dir,
        })
    }
}

/// Raises this process's soft open-file limit to its hard limit, so that the children it
/// starts next (which inherit it) can hold thousands of sockets: the connections scenario's
/// holders. Returns (soft before, soft now).
#[allow(unsafe_code)]
pub fn raise_fd_limit() -> Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit that outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        bail!("getrlimit: {}", std::io::Error::last_os_error());
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` was read above; only its soft value is raised, to its hard one.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            bail!("setrlimit: {}", std::io::Error::last_os_error());
        }
    }
    Ok((before, lim.rlim_cur))
}
