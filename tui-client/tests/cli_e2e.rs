//! The `zchat` binary's subcommands against the real backend binaries: two users chat,
//! `zchat tail` receives live, and survives a server restart and a `kill -9` without losing
//! or duplicating a message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Tail;
use zchat_backend::testkit::Cluster;

const ZCHAT: &str = env!("CARGO_BIN_EXE_zchat");

fn zchat(cluster: &Cluster, home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(ZCHAT)
        .args(args)
        .env("ZCHAT_HOME", home)
        .env("ZCHAT_BROKER", cluster.broker_endpoint())
        .env("ZCHAT_PROXY", cluster.proxy_endpoint())
        .env("ZCHAT_SERVER_KEY", cluster.public_key().expect("CURVE"))
        .env("ZCHAT_PASSWORD", "correct horse battery")
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .expect("run zchat");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(cluster: &Cluster, home: &Path, args: &[&str]) -> String {
    let (success, stdout, stderr) = zchat(cluster, home, args);
    assert!(success, "zchat {args:?} failed: {stderr}");
    stdout
}

/// `zchat tail --json` as the user of `home`.
fn tail(cluster: &Cluster, home: &Path) -> Tail {
    let mut command = Command::new(ZCHAT);
    command
        .args(["tail", "--json"])
        .env("ZCHAT_HOME", home)
        .env("ZCHAT_BROKER", cluster.broker_endpoint())
        .env("ZCHAT_PROXY", cluster.proxy_endpoint())
        .env("ZCHAT_SERVER_KEY", cluster.public_key().expect("CURVE"));
    Tail::spawn(command)
}

#[test]
fn two_users_chat_with_the_cli_and_tail_survives_restart_and_kill() {
    let mut cluster = Cluster::start().expect("cluster");
    let homes = tempfile::tempdir().expect("tmp");
    let (a, b) = (homes.path().join("alice"), homes.path().join("bob"));

    assert!(ok(&cluster, &a, &["register", "alice"]).contains("registered alice"));
    ok(&cluster, &a, &["login", "alice"]);
    ok(&cluster, &b, &["register", "bob"]);
    ok(&cluster, &b, &["login", "bob"]);
    assert!(ok(&cluster, &b, &["whoami"]).starts_with("bob"));
    ok(
        &cluster,
        &a,
        &["create", "#lobby", "--desc", "Sala de espera ☕"],
    );
    assert!(ok(&cluster, &b, &["join", "#lobby"]).contains("2 members"));
    let channels = ok(&cluster, &b, &["channels"]);
    assert!(
        channels.contains("#lobby") && channels.contains("Sala de espera ☕"),
        "{channels}"
    );

    let tail = tail(&cluster, &b);
    let mut got = Vec::new();
    // Wait until the tail is live: it delivers a probe message (one is posted every poll).
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut probes_sent, mut last_probe) = (0, String::new());
    while got.is_empty() {
        assert!(Instant::now() < deadline, "tail never went live");
        probes_sent += 1;
        last_probe = format!("probe {probes_sent}");
        ok(&cluster, &a, &["send", "#lobby", &last_probe]);
        tail.collect(&mut got, 1, Duration::from_millis(500));
    }
    // Every later probe arrives too, in order: read up to the last one posted.
    tail.collect_until_text(&mut got, &last_probe, deadline);

    let mut expected: Vec<(String, String)> = Vec::new();
    let mut send = |cluster: &Cluster, home: &Path, target: &str, text: &str| {
        let out = ok(cluster, home, &["send", target, text]);
        assert!(out.starts_with("sent"), "{out}");
        expected.push((target.to_string(), text.to_string()));
    };
    send(&cluster, &a, "#lobby", "bom dia, Bob! 你好 🎉");
    send(&cluster, &a, "@bob", "um segredo só pra você");
    send(&cluster, &b, "@alice", "obrigado");

    cluster.restart_server().expect("restart");
    send(&cluster, &a, "#lobby", "after restart");
    cluster.kill_server();
    cluster.start_server().expect("start");
    cluster.wait_ready(Duration::from_secs(20)).expect("ready");
    send(&cluster, &a, "#lobby", "after kill -9");
    send(&cluster, &a, "@bob", "dm after kill -9");

    let probes = got.len();
    tail.collect(&mut got, probes + expected.len(), Duration::from_secs(30));
    let texts: Vec<&str> = got[probes..]
        .iter()
        .map(|v| v["text"].as_str().unwrap_or(""))
        .collect();
    let want: Vec<&str> = expected.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts, want,
        "tail shows every message exactly once, in order"
    );
    // Per-conversation seqs are strictly increasing.
    let mut last = std::collections::HashMap::new();
    for v in &got {
        let conv = v["conversation"].as_str().unwrap_or("").to_string();
        let seq = v["seq"].as_u64().unwrap_or(0);
        let prev = last.insert(conv.clone(), seq).unwrap_or(0);
        assert!(seq > prev, "{conv}: {seq} after {prev}");
    }
    assert_eq!(got[probes + 1]["conversation"], "@alice");

    // History and DM list from the other side.
    let history = ok(&cluster, &b, &["history", "#lobby", "--limit", "2"]);
    assert!(
        history.contains("after restart") && history.contains("after kill -9"),
        "{history}"
    );
    let dms = ok(&cluster, &b, &["dms"]);
    assert!(dms.contains("@alice") && dms.contains("1 unread"), "{dms}");
    let json = ok(&cluster, &a, &["history", "@bob", "--json"]);
    assert_eq!(json.lines().count(), 3);

    // A retried send with the same --nonce is stored once.
    for _ in 0..2 {
        ok(
            &cluster,
            &a,
            &["send", "#lobby", "exactly once", "--nonce", "4242"],
        );
    }
    let recent = ok(&cluster, &b, &["history", "#lobby", "--limit", "5"]);
    assert_eq!(recent.matches("exactly once").count(), 1, "{recent}");

    // No duplicates arrive late either: after everything above, a marker posted now must be
    // the next line but one (the nonce's message, once) — nothing else may come before it.
    ok(&cluster, &a, &["send", "#lobby", "end marker"]);
    let seen = got.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    tail.collect_until_text(&mut got, "end marker", deadline);
    let late: Vec<&str> = got[seen..]
        .iter()
        .map(|v| v["text"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(late, ["exactly once", "end marker"], "a duplicate arrived");

    // Errors: one line, non-zero exit.
    let (success, _, stderr) = zchat(&cluster, &a, &["send", "#nowhere", "hello"]);
    assert!(!success);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("zchat: error:") && stderr.contains("not_found"),
        "{stderr}"
    );
    let (success, _, stderr) = zchat(&cluster, &a, &["send", "lobby", "hello"]);
    assert!(!success && stderr.contains("#channel or @user"), "{stderr}");

    ok(&cluster, &a, &["logout"]);
    let (success, _, stderr) = zchat(&cluster, &a, &["whoami"]);
    assert!(!success && stderr.contains("not signed in"), "{stderr}");
}

#[test]
fn unreachable_backend_fails_with_one_line() {
    let homes = tempfile::tempdir().expect("tmp");
    // A port that accepts TCP connections and never speaks ZMTP, held for the whole test:
    // nothing else can take it, and no reply can ever come.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let out = Command::new(ZCHAT)
        .args(["register", "alice", "--password", "whatever123"])
        .env("ZCHAT_HOME", homes.path())
        .env("ZCHAT_BROKER", format!("tcp://127.0.0.1:{port}"))
        .env(
            "ZCHAT_SERVER_KEY",
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
        )
        .env("ZCHAT_TIMEOUT_MS", "300")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unreachable"), "{stderr}");
}
