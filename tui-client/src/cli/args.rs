//! The command line: flags (each also an environment variable), subcommands, and the
//! connection settings they resolve to.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use zchat_client::{Client, ClientConfig};
use zchat_protocol::Target;

use crate::server_key;
use crate::session::{self, Session};

/// Default broker frontend (the Docker Compose stack and `zchat-server --all-in-one`).
pub const DEFAULT_BROKER: &str = "tcp://127.0.0.1:5555";
/// Default proxy XPUB.
pub const DEFAULT_PROXY: &str = "tcp://127.0.0.1:5557";

/// `zchat`: with no subcommand, the full-screen chat; with one, a scriptable command.
#[derive(Debug, Parser)]
#[command(
    name = "zchat",
    version,
    about = "zchat: a terminal chat over ZeroMQ",
    long_about = "zchat: a terminal chat over ZeroMQ.\n\nWith no subcommand, opens the full-screen chat. \
                  With a subcommand, runs it and exits (0 on success), for scripts, bots and demos.\n\
                  Session state (token) is kept under --home, so two users can work side by side \
                  with two homes."
)]
pub struct Cli {
    /// Broker endpoint for requests, or several separated by commas (requests fail over
    /// from one to the next) [default: the saved session's, else tcp://127.0.0.1:5555].
    #[arg(long, env = "ZCHAT_BROKER", global = true, value_parser = endpoint_list)]
    pub broker: Option<String>,
    /// Proxy endpoint for live messages, or several separated by commas (all are heard at
    /// once) [default: the saved session's, else tcp://127.0.0.1:5557].
    #[arg(long, env = "ZCHAT_PROXY", global = true, value_parser = endpoint_list)]
    pub proxy: Option<String>,
    /// The server's CURVE public key, 40 characters (`zchat-server public-key` prints it):
    /// traffic is encrypted and the server proven to be the deployment's [default: the key
    /// saved with the session for this server]. Saved at the next sign-in.
    #[arg(
        long,
        env = "ZCHAT_SERVER_KEY",
        global = true,
        conflicts_with = "plaintext"
    )]
    pub server_key: Option<String>,
    /// Turn CURVE off, only for a server started with --plaintext: passwords, tokens and
    /// messages then cross the network in clear (a warning says so).
    #[arg(long, env = "ZCHAT_PLAINTEXT", global = true, value_parser = clap::builder::FalseyValueParser::new())]
    pub plaintext: bool,
    /// Directory for the saved session [default: the user's config dir + /zchat].
    #[arg(long, env = "ZCHAT_HOME", global = true)]
    pub home: Option<PathBuf>,
    /// How long to wait for each reply before retrying, in milliseconds (3 attempts).
    #[arg(long, env = "ZCHAT_TIMEOUT_MS", global = true, default_value_t = 3000)]
    pub timeout_ms: u64,
    /// Don't ring the terminal bell when someone mentions you (full-screen chat and demo).
    #[arg(long, env = "ZCHAT_NO_BELL", global = true, value_parser = clap::builder::FalseyValueParser::new())]
    pub no_bell: bool,
    /// The subcommand; none opens the full-screen chat.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A password from `--password`, `ZCHAT_PASSWORD`, or an interactive prompt.
