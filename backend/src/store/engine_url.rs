//! `--db URL`: which engine, and where.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where the data lives: `sqlite:PATH` or `postgres://USER:PASS@HOST:PORT/DB`
/// (`postgresql://` too, with libpq's URL options such as `?connect_timeout=5`).
#[derive(Clone)]
pub enum DbUrl {
    /// A SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database, and the URL as given with its password hidden (for logs).
    Postgres(Box<::postgres::Config>, String),
}

/// Why a `--db` URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum DbUrlError {
    /// Neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE")]
    Scheme(String),
    /// `sqlite:` with nothing after it.
    #[error("the database URL {0:?} names no file: use sqlite:PATH")]
    EmptyPath(String),
    /// A PostgreSQL URL that does not parse.
    #[error("bad PostgreSQL URL {url:?}: {why}")]
    Postgres {
        /// The URL, password hidden.
        url: String,
        /// The parser's reason.
        why: String,
    },
    /// A PostgreSQL URL without the database or user it needs.
    #[error("the PostgreSQL URL {url:?} names no {what}: use postgres://USER:PASSWORD@HOST:PORT/DATABASE")]
    Incomplete {
        /// The URL, password hidden.
        url: String,
        /// "user", "host" or "database".
        what: &'static str,
    },
}

impl DbUrl {
    /// The default: `zchat.db` in the data dir.
    pub fn sqlite_in(data_dir: &Path) -> DbUrl {
        DbUrl::Sqlite(data_dir.join("zchat.db"))
    }
}

/// What an error may show of a value that did not parse: its scheme only (a password may be
/// anywhere in the rest: after a `/`, in `?password=`, in a key/value string).
fn scheme_only(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _))
            if scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+') =>
        {
            format!("{scheme}://…")
        }
        _ => "(not a URL)".to_string(),
    }
}

/// A parsed PostgreSQL configuration as a URL without its password (for logs and errors),
/// rebuilt from the parsed parts rather than cut out of the text.
fn shown(config: &::postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let secret = if config.get_password().is_some() {
        ":***"
    } else {
        ""
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                ::postgres::config::Host::Tcp(name) => name.clone(),
                ::postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{secret}@{}/{db}", hosts.join(","))
}

impl FromStr for DbUrl {
    type Err = DbUrlError;

    fn from_str(url: &str) -> Result<DbUrl, DbUrlError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(DbUrlError::EmptyPath(url.into()));
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let config = ::postgres::Config::from_str(url).map_err(|e| DbUrlError::Postgres {
                url: scheme_only(url),
                why: e.to_string(),
            })?;
            let shown = shown(&config);
            let missing = if config.get_user().is_none() {
                Some("user")
            } else if config.get_hosts().is_empty() {
                Some("host")
            } else if config.get_dbname().is_none() {
                Some("database")
            } else {
                None
            };
            if let Some(what) = missing {
                return Err(DbUrlError::Incomplete { url: shown, what });
            }
            return Ok(DbUrl::Postgres(Box::new(config), shown));
        }
        Err(DbUrlError::Scheme(scheme_only(url)))
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            DbUrl::Postgres(_, shown) => f.write_str(shown),
        }
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_engines_and_names_what_is_wrong() {
        assert!(
            matches!("sqlite:/tmp/x.db".parse(), Ok(DbUrl::Sqlite(p)) if p == Path::new("/tmp/x.db"))
        );
        assert!(
            matches!("sqlite:rel.db".parse(), Ok(DbUrl::Sqlite(p)) if p == Path::new("rel.db"))
        );
        let pg: DbUrl = "postgres://zchat:s3cret@db:5432/zchat".parse().expect("pg");
        assert_eq!(pg.to_string(), "postgres://zchat:***@db:5432/zchat");
        assert!(!format!("{pg:?}").contains("s3cret"));
        for (bad, says) in [
            ("mysql://x@y/z", "unsupported database URL"),
            ("zchat.db", "unsupported database URL"),
            ("sqlite:", "names no file"),
            (
                "postgres://zchat:pw@db:notaport/zchat",
                "bad PostgreSQL URL",
            ),
            ("postgres://zchat:pw@db:5432", "names no database"),
            ("postgres://db/zchat", "names no user"),
        ] {
            let err = bad.parse::<DbUrl>().expect_err(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains(":pw@"), "the password leaked: {err}");
        }
    }
}
