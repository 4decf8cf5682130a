//! A real PostgreSQL server for tests: Debian's `postgresql` package, a fresh cluster in a
//! temporary directory, on a free loopback port, gone when the test is.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use zchat_backend::test_postgres::Postgres;
//! let pg = Postgres::shared()?; // one cluster for the whole test process
//! let url = pg.fresh_database()?; // postgres://zchat:…@127.0.0.1:PORT/zchat_N
//! # let _ = url; Ok(()) }
//! ```
//!
//! **Binaries.** `$ZCHAT_PG_BIN` if set, else `/usr/lib/postgresql/15/bin`, else
//! `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`: the directory holding
//! `initdb`, `postgres` and `pg_isready`. A machine without them gets an error that says
//! how to install them (`apt-get install postgresql`); there is no silent skip, under
//! `CI=true` or anywhere else.
//!
//! **Root.** `initdb` (and the server) refuse to run as root. When the test process runs
//! with effective uid 0, the temporary directory is handed to the `postgres` system user
//! (made by the package) and `initdb` and `postgres` are started with that user's uid and
//! gid, set in the child between `fork` and `exec` (std's `CommandExt::uid`/`gid`, which
//! also drops supplementary groups) — what `runuser -u postgres --` does, without leaving a
//! `runuser` process between us and the postmaster, so the PID we hold is the postmaster's
//! own and can be signalled directly. Not root: everything runs as the current user.
//!
//! **Authentication.** `initdb --auth=scram-sha-256` with the bootstrap superuser `zchat`
//! and a random password: every connection, TCP or unix socket, needs that password. The
//! role is a superuser so that tests can create databases.
//!
//! **Port.** PostgreSQL cannot bind port 0 and report what it got, so a port is picked by
//! binding `127.0.0.1:0`, reading the port and releasing it, then starting the server on
//! it. Another process may take the port in between: the server then exits at once with
//! "Address already in use", which is detected (in its log) and answered by picking a new
//! port, up to [`PORT_ATTEMPTS`] times. The server listens only on 127.0.0.1; its unix
//! socket (and the socket's lock file) live in the temporary directory, so clusters never
//! collide there. A [`Postgres::restart`] uses the same port again (clients keep their
//! URL); should another process have taken it meanwhile, the restart fails with that log.
//!
//! **Durability settings.** `fsync=off` and `full_page_writes=off`: committed data survives
//! the server's death (`kill -9`, [`Postgres::kill`]), since the kernel keeps what was
//! written, but not the machine's. `synchronous_commit` stays on, so an acknowledged commit
//! is really written, as in production.
//!
//! **Cleanup.** [`Drop`] stops the server (immediate shutdown, SIGQUIT, then SIGKILL if it
//! lingers) by the PID it started and removes the directory. Should the test process die
//! without dropping (the cluster of [`Postgres::shared`] lives in a static, which is never
//! dropped; or a test aborts), two things still stop the server:
//! - the postmaster is started with `PR_SET_PDEATHSIG = SIGQUIT`, so the kernel tells it to
//!   shut down (immediately) when its parent dies. "Parent" is the thread that forked it, so
//!   every server is forked by one spawner thread that lives as long as the process;
//! - a tiny reaper (`sh`, in its own process group, stdin a pipe from the test process)
//!   waits for end-of-file on that pipe, which happens however the test process ends, even
//!   by SIGKILL; it then signals the postmaster (only if it is still a process named
//!   `postgres`), waits for it to go (bounded) and removes the directory. It is told of
//!   every new postmaster PID, of a stopped server, and to just exit after a normal drop.
//!
//! So no server outlives `cargo test` by more than about a second, and no directory is left
//! behind unless the reaper itself is killed too (then only the directory remains; the
//! postmaster still gets its death signal).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rand::distributions::{Alphanumeric, DistString};

/// How many ports [`Postgres::start`] tries when another process takes the one picked.
pub const PORT_ATTEMPTS: usize = 10;

