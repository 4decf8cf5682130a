//! Starting and stopping the systems under test as child processes on free loopback ports.
//!
//! Every child is killed (and reaped) when its guard is dropped, so a failing scenario never
//! leaves a broker, a proxy, a server or an IRC daemon behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A free TCP port on 127.0.0.1 (bound, read, released: the usual small race is accepted).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot bind a probe port")?;
    Ok(l.local_addr()?.port())
}

/// `tcp://127.0.0.1:<port>`.
pub fn endpoint(port: u16) -> String {
    format!("tcp://127.0.0.1:{port}")
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

/// The real zchat system: broker, proxy and server, on free loopback ports, data in a temp dir.
pub struct ZchatCluster {
    /// Where clients send requests (the broker's ROUTER frontend).
    pub frontend: String,
    /// Where clients subscribe (the proxy's XPUB).
    pub xpub: String,
    server: Proc,
    _proxy: Proc,
    _broker: Proc,
    _dir: tempfile::TempDir,
}

impl ZchatCluster {
    /// Starts the three binaries from `bin_dir`.
    pub fn start(bin_dir: &Path, quiet: bool) -> Result<ZchatCluster> {
        for b in ["zchat-broker", "zchat-proxy", "zchat-server"] {
            if !bin_dir.join(b).exists() {
                bail!(
                    "{} not found: build it with `cargo build --release -p zchat-backend`",
                    bin_dir.join(b).display()
                );
            }
        }
        let dir = tempfile::tempdir()?;
        let [p_front, p_back, p_xpub, p_xsub] =
            [free_port()?, free_port()?, free_port()?, free_port()?];
        let mut broker = Command::new(bin_dir.join("zchat-broker"));
        broker.args([
            "--frontend",
            &endpoint(p_front),
            "--backend",
            &endpoint(p_back),
        ]);
        let mut proxy = Command::new(bin_dir.join("zchat-proxy"));
        proxy.args(["--xpub", &endpoint(p_xpub), "--xsub", &endpoint(p_xsub)]);
        let mut server = Command::new(bin_dir.join("zchat-server"));
        server.args(["--broker", &endpoint(p_back), "--proxy", &endpoint(p_xsub)]);
        server.arg("--data-dir").arg(dir.path().join("data"));
        for c in [&mut broker, &mut proxy, &mut server] {
            if std::env::var_os("RUST_LOG").is_none() {
                c.env("RUST_LOG", "warn");
            }
        }
        let broker = Proc::spawn("zchat-broker", broker, quiet)?;
        let proxy = Proc::spawn("zchat-proxy", proxy, quiet)?;
        let server = Proc::spawn("zchat-server", server, quiet)?;
        let mut c = ZchatCluster {
            frontend: endpoint(p_front),
            xpub: endpoint(p_xpub),
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

    fn wait_ready(&mut self) -> Result<()> {
        let ctx = zmq::Context::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut client = crate::zchat::Client::connect(&ctx, &self.frontend)?;
        loop {
            self.server.check_alive()?;
            self._broker.check_alive()?;
            self._proxy.check_alive()?;
            if client
                .call(
                    zchat_protocol::Request::Ping,
                    None,
                    Duration::from_millis(300),
                )
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("zchat did not answer a ping within 20 s");
            }
            // A timed-out DEALER may get the late reply; start over with a fresh socket.
            client = crate::zchat::Client::connect(&ctx, &self.frontend)?;
        }
    }
}

/// The raw-ZeroMQ counterpart: a ROUTER/DEALER broker, a REP echo and an XSUB/XPUB proxy,
/// each a child process running this same executable (so each hop is a process, as in zchat).
pub struct RawCluster {
    /// The broker's ROUTER frontend.
    pub frontend: String,
    /// The proxy's XSUB (publishers connect here).
    pub xsub: String,
    /// The proxy's XPUB (subscribers connect here).
    pub xpub: String,
    _echo: Proc,
    _proxy: Proc,
    _broker: Proc,
}

impl RawCluster {
    /// Broker, echo and proxy process ids (for their CPU time).
    pub fn pids(&self) -> [u32; 3] {
        [self._broker.pid(), self._echo.pid(), self._proxy.pid()]
    }

    /// Starts the three raw processes.
    pub fn start() -> Result<RawCluster> {
        let exe = std::env::current_exe()?;
        let [p_front, p_back, p_xpub, p_xsub] =
            [free_port()?, free_port()?, free_port()?, free_port()?];
        let mut broker = Command::new(&exe);
        broker.args(["raw-broker", &endpoint(p_front), &endpoint(p_back)]);
        let mut echo = Command::new(&exe);
        echo.args(["raw-echo", &endpoint(p_back)]);
        let mut proxy = Command::new(&exe);
        proxy.args(["raw-proxy", &endpoint(p_xsub), &endpoint(p_xpub)]);
        let mut c = RawCluster {
            frontend: endpoint(p_front),
            xsub: endpoint(p_xsub),
            xpub: endpoint(p_xpub),
            _broker: Proc::spawn("raw broker", broker, false)?,
            _echo: Proc::spawn("raw echo", echo, false)?,
            _proxy: Proc::spawn("raw proxy", proxy, false)?,
        };
        // Ready when an echo comes back.
        let ctx = zmq::Context::new();
        let s = ctx.socket(zmq::DEALER)?;
        s.set_linger(0)?;
        s.connect(&c.frontend)?;
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

impl Ngircd {
    /// Starts it and waits until it accepts connections.
    pub fn start(bin: &Path) -> Result<Ngircd> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
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
