//! `zchat` with comma-separated endpoint lists against the real backend binaries: every
//! subcommand fails over past a broker that never answers, and `zchat tail` hearing the
//! same proxy twice (every event twice) prints each message once, in order. An empty item
//! in a list is refused in one line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Tail;
use zchat_backend::testkit::Cluster;

const ZCHAT: &str = env!("CARGO_BIN_EXE_zchat");

/// The endpoints every command here is given: a mute broker first (it accepts TCP and never
/// speaks ZMTP), then the real one; the real proxy twice.
struct Lists {
    broker: String,
    proxy: String,
    key: String,
}

impl Lists {
    fn new(cluster: &Cluster, mute: &TcpListener) -> Lists {
        let dead = format!("tcp://{}", mute.local_addr().expect("addr"));
        let proxy = cluster.proxy_endpoint();
        Lists {
            broker: format!("{dead},{}", cluster.broker_endpoint()),
            proxy: format!("{proxy}, {proxy}"),
            key: cluster.public_key().expect("CURVE"),
        }
    }

    fn command(&self, home: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(ZCHAT);
        cmd.args(args)
            .env("ZCHAT_HOME", home)
            .env("ZCHAT_BROKER", &self.broker)
            .env("ZCHAT_PROXY", &self.proxy)
            .env("ZCHAT_SERVER_KEY", &self.key)
            .env("ZCHAT_PASSWORD", "correct horse battery")
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        cmd
    }

    fn ok(&self, home: &Path, args: &[&str]) -> String {
        let out = self.command(home, args).output().expect("run zchat");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "zchat {args:?} failed: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[test]
fn subcommands_and_tail_work_with_endpoint_lists() {
    let cluster = Cluster::start().expect("cluster");
    let mute = TcpListener::bind("127.0.0.1:0").expect("bind");
    let lists = Lists::new(&cluster, &mute);
    let homes = tempfile::tempdir().expect("tmp");
    let (a, b) = (homes.path().join("alice"), homes.path().join("bob"));
    for (home, user) in [(&a, "alice"), (&b, "bob")] {
        assert!(lists.ok(home, &["register", user]).contains("registered"));
        lists.ok(home, &["login", user]);
    }
    lists.ok(&a, &["create", "#lobby"]);
    lists.ok(&b, &["join", "#lobby"]);
    // The session remembers the lists (as written once, trimmed): whoami needs no flags.
    let saved = std::fs::read_to_string(b.join("session.json")).expect("session");
    let proxy = cluster.proxy_endpoint();
    assert!(saved.contains(&format!("{proxy},{proxy}")), "{saved}");
    let out = Command::new(ZCHAT)
        .arg("whoami")
        .env("ZCHAT_HOME", &b)
        .env_remove("ZCHAT_BROKER")
        .env_remove("ZCHAT_PROXY")
        .env_remove("ZCHAT_SERVER_KEY")
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("bob"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let tail = Tail::spawn(lists.command(&b, &["tail", "--json"]));
    // Wait until the tail is live: it prints a probe message (one is posted every poll).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got: Vec<serde_json::Value> = Vec::new();
    let mut n = 0;
    while got.is_empty() {
        assert!(Instant::now() < deadline, "tail never went live");
        n += 1;
        lists.ok(&a, &["send", "#lobby", &format!("probe {n}")]);
        got.extend(tail.next(Duration::from_millis(500)));
    }
    let first = got[0]["seq"].as_u64().expect("seq");
    let mut want: Vec<u64> = (first..=n).collect();
    for i in 1..=10 {
        let out = lists.ok(&a, &["send", "#lobby", &format!("m{i}")]);
        assert!(out.starts_with("sent"), "{out}");
        want.push(n + i);
    }
    while got.len() < want.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tail.next(left) {
            Some(v) => got.push(v),
            None => panic!("tail stopped at {} of {}: {got:?}", got.len(), want.len()),
        }
    }
    // Nothing more comes: no copy from the second pipe.
    assert!(
        tail.next(Duration::from_millis(500)).is_none(),
        "a copy was printed"
    );
    let seqs: Vec<u64> = got
        .iter()
        .map(|v| v["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, want, "every message once, in order");
    assert_eq!(got.last().expect("lines")["text"], "m10");
    drop(mute);
}

#[test]
fn an_empty_item_in_a_list_is_refused_in_one_line() {
    let homes = tempfile::tempdir().expect("tmp");
    for (var, value) in [
        ("ZCHAT_BROKER", "tcp://127.0.0.1:5555,"),
        ("ZCHAT_PROXY", "tcp://127.0.0.1:5557,,tcp://127.0.0.1:5558"),
    ] {
        let out = Command::new(ZCHAT)
            .arg("whoami")
            .env("ZCHAT_HOME", homes.path())
            .env(var, value)
            .output()
            .expect("run");
        assert!(!out.status.success(), "{var}={value} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("empty endpoint"), "{var}: {stderr}");
    }
}
