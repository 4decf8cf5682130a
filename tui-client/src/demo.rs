//! `zchat demo`: a local all-in-one backend seeded with demo data, a few bots chatting at a
//! gentle pace, and the full-screen client already signed in. Quitting stops everything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
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
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            data_dir: None,
            bots: 3,
            pace_secs: 8.0,
            bell: true,
        }
    }
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
    // Plaintext on loopback until the TUI takes a server key (issue 12's client part): then
    // CURVE, handing the TUI and the bots `backend.public_key()` / `backend.client_config()`.
    let backend = AllInOne::start(AllInOneConfig {
        plaintext: true,
        ..AllInOneConfig::loopback(dir.join("db"))
    })
    .await?;
    let broker = backend.frontend_endpoint();
    let proxy = backend.xpub_endpoint();
    let result = async {
        eprintln!("zchat demo: seeding users, channels and history…");
        let session = seed(&data, &broker, &proxy).await?;
        let bots = start_bots(&data, &opts, &broker, &proxy).await?;
        let tui_opts = TuiOptions {
            broker: broker.clone(),
            proxy: proxy.clone(),
            home: dir.join("home"),
            bell: opts.bell,
        };
        let r = tui::run_with_session(tui_opts, Some(session)).await;
        for b in bots {
            b.abort();
        }
        r
    }
    .await;
    if let Err(e) = backend.shutdown().await {
        eprintln!("zchat demo: backend shutdown: {e:#}");
    }
    result
}

/// A signed-in client for `user`, registering it first if needed.
pub async fn connect_as(
    user: &str,
    password: &str,
    broker: &str,
    proxy: &str,
) -> Result<(Client, Session)> {
    let client = Client::start(ClientConfig::new(broker, proxy))?;
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
    Ok((client, Session::from_login(broker, proxy, session)))
}

/// Creates users, channels and history (history only into a fresh database), and returns
/// the demo user's session.
pub async fn seed(data: &DemoData, broker: &str, proxy: &str) -> Result<Session> {
    let mut clients = std::collections::HashMap::new();
    let names = data
        .users
        .iter()
        .map(|u| u.name.clone())
        .chain(std::iter::once(data.demo_user.clone()));
    for name in names {
        let (c, s) = connect_as(&name, &data.password, broker, proxy).await?;
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
    broker: &str,
    proxy: &str,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for bot in data.bots.iter().take(opts.bots) {
        let (client, _) = connect_as(&bot.name, &data.password, broker, proxy).await?;
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