#[derive(Debug, clap::Args)]
pub struct PasswordArg {
    /// The password (prefer the env var or the prompt: arguments show up in `ps`).
    #[arg(long, env = "ZCHAT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// Every scriptable subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account.
    Register {
        /// User name: 2-24 of a-z A-Z 0-9 _ -, starting with a letter.
        user: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Sign in and save the session under --home.
    Login {
        /// User name.
        user: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Revoke the saved session on the server and forget it.
    Logout,
    /// Show the signed-in user and joined channels.
    Whoami,
    /// List all channels (members, unread, description).
    Channels,
    /// Create a channel (and join it).
    Create {
        /// Channel, e.g. '#dev' (1-32 of a-z 0-9 - _).
        channel: String,
        /// Description shown in listings.
        #[arg(long, env = "ZCHAT_DESC", default_value = "")]
        desc: String,
    },
    /// Join a channel.
    Join {
        /// Channel, e.g. '#dev'.
        channel: String,
    },
    /// Leave a channel.
    Leave {
        /// Channel, e.g. '#dev'.
        channel: String,
    },
    /// List users.
    Users,
    /// List direct-message conversations with unread counts.
    Dms,
    /// Send a message to '#channel' or '@user'.
    Send {
        /// '#channel' or '@user'.
        target: String,
        /// The text (several words are joined with spaces; '-' reads stdin).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        /// Idempotency key: sending again with the same nonce never stores the message twice
        /// (default: random). Use it to retry safely after "server unreachable".
        #[arg(long, env = "ZCHAT_NONCE")]
        nonce: Option<u64>,
    },
    /// Print stored messages of '#channel' or '@user', oldest first.
    History {
        /// '#channel' or '@user'.
        target: String,
        /// How many messages (at most 500).
        #[arg(long, env = "ZCHAT_HISTORY_LIMIT", default_value_t = 50)]
        limit: u32,
        /// Only messages after this sequence number.
        #[arg(long, env = "ZCHAT_HISTORY_AFTER")]
        after: Option<u64>,
        /// Only messages before this sequence number.
        #[arg(long, env = "ZCHAT_HISTORY_BEFORE")]
        before: Option<u64>,
        /// One JSON object per line.
        #[arg(long, env = "ZCHAT_JSON", value_parser = clap::builder::FalseyValueParser::new())]
        json: bool,
    },
    /// A self-contained live demo: a local backend in a temp dir, demo users, channels and
    /// history, bots chatting, and the full-screen chat signed in as the demo user.
    /// `--broker`/`--proxy` set where the demo's backend listens (free ports by default).
    /// `zchat demo --join` in a second terminal joins the running demo as another user.
    #[cfg(feature = "demo")]
    Demo {
        /// Join the demo running in another terminal (found through `demo.json` in the zchat
        /// home, which a running demo writes) as another user, instead of starting one.
        #[arg(long, conflicts_with_all = ["data_dir", "bots", "pace"])]
        join: bool,
        /// With --join: the user to join as (registered with the demo password if new).
        #[arg(
            long = "as",
            value_name = "USER",
            default_value = "guest",
            requires = "join"
        )]
        user: String,
        /// Keep the demo's database here (reused across runs) instead of a temp dir.
        #[arg(long, env = "ZCHAT_DEMO_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// How many bots chat (0 for none).
        #[arg(long, env = "ZCHAT_DEMO_BOTS", default_value_t = 3)]
        bots: usize,
        /// Average seconds between two messages of one bot.
        #[arg(long, env = "ZCHAT_DEMO_PACE", default_value_t = 8.0)]
        pace: f64,
    },
    /// Print live messages as they arrive until interrupted: every joined channel and your
    /// DMs, or only the given '#channel' / '@user' targets.
    Tail {
        /// '#channel' or '@user' targets (default: all joined channels and all DMs).
        targets: Vec<String>,
        /// One JSON object per line.
        #[arg(long, env = "ZCHAT_JSON", value_parser = clap::builder::FalseyValueParser::new())]
        json: bool,
    },
}

/// The resolved connection settings and home.
pub struct Env {
    /// Broker endpoint.
    pub broker: String,
    /// Proxy endpoint.
    pub proxy: String,
    /// Session directory.
    pub home: PathBuf,
    /// Reply timeout.
    pub timeout: Duration,
    /// Ring the bell on mentions.
    pub bell: bool,
    /// `--broker` as given (flag or environment), before falling back to the saved
    /// session's: where `zchat demo` binds its broker.
    pub broker_flag: Option<String>,
    /// `--proxy` as given: where `zchat demo` binds its proxy.
    pub proxy_flag: Option<String>,
    /// `--server-key` as given (flag or environment), unchecked.
    pub server_key_flag: Option<String>,
    /// The key saved for these endpoints (with the session, or remembered for the broker).
    pub saved_key: Option<String>,
    /// `--plaintext`: no CURVE, explicitly.
    pub plaintext: bool,
}

impl Cli {
    /// Resolves endpoints: flag/env, else the saved session's, else the defaults.
    pub fn env(&self) -> Env {
        let home = self.home.clone().unwrap_or_else(session::default_home);
        let saved = Session::load(&home);
        let broker = self
            .broker
            .clone()
            .or_else(|| saved.as_ref().map(|s| s.broker.clone()))
            .unwrap_or_else(|| DEFAULT_BROKER.into());
        let proxy = self
            .proxy
            .clone()
            .or_else(|| saved.as_ref().map(|s| s.proxy.clone()))
            .unwrap_or_else(|| DEFAULT_PROXY.into());
        Env {
            saved_key: Session::saved_key(&home, &broker, &proxy),
            server_key_flag: self.server_key.clone(),
            plaintext: self.plaintext,
            broker,
            proxy,
            home,
            timeout: Duration::from_millis(self.timeout_ms.max(100)),
            bell: !self.no_bell,
            broker_flag: self.broker.clone(),
            proxy_flag: self.proxy.clone(),
        }
    }
}

impl Env {
    /// Opens the full-screen chat.
    /// A malformed `--server-key` stops here; a missing one is asked for on the sign-in
    /// form (prefilled with the flag's or the saved key).
    pub async fn run_tui(self) -> Result<()> {
        if let Some(key) = &self.server_key_flag {
            server_key::check(key, "--server-key").map_err(|e| anyhow!(e))?;
        }
        if self.plaintext {
            eprintln!("{}", server_key::PLAINTEXT_WARNING);
        }
        crate::tui::run(crate::tui::TuiOptions {
            broker: self.broker,
            proxy: self.proxy,
            home: self.home,
            bell: self.bell,
            notice: None,
            server_key: self.server_key_flag.or(self.saved_key),
            plaintext: self.plaintext,
        })
        .await
    }