/// The role and the first database of every cluster.
const ROLE: &str = "zchat";

/// How long the server may take to accept connections (slow, shared CI machines).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a fast or immediate shutdown may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a server that lost the race for its port writes before exiting.
const PORT_TAKEN: [&str; 2] = [
    "Address already in use",
    "could not create any TCP/IP sockets",
];

/// A PostgreSQL cluster of its own, running on `127.0.0.1:PORT`, in a temporary directory.
pub struct Postgres {
    /// The temporary directory: `data/` (the cluster), `sock/` (unix socket), `postgres.log`.
    /// `None` only once dropped.
    dir: Option<tempfile::TempDir>,
    /// Where `initdb`, `postgres` and `pg_isready` are.
    bin: PathBuf,
    /// `Some((uid, gid))` of the `postgres` system user when the test process is root.
    run_as: Option<(u32, u32)>,
    port: u16,
    password: String,
    /// The running postmaster (started by this struct), if any.
    server: Option<Child>,
    /// The reaper's stdin: tells it the postmaster's PID; its end-of-file means "we died".
    reaper: Option<(Child, ChildStdin)>,
    /// Numbers the databases of [`Postgres::fresh_database`].
    next_db: AtomicU32,
}

impl Postgres {
    /// Starts a fresh cluster (new directory, `initdb`, a free port) with the database
    /// `zchat`, and returns once it accepts password logins.
    pub fn start() -> Result<Postgres> {
        Postgres::start_inner().map_err(explain)
    }

