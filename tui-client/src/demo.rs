//! `zchat demo`: a local all-in-one backend seeded with demo data, a few bots chatting at a
//! gentle pace, and the full-screen client already signed in. Quitting stops everything.
//!
//! The backend listens on free loopback ports, or where `--broker` / `--proxy` say; a
//! second person joins from another terminal with `zchat demo --join` ([`join`]).

mod join;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
pub use join::{endpoints_file, join, join_command, DemoEndpoints};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use zchat_backend::all_in_one::{AllInOne, AllInOneConfig};
use zchat_client::{Client, ClientConfig, ClientError};
use zchat_protocol::{ErrorCode, Target};

use crate::session::Session;
use crate::tui::{self, TuiOptions};

/// The demo data, compiled in so `zchat demo` works from any directory.
pub const DEMO_DATA: &str = include_str!("../../assets/demo/demo.toml");

/// Options for `zchat demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Keep the database here (reused across runs) instead of a temporary directory.
    pub data_dir: Option<PathBuf>,
    /// How many bots chat (0 for none; at most the number in the demo data).
    pub bots: usize,
    /// Seconds between two messages of one bot, on average.
    pub pace_secs: f64,
    /// Ring the bell on mentions.
    pub bell: bool,
    /// Where the backend's broker listens for clients (`--broker`); a free loopback
    /// port when `None`.
    pub broker: Option<String>,
    /// Where the backend's proxy publishes (`--proxy`); a free loopback port when `None`.
    pub proxy: Option<String>,
    /// The zchat home, where the demo records its endpoints for `zchat demo --join`
    /// (never where it keeps its own session: that is under the data dir).
    pub home: PathBuf,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            data_dir: None,
            bots: 3,
            pace_secs: 8.0,
            bell: true,
            broker: None,
            proxy: None,
            home: crate::session::default_home(),
        }
    }
}

/// The demo backend's configuration: the database under `dir`, clients' endpoints where
/// the flags say (bound as given, e.g. `tcp://127.0.0.1:5555`), everything else on free
/// loopback ports. CURVE as everywhere: the key pair is created beside the database on
/// first start, and the demo hands its public key to its own clients and to `demo.json`.
pub fn backend_config(dir: &Path, broker: Option<&str>, proxy: Option<&str>) -> AllInOneConfig {
    let mut config = AllInOneConfig::loopback(dir.join("db"));
    if let Some(b) = broker {
        config.frontend = b.to_string();
    }
    if let Some(p) = proxy {
        config.xpub = p.to_string();
    }
    config
}

/// The seed file's shape (`assets/demo/demo.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct DemoData {
    /// The person running the demo.
    pub demo_user: String,
    /// Everyone's password.
    pub password: String,
    /// Other users.
    pub users: Vec<DemoUser>,
    /// Channels to create.
    pub channels: Vec<DemoChannel>,
    /// Messages to post once, in order.
    #[serde(default)]
    pub history: Vec<DemoLine>,
    /// Bots and what they say.
    #[serde(default)]
    pub bots: Vec<DemoBot>,
}

/// A demo user.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoUser {
    /// Name.
    pub name: String,
}

/// A demo channel.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoChannel {
    /// Name without `#`.
    pub name: String,
    /// Description.
    pub description: String,
    /// Creator.
    pub owner: String,
    /// Other members (`{me}` for the demo user).
    #[serde(default)]
    pub members: Vec<String>,
}

/// One seeded message.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoLine {
    /// `#channel` or `@user`.
    pub to: String,
    /// Author.
    pub from: String,
    /// Text.
    pub text: String,
}

/// A bot.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoBot {
    /// Its user name.
    pub name: String,
    /// What it says in its channels.
    pub lines: Vec<String>,
    /// What it says to the demo user directly.
    #[serde(default)]
    pub dm_lines: Vec<String>,
}

impl DemoData {
    /// Parses the compiled-in demo data, with `{me}` replaced.
    pub fn load() -> Result<DemoData> {
        let raw: DemoData = toml::from_str(DEMO_DATA).context("parsing assets/demo/demo.toml")?;
        let me = raw.demo_user.clone();
        let text = DEMO_DATA.replace("{me}", &me);
        toml::from_str(&text).context("parsing assets/demo/demo.toml")
    }

    /// Channels a user is a member of.
    pub fn channels_of(&self, user: &str) -> Vec<String> {
        self.channels
            .iter()
            .filter(|c| c.owner == user || c.members.iter().any(|m| m == user))
            .map(|c| c.name.clone())
            .collect()
    }
}

