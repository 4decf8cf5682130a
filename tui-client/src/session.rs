//! The saved session: what `zchat login` leaves under `ZCHAT_HOME` for later commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A signed-in session, saved as `session.json` (mode 0600) in the zchat home directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Broker endpoint the session was made with.
    pub broker: String,
    /// Proxy endpoint.
    pub proxy: String,
    /// User name (canonical case).
    pub user: String,
    /// Bearer token (secret).
    pub token: String,
    /// Private inbox topic (secret).
    pub inbox: String,
    /// Expiry, ms since the epoch.
    pub expires_at: i64,
    /// The server's CURVE public key the session was made with (`None`: plaintext, or a
    /// session saved before CURVE): later runs against the same broker and proxy use it, so
    /// `--server-key` is needed once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<String>,
}

/// The default zchat home: `$XDG_CONFIG_HOME/zchat` (or the platform's config dir).
pub fn default_home() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("zchat")
}

fn file(home: &Path) -> PathBuf {
    home.join("session.json")
}

impl Session {
    /// The session to save after `login` through `client` (its endpoints and server key).
    pub fn from_login(client: &zchat_client::Client, session: zchat_client::Session) -> Session {
        let config = client.config();
        Session {
            broker: config.broker.clone(),
            proxy: config.proxy.clone().unwrap_or_default(),
            user: session.user,
            token: session.token,
            inbox: session.inbox,
            expires_at: session.expires_at,
            server_key: config.server_key.clone(),
        }
    }

    /// The server key saved for these endpoints: the session's, else the one remembered
    /// for the broker (see [`remember_key`]), so signing out and in again needs no flag.
    pub fn saved_key(home: &Path, broker: &str, proxy: &str) -> Option<String> {
        Session::load(home)
            .filter(|s| s.broker == broker && s.proxy == proxy)
            .and_then(|s| s.server_key)
            .or_else(|| known_keys(home).remove(broker))
    }

    /// The saved session, if any and not expired.
    pub fn load(home: &Path) -> Option<Session> {
        let text = std::fs::read_to_string(file(home)).ok()?;
        let s: Session = serde_json::from_str(&text).ok()?;
        (s.expires_at > zchat_protocol::now_millis()).then_some(s)
    }

    /// Saves the session, readable only by the owner, and remembers its server key for
    /// its broker.
    pub fn save(&self, home: &Path) -> Result<()> {
        write_private(home, &file(home), &serde_json::to_string_pretty(self)?)?;
        if let Some(key) = &self.server_key {
            remember_key(home, &self.broker, key)?;
        }
        Ok(())
    }

    /// Forgets the saved session (the server key stays remembered for its broker).
    pub fn clear(home: &Path) -> Result<()> {
        match std::fs::remove_file(file(home)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Server keys by broker endpoint, `servers.json` in the zchat home: what a sign-in with
/// a key leaves behind, so that after `zchat logout` the next `zchat login` needs no flag.
fn keys_file(home: &Path) -> PathBuf {
    home.join("servers.json")
}

fn known_keys(home: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(keys_file(home))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Remembers `key` as the server key of `broker` (replacing an older one).
pub fn remember_key(home: &Path, broker: &str, key: &str) -> Result<()> {
    let mut keys = known_keys(home);
    if keys.get(broker).map(String::as_str) == Some(key) {
        return Ok(());
    }
    keys.insert(broker.to_string(), key.to_string());
    write_private(
        home,
        &keys_file(home),
        &serde_json::to_string_pretty(&keys)?,
    )
}

/// Writes `text` to `path` under `home`, readable only by the owner.
fn write_private(home: &Path, path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // `mode` only applies to new files: tighten an existing one too.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