    fn start_inner() -> Result<Postgres> {
        let bin = find_bin_dir()?;
        let run_as = if sys::is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("zchat-pg-")
            .tempdir_in(temp_base(run_as.is_some()))
            .context("creating the temporary directory")?;
        std::fs::create_dir(dir.path().join("sock")).context("creating the socket dir")?;
        let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n")).context("writing the password file")?;
        if let Some((uid, gid)) = run_as {
            for p in [dir.path(), &dir.path().join("sock"), &pwfile] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid))
                    .with_context(|| format!("giving {} to the postgres user", p.display()))?;
            }
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("--pgdata")
            .arg(dir.path().join("data"))
            .args([
                "--username",
                ROLE,
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        clean_env(&mut initdb, run_as);
        let out = initdb
            .output()
            .with_context(|| format!("running {}", bin.join("initdb").display()))?;
        let _ = std::fs::remove_file(&pwfile);
        if !out.status.success() {
            bail!(
                "initdb failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let reaper = start_reaper(dir.path())?;
        let mut pg = Postgres {
            dir: Some(dir),
            bin,
            run_as,
            port: 0,
            password,
            server: None,
            reaper: Some(reaper),
            next_db: AtomicU32::new(1),
        };
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            pg.port = free_port()?;
            match pg.launch()? {
                Launch::Ready => {
                    pg.admin()?
                        .batch_execute(&format!("CREATE DATABASE {ROLE}"))
                        .context("creating the database zchat")?;
                    return Ok(pg);
                }
                Launch::PortTaken(log) => last = log,
            }
        }
        bail!("{PORT_ATTEMPTS} ports picked were all taken before the server bound them; last log:\n{last}")
    }

    /// One cluster for the whole test process, started on first use; for suites that only
    /// need fresh databases ([`Postgres::fresh_database`]). It is never dropped: the server
    /// stops when the test process exits (see the module's "Cleanup"). A failed start is
    /// remembered, and every later call gets the same error.
    pub fn shared() -> Result<&'static Postgres> {
        static SHARED: OnceLock<std::result::Result<Postgres, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Postgres::start().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow!("{e}"))
    }

    /// `postgres://zchat:PASSWORD@127.0.0.1:PORT/zchat`.
    pub fn url(&self) -> String {
        self.url_of(ROLE)
    }

    /// Creates a new, empty database `zchat_N` (N counts up per cluster) and returns its URL,
    /// so that one cluster serves many tests without them seeing each other's data.
    pub fn fresh_database(&self) -> Result<String> {
        let name = format!("{ROLE}_{}", self.next_db.fetch_add(1, Ordering::Relaxed));
        self.admin()?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .with_context(|| format!("creating the database {name}"))?;
        Ok(self.url_of(&name))
    }

    /// The TCP port the server listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PID of the running postmaster, `None` when stopped or killed.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Child::id)
    }

    /// The temporary directory (`data/` is the cluster); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new(""), tempfile::TempDir::path)
    }

    /// Fast shutdown (SIGINT: open sessions are ended, everything committed is kept), waiting
    /// until the postmaster has exited. The data directory stays, for [`Postgres::restart`].
    /// Does nothing when the server is not running.
    pub fn stop(&mut self) -> Result<()> {
        self.shut_down(libc::SIGINT)
    }

    /// SIGKILL of the postmaster this struct started, as in a crash; then waits until its
    /// child processes (backends, checkpointer, …) have gone, so that a restart finds the
    /// data directory free. Does nothing when the server is not running.
    pub fn kill(&mut self) -> Result<()> {
        self.shut_down(libc::SIGKILL)
    }

    /// Starts the server again on the same port and data (after [`Postgres::stop`] or
    /// [`Postgres::kill`]; a running server is stopped first) and waits until it accepts
    /// connections. Crash recovery after a kill happens here.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        match self.launch().map_err(explain)? {
            Launch::Ready => Ok(()),
            Launch::PortTaken(log) => Err(explain(anyhow!(
                "port {} was taken by another process while the server was down:\n{log}",
                self.port
            ))),
        }
    }

    fn url_of(&self, db: &str) -> String {
        format!(
            "postgres://{ROLE}:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }

    /// A connection to the maintenance database `postgres`, for CREATE DATABASE.
    fn admin(&self) -> Result<postgres::Client> {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(ROLE)
            .password(&self.password)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(10))
            .connect(postgres::NoTls)
            .with_context(|| format!("connecting to the test PostgreSQL on port {}", self.port))
    }

    fn log_path(&self) -> PathBuf {
        self.dir().join("postgres.log")
    }

    /// Starts the postmaster on `self.port` and waits until it accepts connections, or
    /// until it exits because the port is taken.
    fn launch(&mut self) -> Result<Launch> {
        let dir = self.dir().to_path_buf();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(self.log_path())
            .context("opening postgres.log")?;
        let log_start = log.seek(SeekFrom::End(0))?;
        // After a kill, old backends may hold the shared memory for a moment: "pre-existing
        // shared memory block is still in use". `kill` waits for them, but tolerate a lag.
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let mut cmd = Command::new(self.bin.join("postgres"));
            cmd.arg("-D")
                .arg(dir.join("data"))
                .args(["-p", &self.port.to_string(), "-k"])
                .arg(dir.join("sock"))
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "logging_collector=off",
                ])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log.try_clone()?)
                .process_group(0);
            clean_env(&mut cmd, self.run_as);
            sys::die_with_parent(&mut cmd);
            let mut child = spawn_from_long_lived_thread(cmd)
                .with_context(|| format!("starting {}", self.bin.join("postgres").display()))?;
            self.tell_reaper(&format!("pid {}", child.id()));
            match self.wait_ready(&mut child, deadline) {
                Ok(()) => {
                    self.server = Some(child);
                    return Ok(Launch::Ready);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    self.tell_reaper("none");
                    let text = read_from(&mut log, log_start);
                    if PORT_TAKEN.iter().any(|m| text.contains(m)) {
                        return Ok(Launch::PortTaken(text));
                    }
                    if text.contains("pre-existing shared memory block")
                        && Instant::now() < deadline
                    {
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                    bail!("{e:#}; postgres.log:\n{text}");
                }
            }
        }
    }

    /// Polls `pg_isready` until the server accepts connections; fails if it exits first.
    fn wait_ready(&self, child: &mut Child, deadline: Instant) -> Result<()> {
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("postgres exited ({status}) before accepting connections");
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-t",
                    "1",
                    "-d",
                    "postgres",
                    "-U",
                    ROLE,
                ])
                .args(["-p", &self.port.to_string()])
                .stdin(Stdio::null())
                .status()
                .context("running pg_isready")?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("postgres did not accept connections within {READY_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` to the running postmaster, waits for it to exit (SIGKILL after
    /// [`STOP_TIMEOUT`]), then for its children.
    fn shut_down(&mut self, signal: i32) -> Result<()> {
        let Some(mut child) = self.server.take() else {
            return Ok(());
        };
        let pid = child.id();
        let children = children_of(pid);
        sys::signal(pid, signal);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                child.wait()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.tell_reaper("none");
        // Backends notice the postmaster's death and exit; wait for that (bounded).
        let deadline = Instant::now() + STOP_TIMEOUT;
        while children.iter().any(|&c| process_alive(c)) {
            if Instant::now() > deadline {
                bail!("postgres children {children:?} still running {STOP_TIMEOUT:?} after the postmaster {pid} exited");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn tell_reaper(&mut self, line: &str) {
        if let Some((_, stdin)) = self.reaper.as_mut() {
            let _ = writeln!(stdin, "{line}");
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.shut_down(libc::SIGQUIT);
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
        if let Some((mut reaper, mut stdin)) = self.reaper.take() {
            let _ = writeln!(stdin, "done");
            drop(stdin);
            let _ = reaper.wait();
        }
    }
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("port", &self.port)
            .field("dir", &self.dir())
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

/// How one start of the postmaster went.
enum Launch {
    /// It accepts connections.
    Ready,
    /// It exited because another process had the port; its log.
    PortTaken(String),
}

/// Adds how to get PostgreSQL, and that CI never skips, to a start-up error.
fn explain(e: anyhow::Error) -> anyhow::Error {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    e.context(format!(
        "the test PostgreSQL could not start{}. Tests need PostgreSQL 15 from Debian's packages \
         (apt-get install postgresql; scripts/test.sh installs it when run as root), or \
         ZCHAT_PG_BIN set to the directory holding initdb, postgres and pg_isready",
        if ci {
            " (CI=true: this is a failure, never a skip)"
        } else {
            ""
        }
    ))
}

/// The directory with `initdb`, `postgres` and `pg_isready` (see the module's "Binaries").
fn find_bin_dir() -> Result<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "postgres", "pg_isready"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("ZCHAT_PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_all(&dir) {
            return Ok(dir);
        }
        bail!(
            "ZCHAT_PG_BIN={} does not hold initdb, postgres and pg_isready",
            dir.display()
        );
    }
    let mut candidates = vec![PathBuf::from("/usr/lib/postgresql/15/bin")];
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            candidates.push(PathBuf::from(
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            ));
        }
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                Some((v, e.path().join("bin")))
            })
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    candidates
        .into_iter()
        .find(|d| has_all(d))
        .context("PostgreSQL server binaries not found (looked in /usr/lib/postgresql/15/bin, pg_config --bindir, /usr/lib/postgresql/*/bin)")
}

