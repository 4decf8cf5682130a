//! Two people in one demo: the running demo records where its backend listens in a
//! well-known file, `demo.json` in the zchat home (`--home`, `ZCHAT_HOME`, or the user's
//! config dir + `/zchat`), and `zchat demo --join` in a second terminal reads it, signs in
//! as another user (registered on the spot) and opens the chat in the demo's channels.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use zchat_client::{Client, ClientConfig};

use super::{connect_as, DemoData};
use crate::tui::{self, TuiOptions};

/// What a running demo records for others to join it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoEndpoints {
    /// Broker endpoint (requests).
    pub broker: String,
    /// Proxy endpoint (live events).
    pub proxy: String,
    /// The demo backend's CURVE public key, so joiners connect over CURVE with no flag.
    #[serde(default)]
    pub server_key: Option<String>,
    /// The demo's directory: joiners keep their sessions under it.
    pub data_dir: PathBuf,
    /// The demo's process id, so a demo removes only its own file on exit.
    pub pid: u32,
}

/// Where a running demo records its endpoints.
pub fn endpoints_file(home: &Path) -> PathBuf {
    home.join("demo.json")
}

impl DemoEndpoints {
    /// Writes the file (replacing one left by another demo: the newest demo is the one
    /// to join).
    pub fn save(&self, home: &Path) -> Result<()> {
        std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
        let path = endpoints_file(home);
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Reads the file, with an error that says what to do when there is none.
    pub fn load(home: &Path) -> Result<DemoEndpoints> {
        let path = endpoints_file(home);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no running demo found ({} does not exist): start `zchat demo` in another \
                 terminal first, with the same --home / ZCHAT_HOME",
                path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// Removes the file if it is still this demo's.
    pub fn remove_if_mine(home: &Path) {
        if DemoEndpoints::load(home).is_ok_and(|e| e.pid == std::process::id()) {
            let _ = std::fs::remove_file(endpoints_file(home));
        }
    }

    /// The plain command that also joins (sign-in form, any account): for the README and
    /// for machines without this file.
    pub fn plain_command(&self) -> String {
        let key = match &self.server_key {
            Some(key) => format!(" --server-key '{key}'"),
            None => " --plaintext".to_string(),
        };
        format!("zchat --broker {} --proxy {}{key}", self.broker, self.proxy)
    }

    /// A client configuration for the demo: its endpoints and server key.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(&self.broker, &self.proxy).with_server_key(self.server_key.clone())
    }
}

/// The one command that joins the demo recorded in `home` from another terminal.
pub fn join_command(home: &Path) -> String {
    if home == crate::session::default_home() {
        "zchat demo --join".to_string()
    } else {
        format!("zchat --home '{}' demo --join", home.display())
    }
}

/// `zchat demo --join`: signs in to the running demo as `user` (registering it with the
/// demo password if needed), joins the channels the demo user is in, and opens the chat.
pub async fn join(home: &Path, user: &str, bell: bool) -> Result<()> {
    let demo = DemoEndpoints::load(home)?;
    // A file left by a demo that crashed: say so at once rather than after the timeouts.
    let mut probe = ClientConfig::requests_only(&demo.broker);
    probe.server_key.clone_from(&demo.server_key);
    probe.request_timeout = Duration::from_millis(1500);
    match Client::start(probe)?
        .ping_within(Duration::from_millis(1500))
        .await
    {
        Ok(_) => {}
        // Another demo's key (a stale file whose ports were reused): say it as it is.
        Err(e @ zchat_client::ClientError::Handshake { .. }) => bail!(
            "{e} (the key recorded in {})",
            endpoints_file(home).display()
        ),
        Err(_) => bail!(
            "the demo recorded in {} does not answer at {}: is `zchat demo` still running?",
            endpoints_file(home).display(),
            demo.broker
        ),
    }
    let data = DemoData::load()?;
    let (client, session) = connect_as(user, &data.password, &demo.client_config()).await?;
    for channel in data.channels_of(&data.demo_user) {
        client
            .join(&channel)
            .await
            .with_context(|| format!("{user} joining #{channel}"))?;
    }
    drop(client);
    let opts = TuiOptions {
        broker: demo.broker.clone(),
        proxy: demo.proxy.clone(),
        home: demo.data_dir.join(format!("home-{}", session.user)),
        bell,
        notice: Some(format!("joined the demo as {}", session.user)),
        server_key: demo.server_key.clone(),
        plaintext: demo.server_key.is_none(),
    };
    tui::run_with_session(opts, Some(session)).await
}
