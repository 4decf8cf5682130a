//! The saved session: what `zchat login` leaves under `ZCHAT_HOME` for later commands.

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
    /// The session to save after `login` with these endpoints.
    pub fn from_login(broker: &str, proxy: &str, session: zchat_client::Session) -> Session {
        Session {
            broker: broker.to_string(),
            proxy: proxy.to_string(),
            user: session.user,
            token: session.token,
            inbox: session.inbox,
            expires_at: session.expires_at,
        }
    }

    /// The saved session, if any and not expired.
    pub fn load(home: &Path) -> Option<Session> {
        let text = std::fs::read_to_string(file(home)).ok()?;
        let s: Session = serde_json::from_str(&text).ok()?;
        (s.expires_at > zchat_protocol::now_millis()).then_some(s)
    }

    /// Saves the session, readable only by the owner.
    pub fn save(&self, home: &Path) -> Result<()> {
        std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
        let path = file(home);
        let text = serde_json::to_string_pretty(self)?;
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            // `mode` only applies to new files: tighten an existing one too.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            f.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    /// Forgets the saved session.
    pub fn clear(home: &Path) -> Result<()> {
        match std::fs::remove_file(file(home)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}