/// The uid and gid of the `postgres` system user (the package creates it).
fn postgres_user() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .context("running id")?;
        if !out.status.success() {
            bail!(
                "running as root, but there is no `postgres` system user to run initdb and the server as ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .context("parsing the output of id")
    };
    Ok((id("-u")?, id("-g")?))
}

/// Where the temporary directory goes: the usual temp dir, unless running as root and the
/// `postgres` user could not reach it (a parent without the others' execute bit), then /tmp.
fn temp_base(as_postgres_user: bool) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let base = std::env::temp_dir();
    if !as_postgres_user {
        return base;
    }
    let reachable = base
        .ancestors()
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if reachable {
        base
    } else {
        PathBuf::from("/tmp")
    }
}

/// A port the OS considers free right now (bound to 127.0.0.1:0, then released).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Removes the libpq variables a developer's shell may carry, fixes the locale of the
/// messages we search, and drops to the `postgres` user when given.
fn clean_env(cmd: &mut Command, run_as: Option<(u32, u32)>) {
    for var in [
        "PGDATA",
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGOPTIONS",
        "PGSERVICE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("LC_ALL", "C");
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid);
    }
}

/// Reads `log` from `offset` to its end (what one start of the server wrote).
fn read_from(log: &mut File, offset: u64) -> String {
    let mut text = String::new();
    if log.seek(SeekFrom::Start(offset)).is_ok() {
        let _ = log.read_to_string(&mut text);
    }
    text
}