    /// The server key to connect with (`None`: `--plaintext`, warned about on stderr), or
    /// an error that says how to get one.
    pub fn server_key(&self) -> Result<Option<String>> {
        let key = server_key::resolve(
            self.server_key_flag.as_deref(),
            self.saved_key.as_deref(),
            self.plaintext,
        )
        .map_err(|e| anyhow!(e))?;
        if key.is_none() {
            eprintln!("{}", server_key::PLAINTEXT_WARNING);
        }
        Ok(key)
    }

    /// A client for these endpoints, with the server key (or `--plaintext`).
    pub fn client(&self) -> Result<Client> {
        let mut cfg =
            ClientConfig::new(&self.broker, &self.proxy).with_server_key(self.server_key()?);
        cfg.request_timeout = self.timeout;
        Ok(Client::start(cfg)?)
    }

    /// A client carrying the saved session's token, or an error saying to log in.
    pub fn signed_in(&self) -> Result<(Client, Session)> {
        let session = Session::load(&self.home).ok_or_else(|| {
            anyhow!(
                "not signed in (no valid session in {}); run `zchat login USER`",
                self.home.display()
            )
        })?;
        let client = self.client()?;
        client.set_token(Some(session.token.clone()));
        Ok((client, session))
    }
}

pub(super) fn password(arg: PasswordArg, user: &str) -> Result<String> {
    if let Some(p) = arg.password {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no password: pass --password, set ZCHAT_PASSWORD, or run in a terminal to be prompted"
        );
    }
    rpassword::prompt_password(format!("password for {user}: ")).context("reading the password")
}

/// `--broker`/`--proxy`: one endpoint or a comma-separated list, checked (no empty item)
/// and written the one way it is saved and compared (items trimmed, joined by `,`).
fn endpoint_list(s: &str) -> std::result::Result<String, String> {
    zchat_client::endpoints::normalize_list(s).map_err(|e| e.to_string())
}

pub(super) fn parse_target(s: &str) -> Result<Target> {
    Target::parse(s).map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from(["zchat", "history", "#dev", "--json", "--limit", "7"])
            .expect("parses");
        match cli.command {
            Some(Command::History { json, limit, .. }) => assert!(json && limit == 7),
            other => panic!("{other:?}"),
        }
        #[cfg(feature = "demo")]
        {
            let cli =
                Cli::try_parse_from(["zchat", "demo", "--join", "--as", "mei"]).expect("parses");
            assert!(
                matches!(cli.command, Some(Command::Demo { join: true, ref user, .. }) if user == "mei")
            );
            let cli = Cli::try_parse_from(["zchat", "demo", "--broker", "tcp://127.0.0.1:7"])
                .expect("the demo binds the given broker");
            assert_eq!(cli.env().broker_flag.as_deref(), Some("tcp://127.0.0.1:7"));
            assert!(Cli::try_parse_from(["zchat", "demo", "--as", "mei"]).is_err());
            assert!(Cli::try_parse_from(["zchat", "demo", "--join", "--bots", "2"]).is_err());
        }
        let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        let cli = Cli::try_parse_from(["zchat", "whoami", "--server-key", key]).expect("parses");
        assert_eq!(cli.env().server_key_flag.as_deref(), Some(key));
        let cli = Cli::try_parse_from(["zchat", "--plaintext", "users"]).expect("parses");
        assert!(cli.plaintext);
        assert!(
            Cli::try_parse_from(["zchat", "users", "--plaintext", "--server-key", key]).is_err(),
            "a key and --plaintext contradict each other"
        );
        let cli = Cli::try_parse_from([
            "zchat",
            "whoami",
            "--broker",
            "tcp://127.0.0.1:1, tcp://127.0.0.1:2",
        ])
        .expect("a list of brokers");
        assert_eq!(
            cli.env().broker,
            "tcp://127.0.0.1:1,tcp://127.0.0.1:2",
            "trimmed, as saved"
        );
        for bad in [
            "tcp://127.0.0.1:1,",
            "",
            "tcp://127.0.0.1:1,,tcp://127.0.0.1:2",
        ] {
            let e = Cli::try_parse_from(["zchat", "whoami", "--proxy", bad])
                .expect_err(bad)
                .to_string();
            assert!(e.contains("empty"), "{bad:?}: {e}");
        }
        let cli = Cli::try_parse_from(["zchat"]).expect("no subcommand is the full-screen chat");
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["zchat", "send", "@bob", "hello", "world", "--nonce", "5"])
            .expect("parses");
        match cli.command {
            Some(Command::Send { text, nonce, .. }) => {
                assert_eq!(
                    (text.join(" "), nonce),
                    ("hello world".to_string(), Some(5))
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
