//! `zchat-server --db`: bad URLs and an unreachable PostgreSQL are clear errors with a
//! non-zero exit, never a hang or a panic, and a password in the URL is never echoed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `zchat-server` with `args` (plaintext: no keys needed) and waits, bounded.
fn server(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zchat-server"))
        .args(args)
        .args([
            "--plaintext",
            "--broker",
            "tcp://127.0.0.1:1",
            "--proxy",
            "tcp://127.0.0.1:1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zchat-server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("zchat-server {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn a_bad_db_url_is_named_and_nothing_starts() {
    for (url, says) in [
        ("mysql://zchat:hunter2@db/zchat", "unsupported database URL"),
        ("sqlite:", "names no file"),
        (
            "postgres://zchat:hunter2@db:port/zchat",
            "bad PostgreSQL URL",
        ),
        ("postgres://zchat:hunter2@db:5432", "names no database"),
    ] {
        let out = server(&["--db", url]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: exited 0");
        assert!(err.contains(says), "{url}: {err}");
        assert!(
            !err.contains("hunter2"),
            "{url}: the password was echoed: {err}"
        );
        assert!(!err.contains("panicked"), "{url}: {err}");
    }
}

#[test]
fn an_unreachable_postgres_at_start_is_a_clear_error() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("postgres://zchat:hunter2@127.0.0.1:{port}/zchat?connect_timeout=5");
    let out = server(&["--db", &url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}/zchat")),
        "names the database: {err}"
    );
    assert!(!err.contains("hunter2"), "the password was echoed: {err}");
}