/// The PIDs whose parent is `pid` (the postmaster's backends and helpers), from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| proc_stat(p).is_some_and(|(_, ppid)| ppid == pid))
        .collect()
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn process_alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// The state letter and parent PID of `pid`, from `/proc/PID/stat`.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE PPID …", where COMM may itself hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Spawns `cmd` from one thread that lives as long as the process, so that a child's
/// parent-death signal (`PR_SET_PDEATHSIG`, tied to the forking *thread*) fires when the
/// process ends, not when the test thread that asked for the server does.
fn spawn_from_long_lived_thread(cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("test-postgres-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .ok()
            .map(|_| tx)
    });
    let Some(spawner) = spawner else {
        return Err(std::io::Error::other("the spawner thread could not start"));
    };
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("the spawner thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| std::io::Error::other("the spawner thread did not answer"))?
}

/// The reaper's script: `$1` is the directory. Lines on stdin: `pid N` (the postmaster),
/// `none` (no server running), `done` (the owner cleaned up: exit). End of file without
/// `done` means the test process died: stop the server, remove the directory.
const REAPER: &str = r#"
trap '' INT HUP
dir=$1; pid=
while IFS= read -r line; do
  case $line in
    done) exit 0 ;;
    none) pid= ;;
    "pid "*) pid=${line#pid } ;;
  esac
done
alive() {
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || return 1
  st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
if [ -n "$pid" ]; then
  alive && kill -QUIT "$pid" 2>/dev/null
  i=0; while alive && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  alive && kill -KILL "$pid" 2>/dev/null
  i=0; while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  sleep 0.5
fi
rm -rf "$dir"
"#;

/// Starts the reaper for `dir` (see the module's "Cleanup").
fn start_reaper(dir: &Path) -> Result<(Child, ChildStdin)> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(REAPER)
        .arg("zchat-pg-reaper")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the reaper (sh)")?;
    let stdin = child.stdin.take().context("the reaper has no stdin")?;
    Ok((child, stdin))
}

/// The three system calls std does not wrap.
mod sys {
    use std::process::Command;

    /// Whether the process runs with effective uid 0.
    #[allow(unsafe_code)]
    pub(super) fn is_root() -> bool {
        // SAFETY: geteuid takes nothing, cannot fail and touches no memory of ours.
        unsafe { libc::geteuid() == 0 }
    }

    /// Sends `signal` to `pid` (a postmaster this module started and has not reaped yet,
    /// so the PID cannot have been reused).
    #[allow(unsafe_code)]
    pub(super) fn signal(pid: u32, signal: i32) {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return;
        };
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Makes the child get SIGQUIT (PostgreSQL's immediate shutdown) when the thread that
    /// forked it ends, and exit at once if that already happened before the request.
    #[allow(unsafe_code)]
    pub(super) fn die_with_parent(cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        // SAFETY: getpid is async-signal-safe; the closure runs in the forked child after
        // std's setuid (which would clear the death signal) and calls only prctl, getppid
        // and _exit, all async-signal-safe, allocating nothing.
        let parent = unsafe { libc::getpid() };
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
}
