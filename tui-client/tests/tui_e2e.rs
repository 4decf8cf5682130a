//! End-to-end: the real `zchat` binary in tmux against the real backend binaries.
//!
//! Two users sign in through the form; alice posts in two channels and sends bob a DM; bob's
//! screen shows the message, the unread counts and the DM. Then the server is killed:
//! both screens say "○ reconnecting…" within seconds, alice types a message meanwhile, the
//! server comes back, and bob's feed resumes with that message exactly once. A saved session
//! started while the server is down shows "connecting", never an empty account. Two people
//! share one `zchat demo`: the second joins with `zchat demo --join`. Everything runs over
//! CURVE with the cluster's (or the demo's) server key.
//!
//! Needs `tmux` (CI installs it); without it the test says so and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use zchat_backend::testkit::Cluster;

const PASSWORD: &str = "correct horse battery";

struct Tmux {
    socket: String,
    /// Each `zchat`'s stderr file, shown when tmux fails (a `zchat` that exited takes its
    /// session, and with the last one the tmux server, with it).
    logs: std::cell::RefCell<Vec<std::path::PathBuf>>,
}

impl Tmux {
    fn new() -> Option<Tmux> {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        // One tmux server per test: tests of this file run in parallel in one process.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ok.then(|| Tmux {
            socket: format!("zchat-e2e-{}-{n}", std::process::id()),
            logs: std::cell::RefCell::new(Vec::new()),
        })
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .output()
            .expect("running tmux");
        if !out.status.success() {
            let logs: Vec<String> = self
                .logs
                .borrow()
                .iter()
                .map(|p| {
                    let text = std::fs::read_to_string(p).unwrap_or_default();
                    let tail = &text[text.len().saturating_sub(2000)..];
                    format!("--- {} ---\n{tail}", p.display())
                })
                .collect();
            panic!(
                "tmux {args:?}: {}\nthe zchat processes' stderr:\n{}",
                String::from_utf8_lossy(&out.stderr),
                logs.join("\n")
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `zchat` for one user in its own tmux session, 100×30.
    fn start(&self, name: &str, home: &Path, cluster: &Cluster) {
        let args = format!(
            "--broker '{}' --proxy '{}' --server-key '{}'",
            cluster.broker_endpoint(),
            cluster.proxy_endpoint(),
            cluster.public_key().expect("CURVE"),
        );
        self.start_args(name, home, &args, 100);
    }

    /// Starts `zchat ARGS` with `ZCHAT_HOME=home` in its own tmux session, `width`×30.
    fn start_args(&self, name: &str, home: &Path, args: &str, width: u16) {
        std::fs::create_dir_all(home).unwrap();
        let log = home.join(format!("{name}.stderr.log"));
        // The exit status too, should `zchat` end.
        let cmd = format!(
            "env TERM=xterm-256color ZCHAT_HOME='{}' '{}' {args} 2>'{}'; echo \"zchat exited with $?\" >>'{}'",
            home.display(),
            env!("CARGO_BIN_EXE_zchat"),
            log.display(),
            log.display(),
        );
        self.logs.borrow_mut().push(log);
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &width.to_string(),
            "-y",
            "30",
            &cmd,
        ]);
    }

    fn screen(&self, name: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", name])
    }

    fn type_text(&self, name: &str, text: &str) {
        self.run(&["send-keys", "-t", name, "-l", text]);
    }

    fn key(&self, name: &str, key: &str) {
        self.run(&["send-keys", "-t", name, key]);
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `timeout`.
    fn wait(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen(name);
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("{name}: timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn wait_text(&self, name: &str, needle: &str, timeout: Duration) -> String {
        self.wait(name, needle, timeout, |s| s.contains(needle))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The sidebar line of a conversation.
fn sidebar_line<'a>(screen: &'a str, label: &str) -> Option<&'a str> {
    screen
        .lines()
        .map(|l| l.split('│').next().unwrap_or(""))
        .find(|l| l.trim_start_matches(['›', ' ']).starts_with(label))
}

fn sign_in(tmux: &Tmux, name: &str) {
    tmux.wait_text(name, "Sign in", Duration::from_secs(30));
    tmux.type_text(name, name);
    tmux.key(name, "Tab");
    tmux.type_text(name, PASSWORD);
    tmux.key(name, "Enter");
    tmux.wait_text(name, "● online", Duration::from_secs(30));
}

#[test]
fn two_users_chat_live_across_a_server_restart() {
    let Some(tmux) = Tmux::new() else {
        eprintln!("SKIPPED tui_e2e: tmux is not installed (CI installs it)");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cluster = Cluster::start().unwrap();
    let config = cluster.client_config();

    // Accounts and channels, set up through the client library.
    rt.block_on(async {
        let (alice, _) = zchat_tui::demo::connect_as("alice", PASSWORD, &config)
            .await
            .unwrap();
        let (bob, _) = zchat_tui::demo::connect_as("bob", PASSWORD, &config)
            .await
            .unwrap();
        for ch in ["general", "random"] {
            alice
                .create_channel(ch, &format!("the {ch} channel"))
                .await
                .unwrap();
            bob.join(ch).await.unwrap();
        }
    });

    let homes = tempfile::tempdir().unwrap();
    let (alice_home, bob_home) = (homes.path().join("alice"), homes.path().join("bob"));
    tmux.start("alice", &alice_home, &cluster);
    tmux.start("bob", &bob_home, &cluster);
    sign_in(&tmux, "alice");
    // A wrong password is reported on the form; correcting it signs in.
    tmux.wait_text("bob", "Sign in", Duration::from_secs(30));
    tmux.type_text("bob", "bob");
    tmux.key("bob", "Tab");
    tmux.type_text("bob", "not the password");
    tmux.key("bob", "Enter");
    tmux.wait_text(
        "bob",
        "wrong user name or password",
        Duration::from_secs(60),
    );
    for _ in 0.."not the password".len() {
        tmux.key("bob", "BSpace");
    }
    tmux.type_text("bob", PASSWORD);
    tmux.key("bob", "Enter");
    tmux.wait_text("bob", "● online", Duration::from_secs(60));
    let long = Duration::from_secs(30);
    tmux.wait_text("bob", "#general — the general channel", long);
    tmux.wait_text("alice", "#general — the general channel", long);

    // alice: a channel message (bob is looking at #general), one in #random, and a DM.
    tmux.type_text("alice", "hello from alice ☕ 你好");
    tmux.key("alice", "Enter");
    tmux.type_text("alice", "/join #random");
    tmux.key("alice", "Enter");
    tmux.wait_text("alice", "#random — the random channel", long);
    tmux.type_text("alice", "news in random");
    tmux.key("alice", "Enter");
    tmux.type_text("alice", "/dm @bob psst, a secret");
    tmux.key("alice", "Enter");
    tmux.wait_text("alice", "psst, a secret", long);

    let screen = tmux.wait(
        "bob",
        "the message, the unread counts and the DM",
        long,
        |s| {
            s.contains("hello from alice ☕ 你好")
                && sidebar_line(s, "#random").is_some_and(|l| l.trim_end().ends_with('1'))
                && sidebar_line(s, "@alice").is_some_and(|l| l.trim_end().ends_with('1'))
        },
    );
    println!("bob's screen:\n{screen}");

    // Alt+A opens the next unread, DMs and mentions first: the DM shows and its count clears.
    tmux.key("bob", "M-a"); // @alice
    tmux.wait("bob", "the DM opened and read", long, |s| {
        s.contains("psst, a secret")
            && sidebar_line(s, "@alice").is_some_and(|l| !l.trim_end().ends_with('1'))
    });
    tmux.key("bob", "M-a"); // #random
    tmux.wait_text("bob", "news in random", long);
    // The sidebar now reads: Unread #random (open), Channels #general, Direct messages @alice.
    tmux.key("bob", "C-n"); // back to #general
    tmux.wait_text("bob", "#general — the general channel", long);

    // The server goes away: both clients notice within seconds (the heartbeat reports it
    // after 2.5 s of silence; the bound leaves room for a loaded machine); alice types anyway.
    let killed = Instant::now();
    cluster.kill_server();
    tmux.wait_text("bob", "○ reconnecting…", Duration::from_secs(6));
    println!(
        "bob shows ○ reconnecting… {:?} after kill -9",
        killed.elapsed()
    );
    tmux.wait_text("alice", "○ reconnecting…", Duration::from_secs(6));
    tmux.type_text("alice", "/join #general");
    tmux.key("alice", "Enter");
    tmux.type_text("alice", "typed while the server was down");
    tmux.key("alice", "Enter");
    tmux.wait_text("alice", "typed while the server was down", long);

    // It comes back: the feed resumes, the message arrives once.
    let restarted = Instant::now();
    cluster.start_server().unwrap();
    cluster.wait_ready(Duration::from_secs(30)).unwrap();
    let screen = tmux.wait("bob", "the feed to resume", Duration::from_secs(60), |s| {
        s.contains("● online") && s.contains("typed while the server was down")
    });
    println!(
        "bob back online {:?} after the restart",
        restarted.elapsed()
    );
    assert_eq!(
        screen.matches("typed while the server was down").count(),
        1,
        "no duplicates:\n{screen}"
    );
    tmux.wait("alice", "the unsent mark to clear", long, |s| {
        !s.contains("unsent")
    });
    tmux.type_text("alice", "and live again 🎉");
    tmux.key("alice", "Enter");
    tmux.wait_text("bob", "and live again 🎉", long);

    // Quitting restores the terminal (the pane's shell command ends).
    tmux.key("bob", "C-q");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sessions = Command::new("tmux")
            .args(["-L", &tmux.socket, "list-sessions", "-F", "#{session_name}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if !sessions.lines().any(|l| l == "bob") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "bob's zchat did not exit on Ctrl+Q"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stderr = std::fs::read_to_string(bob_home.join("bob.stderr.log")).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "bob's stderr: {stderr}");
}

/// The README's screenshot scene: the demo data on a real backend, the real binary in a
/// 100×30 tmux pane, signed in with a saved session; a live message, a mention elsewhere and
/// a half-typed reply must all show. With `ZCHAT_WRITE_SCREENSHOT=1` the capture also
/// replaces `assets/screenshot.txt`.
#[test]
fn screenshot() {
    let Some(tmux) = Tmux::new() else {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = Cluster::start().unwrap();
    let config = cluster.client_config();
    let data = zchat_tui::demo::DemoData::load().unwrap();
    let session = rt.block_on(zchat_tui::demo::seed(&data, &config)).unwrap();
    let home = tempfile::tempdir().unwrap();
    session.save(home.path()).unwrap();
    tmux.start("demo", home.path(), &cluster);
    tmux.wait_text("demo", "● online", Duration::from_secs(30));
    // Start-up opens the most urgent unread (a DM); the scene is in #general.
    tmux.key("demo", "C-k");
    tmux.type_text("demo", "general");
    tmux.key("demo", "Enter");
    tmux.wait_text("demo", "#general —", Duration::from_secs(30));
    // A live message from a bot, a mention in another channel, and a half-typed reply.
    rt.block_on(async {
        let (mei, _) = zchat_tui::demo::connect_as("mei", &data.password, &config)
            .await
            .unwrap();
        let (bruno, _) = zchat_tui::demo::connect_as("bruno", &data.password, &config)
            .await
            .unwrap();
        let send = |c: &zchat_client::Client, to: &str, text: &str| {
            let (c, text) = (c.clone(), text.to_string());
            let target = zchat_protocol::Target::parse(to).unwrap();
            async move { c.send(&target, &text, None).await.unwrap() }
        };
        send(&mei, "#general", "The new release candidate looks solid 🔥").await;
        send(
            &bruno,
            "#rust",
            "@you can you double-check the migration? 🧐",
        )
        .await;
        send(&mei, "#random", "Tea break 🍵").await;
    });
    tmux.wait_text(
        "demo",
        "release candidate looks solid",
        Duration::from_secs(30),
    );
    tmux.type_text("demo", "Looks great — merci à tous! 🙌");
    let screen = tmux.wait_text("demo", "merci à tous! 🙌", Duration::from_secs(30));
    for expected in [
        "#general",
        "#rust",
        "@bruno",
        "● online",
        "release candidate looks solid",
        "merci à tous",
    ] {
        assert!(
            screen.contains(expected),
            "{expected:?} missing from:\n{screen}"
        );
    }
    if std::env::var_os("ZCHAT_WRITE_SCREENSHOT").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/screenshot.txt");
        std::fs::write(&path, &screen).unwrap();
        println!("{screen}");
    }
}

/// A saved session started while the server is down: the account is shown as connecting
/// (its name, `○ connecting…`, a feed that says it waits for the server) and never as an
/// empty account; when the server comes back the conversations load on their own and no
/// stale "unreachable" notice stays behind.
#[test]
fn saved_session_while_the_server_is_down() {
    let Some(tmux) = Tmux::new() else {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cluster = Cluster::start().unwrap();
    let config = cluster.client_config();
    let session = rt.block_on(async {
        let (carol, session) = zchat_tui::demo::connect_as("carol", PASSWORD, &config)
            .await
            .unwrap();
        carol
            .create_channel("plans", "carol's plans")
            .await
            .unwrap();
        session
    });
    let home = tempfile::tempdir().unwrap();
    session.save(home.path()).unwrap();
    cluster.kill_server();
    tmux.start("carol", home.path(), &cluster);
    let screen = tmux.wait(
        "carol",
        "the connecting state",
        Duration::from_secs(30),
        |s| s.contains("○ connecting…") && s.contains("Waiting for the server"),
    );
    assert!(screen.contains("carol"), "{screen}");
    // Long enough for the first attempts to load the conversations to fail.
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until {
        let s = tmux.screen("carol");
        assert!(!s.contains("Welcome to zchat"), "an empty account:\n{s}");
        assert!(
            !s.contains("● online"),
            "online while the server is down:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    cluster.start_server().unwrap();
    cluster.wait_ready(Duration::from_secs(30)).unwrap();
    let screen = tmux.wait(
        "carol",
        "the account to load",
        Duration::from_secs(30),
        |s| s.contains("● online") && s.contains("#plans — carol's plans"),
    );
    assert!(!screen.contains("unreachable"), "a stale notice:\n{screen}");
}

/// Two people in one demo: `zchat demo` (bound where `--broker` says) in one terminal,
/// `zchat demo --join` in a second; each sees the other's messages live.
#[test]
fn two_people_share_one_demo() {
    let Some(tmux) = Tmux::new() else {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let broker = {
        // A port free a moment ago; the demo binds it.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("tcp://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    tmux.start_args(
        "presenter",
        home.path(),
        &format!("demo --bots 0 --broker {broker}"),
        100,
    );
    // Seeding the demo hashes a few passwords: slow in a debug build on a busy machine.
    let long = Duration::from_secs(120);
    // The demo says how to join it, and records where it listens.
    tmux.wait_text("presenter", "demo --join", long);
    tmux.wait_text("presenter", "● online", long);
    let recorded = std::fs::read_to_string(home.path().join("demo.json")).unwrap();
    assert!(recorded.contains(&broker), "{recorded}");
    // Over CURVE: the demo records its server key for `--join`, and the plain command it
    // prints carries it.
    let recorded: serde_json::Value = serde_json::from_str(&recorded).unwrap();
    let key = recorded["server_key"]
        .as_str()
        .expect("the demo's server key");
    assert_eq!(key.len(), 40, "{recorded}");
    let printed = std::fs::read_to_string(home.path().join("presenter.stderr.log")).unwrap();
    assert!(
        printed.contains(&format!("--server-key '{key}'")),
        "{printed}"
    );

    tmux.start_args("guest", home.path(), "demo --join", 100);
    tmux.wait_text("guest", "● online", long);
    for name in ["presenter", "guest"] {
        tmux.type_text(name, "/join #general");
        tmux.key(name, "Enter");
        tmux.wait_text(name, "#general — ", long);
    }
    tmux.type_text("guest", "hello from the second terminal");
    tmux.key("guest", "Enter");
    tmux.wait_text("presenter", "hello from the second terminal", long);
    tmux.type_text("presenter", "welcome aboard, guest");
    tmux.key("presenter", "Enter");
    let screen = tmux.wait_text("guest", "welcome aboard, guest", long);
    assert!(screen.contains(" guest "), "{screen}");

    // The presenter quits: the demo stops, removes its file, and the guest notices.
    tmux.key("presenter", "C-q");
    tmux.wait_text("guest", "○ reconnecting…", long);
    assert!(!home.path().join("demo.json").exists());
}