/// Runs the demo until the TUI quits.
pub async fn run(opts: DemoOptions) -> Result<()> {
    for (flag, list) in [("--broker", &opts.broker), ("--proxy", &opts.proxy)] {
        if list.as_deref().is_some_and(|l| l.contains(',')) {
            anyhow::bail!(
                "the demo runs one broker and one proxy: give {flag} a single endpoint to bind, \
                 not a list (lists are for clients of a deployment with several)"
            );
        }
    }
    let data = DemoData::load()?;
    let temp;
    let dir: PathBuf = match &opts.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("zchat-demo-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)?;
    eprintln!("zchat demo: starting a local backend in {}", dir.display());
    let config = backend_config(&dir, opts.broker.as_deref(), opts.proxy.as_deref());
    let backend = AllInOne::start(config).await.with_context(|| {
        format!(
            "starting the demo backend (broker {}, proxy {}: with --broker/--proxy or \
             ZCHAT_BROKER/ZCHAT_PROXY the demo binds those endpoints itself)",
            opts.broker.as_deref().unwrap_or("on a free port"),
            opts.proxy.as_deref().unwrap_or("on a free port"),
        )
    })?;
    let broker = backend.frontend_endpoint();
    let proxy = backend.xpub_endpoint();
    let config = backend.client_config();
    let endpoints = DemoEndpoints {
        broker: broker.clone(),
        proxy: proxy.clone(),
        server_key: config.server_key.clone(),
        data_dir: dir.clone(),
        pid: std::process::id(),
    };
    let result = async {
        eprintln!("zchat demo: seeding users, channels and history…");
        let session = seed(&data, &config).await?;
        let bots = start_bots(&data, &opts, &config).await?;
        endpoints.save(&opts.home)?;
        let join = join_command(&opts.home);
        eprintln!("zchat demo: broker {broker}, proxy {proxy}");
        eprintln!("zchat demo: a second person joins from another terminal with:  {join}");
        eprintln!(
            "zchat demo:   (or `{}` and sign up on the form)",
            endpoints.plain_command()
        );
        let tui_opts = TuiOptions {
            broker: broker.clone(),
            proxy: proxy.clone(),
            home: dir.join("home"),
            bell: opts.bell,
            notice: Some(format!("join from another terminal: {join}")),
            server_key: config.server_key.clone(),
            plaintext: false,
        };
        let r = tui::run_with_session(tui_opts, Some(session)).await;
        for b in bots {
            b.abort();
        }
        r
    }
    .await;
    DemoEndpoints::remove_if_mine(&opts.home);
    if let Err(e) = backend.shutdown().await {
        eprintln!("zchat demo: backend shutdown: {e:#}");
    }
    result
}

/// A signed-in client for `user` on the backend `config` names (endpoints and server
/// key), registering it first if needed.
pub async fn connect_as(
    user: &str,
    password: &str,
    config: &ClientConfig,
) -> Result<(Client, Session)> {
    let client = Client::start(config.clone())?;
    match client.register(user, password).await {
        Ok(_) => {}
        Err(ClientError::Server {
            code: ErrorCode::AlreadyExists,
            ..
        }) => {}
        Err(e) => return Err(e).with_context(|| format!("registering {user}")),
    }
    let session = client
        .login(user, password)
        .await
        .with_context(|| format!("logging in {user}"))?;
    let session = Session::from_login(&client, session);
    Ok((client, session))
}

/// Creates users, channels and history (history only into a fresh database), and returns
/// the demo user's session.
pub async fn seed(data: &DemoData, config: &ClientConfig) -> Result<Session> {
    let mut clients = std::collections::HashMap::new();
    let names = data
        .users
        .iter()
        .map(|u| u.name.clone())
        .chain(std::iter::once(data.demo_user.clone()));
    for name in names {
        let (c, s) = connect_as(&name, &data.password, config).await?;
        clients.insert(name, (c, s));
    }
    let client = |name: &str| -> Result<&Client> {
        clients
            .get(name)
            .map(|(c, _)| c)
            .with_context(|| format!("demo data names unknown user {name}"))
    };
    let mut fresh = false;
    for ch in &data.channels {
        match client(&ch.owner)?
            .create_channel(&ch.name, &ch.description)
            .await
        {
            Ok(_) => fresh = true,
            Err(ClientError::Server {
                code: ErrorCode::AlreadyExists,
                ..
            }) => {}
            Err(e) => return Err(e).with_context(|| format!("creating #{}", ch.name)),
        }
        for m in &ch.members {
            client(m)?
                .join(&ch.name)
                .await
                .with_context(|| format!("{m} joining #{}", ch.name))?;
        }
    }
    if fresh {
        for (n, line) in data.history.iter().enumerate() {
            let target =
                Target::parse(&line.to).with_context(|| format!("bad target {}", line.to))?;
            client(&line.from)?
                .send(&target, &line.text, Some(n as u64 + 1))
                .await
                .with_context(|| format!("posting history as {}", line.from))?;
        }
    }
    let (_, session) = clients
        .remove(&data.demo_user)
        .context("demo user missing")?;
    Ok(session)
}

/// Starts the bots: each posts in one of its channels every `pace` seconds or so, and now
/// and then sends the demo user a direct message.
pub async fn start_bots(
    data: &DemoData,
    opts: &DemoOptions,
    config: &ClientConfig,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for bot in data.bots.iter().take(opts.bots) {
        let (client, _) = connect_as(&bot.name, &data.password, config).await?;
        let channels = data.channels_of(&bot.name);
        let bot = bot.clone();
        let me = data.demo_user.clone();
        let pace = opts.pace_secs.max(0.5);
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::from_entropy();
            loop {
                let wait = rng.gen_range(pace * 0.5..pace * 1.5);
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                let dm = !bot.dm_lines.is_empty() && rng.gen_ratio(1, 6);
                let (target, lines) = if dm || channels.is_empty() {
                    (Target::User(me.clone()), &bot.dm_lines)
                } else {
                    let c = &channels[rng.gen_range(0..channels.len())];
                    (Target::Channel(c.clone()), &bot.lines)
                };
                if lines.is_empty() {
                    continue;
                }
                let text = lines[rng.gen_range(0..lines.len())].clone();
                let _ = client.send(&target, &text, Some(rng.gen())).await;
            }
        }));
    }
    Ok(handles)
}

