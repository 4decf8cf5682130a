//! The saved session: what `zchat login` leaves under `ZCHAT_HOME` for later commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A signed-in session, saved as `session.json` (mode 0600) in the zchat home directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Broker endpoint the session was made with, or the comma-separated list of them.
    pub broker: String,
    /// Proxy endpoint, or the comma-separated list of them.
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
            broker: normalized(&config.broker),
            proxy: normalized(&config.proxy.clone().unwrap_or_default()),
            user: session.user,
            token: session.token,
            inbox: session.inbox,
            expires_at: session.expires_at,
            server_key: config.server_key.clone(),
        }
    }

    /// The server key saved for these endpoints: the session's, else the one remembered
    /// for the broker list, else for any broker in it (see [`remember_key`]), so signing
    /// out and in again needs no flag.
    pub fn saved_key(home: &Path, broker: &str, proxy: &str) -> Option<String> {
        Session::load(home)
            .filter(|s| s.is_for(broker, proxy))
            .and_then(|s| s.server_key)
            .or_else(|| {
                let mut keys = known_keys(home);
                let list = normalized(broker);
                keys.remove(&list).or_else(|| {
                    // One deployment, one key: a key remembered for one of the brokers (a
                    // file from before lists, or a shorter list) holds for the others.
                    list.split(',').find_map(|b| keys.remove(b))
                })
            })
    }

    /// Whether the session was made with these endpoints (the same lists, in the same
    /// order, however spaced).
    pub fn is_for(&self, broker: &str, proxy: &str) -> bool {
        normalized(&self.broker) == normalized(broker)
            && normalized(&self.proxy) == normalized(proxy)
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

/// An endpoint list written the way it is saved and compared (as given when it is not a
/// valid list: then it matches only itself).
fn normalized(list: &str) -> String {
    zchat_client::endpoints::normalize_list(list).unwrap_or_else(|_| list.to_string())
}

/// Remembers `key` as the server key of `broker`, one endpoint or a list (keyed by the
/// whole list as written by [`normalized`]; replacing an older one). The file keeps the
/// shape it always had, a map from broker to key, so older files still load.
pub fn remember_key(home: &Path, broker: &str, key: &str) -> Result<()> {
    let broker = normalized(broker);
    let mut keys = known_keys(home);
    if keys.get(&broker).map(String::as_str) == Some(key) {
        return Ok(());
    }
    keys.insert(broker, key.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

    #[test]
    fn keys_are_remembered_by_broker_list_and_found_by_any_member() {
        let home = tempfile::tempdir().expect("home");
        let home = home.path();
        // A file from before lists: keyed by one endpoint.
        std::fs::write(
            keys_file(home),
            format!(r#"{{"tcp://10.0.0.1:5555": "{KEY}"}}"#),
        )
        .expect("write");
        assert_eq!(
            Session::saved_key(home, "tcp://10.0.0.1:5555", "p").as_deref(),
            Some(KEY)
        );
        assert_eq!(
            Session::saved_key(home, "tcp://10.0.0.2:5555, tcp://10.0.0.1:5555", "p").as_deref(),
            Some(KEY),
            "a list naming that broker"
        );
        assert_eq!(Session::saved_key(home, "tcp://10.0.0.2:5555", "p"), None);
        // A list is remembered whole, written one way.
        remember_key(home, "tcp://10.0.0.3:1 ,tcp://10.0.0.4:1", "other").expect("remember");
        assert_eq!(
            Session::saved_key(home, "tcp://10.0.0.3:1,tcp://10.0.0.4:1", "p").as_deref(),
            Some("other")
        );
        let text = std::fs::read_to_string(keys_file(home)).expect("read");
        assert!(
            text.contains("\"tcp://10.0.0.3:1,tcp://10.0.0.4:1\""),
            "{text}"
        );
        assert!(text.contains("\"tcp://10.0.0.1:5555\""), "{text}");
    }

    #[test]
    fn a_session_is_for_the_same_lists_however_spaced() {
        let s = Session {
            broker: "tcp://a:1,tcp://b:1".into(),
            proxy: "tcp://a:2".into(),
            user: "ana".into(),
            token: String::new(),
            inbox: String::new(),
            expires_at: 0,
            server_key: None,
        };
        assert!(s.is_for("tcp://a:1, tcp://b:1", "tcp://a:2"));
        assert!(!s.is_for("tcp://b:1,tcp://a:1", "tcp://a:2"));
        assert!(!s.is_for("tcp://a:1", "tcp://a:2"));
    }
}