/// Where `zchat demo` keeps its session (never the user's real one).
pub fn demo_home(dir: &Path) -> PathBuf {
    dir.join("home")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_binds_the_endpoints_it_is_given() {
        let dir = Path::new("/tmp/d");
        let c = backend_config(dir, Some("tcp://127.0.0.1:5555"), None);
        assert_eq!(c.frontend, "tcp://127.0.0.1:5555");
        assert_eq!(c.xpub, "tcp://127.0.0.1:*");
        let c = backend_config(dir, None, Some("tcp://127.0.0.1:5557"));
        assert_eq!(
            (c.frontend.as_str(), c.xpub.as_str()),
            ("tcp://127.0.0.1:*", "tcp://127.0.0.1:5557")
        );
        assert_eq!(c.data_dir, dir.join("db"));
        assert!(!c.plaintext, "the demo runs over CURVE");
    }

    #[test]
    fn join_finds_the_running_demo_or_says_how_to_start_one() {
        let home = tempfile::tempdir().expect("tempdir");
        let err = DemoEndpoints::load(home.path()).expect_err("no demo yet");
        assert!(format!("{err:#}").contains("start `zchat demo`"), "{err:#}");
        let e = DemoEndpoints {
            broker: "tcp://127.0.0.1:40001".into(),
            proxy: "tcp://127.0.0.1:40002".into(),
            server_key: Some("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".into()),
            data_dir: home.path().join("data"),
            pid: std::process::id(),
        };
        e.save(home.path()).expect("save");
        assert_eq!(DemoEndpoints::load(home.path()).expect("load"), e);
        assert_eq!(
            e.plain_command(),
            "zchat --broker tcp://127.0.0.1:40001 --proxy tcp://127.0.0.1:40002 \
             --server-key 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'"
        );
        assert!(join_command(home.path()).ends_with("demo --join"));
        DemoEndpoints::remove_if_mine(home.path());
        assert!(!endpoints_file(home.path()).exists());
    }

    #[test]
    fn demo_data_is_consistent() {
        let d = DemoData::load().expect("demo data parses");
        let users: Vec<&str> = d
            .users
            .iter()
            .map(|u| u.name.as_str())
            .chain(std::iter::once(d.demo_user.as_str()))
            .collect();
        for u in &users {
            zchat_protocol::validate::user_name(u).expect("valid user name");
        }
        for c in &d.channels {
            zchat_protocol::validate::channel_name(&c.name).expect("valid channel");
            assert!(users.contains(&c.owner.as_str()));
            for m in &c.members {
                assert!(users.contains(&m.as_str()), "{m}");
            }
        }
        for l in &d.history {
            assert!(Target::parse(&l.to).is_ok(), "{}", l.to);
            assert!(users.contains(&l.from.as_str()));
            zchat_protocol::validate::text(&l.text).expect("valid text");
        }
        for b in &d.bots {
            assert!(users.contains(&b.name.as_str()));
            assert!(!d.channels_of(&b.name).is_empty());
        }
        assert!(!DEMO_DATA.contains("{me}") || !d.history.iter().any(|l| l.text.contains("{me}")));
    }
}
