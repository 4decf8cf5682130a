//! The `zchat` binary over CURVE: the server key from `--server-key`, saved with the
//! session, refused when malformed or missing with a sentence saying where it comes from,
//! and a wrong key or `--plaintext` against a CURVE backend failing fast with an error
//! that names the key, never a hang.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zchat_backend::testkit::Cluster;

const ZCHAT: &str = env!("CARGO_BIN_EXE_zchat");
/// A well-formed key that is not the cluster's (ZeroMQ RFC 26's example server key).
const OTHER_KEY: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

/// Runs `zchat args` against `cluster` with a 1 s reply timeout and no key but the
/// arguments'; returns (success, stdout, stderr, how long it took).
fn zchat(cluster: &Cluster, home: &Path, args: &[&str]) -> (bool, String, String, Duration) {
    let started = Instant::now();
    let out = Command::new(ZCHAT)
        .args(args)
        .env_remove("ZCHAT_SERVER_KEY")
        .env_remove("ZCHAT_PLAINTEXT")
        .env("ZCHAT_HOME", home)
        .env("ZCHAT_BROKER", cluster.broker_endpoint())
        .env("ZCHAT_PROXY", cluster.proxy_endpoint())
        .env("ZCHAT_PASSWORD", "correct horse battery")
        .env("ZCHAT_TIMEOUT_MS", "1000")
        .stdin(Stdio::null())
        .output()
        .expect("run zchat");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn the_key_is_given_once_and_saved_with_the_session() {
    let cluster = Cluster::start().expect("cluster");
    let key = cluster.public_key().expect("CURVE");
    let home = tempfile::tempdir().expect("tmp");
    let home = home.path();

    let (ok, out, err, _) = zchat(&cluster, home, &["register", "alice", "--server-key", &key]);
    assert!(ok && out.contains("registered alice"), "{out}{err}");
    // Remembered for the broker by the register: login needs no flag either.
    let (ok, out, err, _) = zchat(&cluster, home, &["login", "alice"]);
    assert!(ok && out.contains("signed in as alice"), "{out}{err}");
    let session = std::fs::read_to_string(home.join("session.json")).expect("session");
    assert!(session.contains(&key), "{session}");
    let (ok, out, err, _) = zchat(&cluster, home, &["whoami"]);
    assert!(ok && out.starts_with("alice"), "{out}{err}");

    // Signed out, the key stays known for this server.
    let (ok, _, err, _) = zchat(&cluster, home, &["logout"]);
    assert!(ok, "{err}");
    let (ok, out, err, _) = zchat(&cluster, home, &["login", "alice"]);
    assert!(ok && out.contains("signed in as alice"), "{out}{err}");

    // A flag that differs from the saved key wins (and here fails, naming it)…
    let (ok, _, err, took) = zchat(&cluster, home, &["whoami", "--server-key", OTHER_KEY]);
    assert!(!ok && err.contains(OTHER_KEY), "{err}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // …without replacing the saved one.
    let (ok, _, err, _) = zchat(&cluster, home, &["whoami"]);
    assert!(ok, "{err}");
}

#[test]
fn a_wrong_key_fails_fast_naming_the_key() {
    let cluster = Cluster::start().expect("cluster");
    let home = tempfile::tempdir().expect("tmp");
    for args in [
        vec!["register", "bob", "--server-key", OTHER_KEY],
        vec!["login", "bob", "--server-key", OTHER_KEY],
    ] {
        let (ok, _, err, took) = zchat(&cluster, home.path(), &args);
        assert!(!ok, "{args:?} succeeded with a wrong key");
        assert!(
            err.starts_with("zchat: error:")
                && err.contains("server key")
                && err.contains(OTHER_KEY),
            "{err}"
        );
        // Within the request timeout (1 s here; 3 attempts would take 3 s or more).
        assert!(took < Duration::from_secs(3), "{args:?} took {took:?}");
    }
    assert!(!home.path().join("session.json").exists());
}

#[test]
fn no_key_says_how_to_get_one() {
    let cluster = Cluster::start().expect("cluster");
    let home = tempfile::tempdir().expect("tmp");
    let (ok, _, err, _) = zchat(&cluster, home.path(), &["register", "carol"]);
    assert!(!ok, "registered without a key");
    assert!(
        err.contains("no server key")
            && err.contains("zchat-server public-key")
            && err.contains("--server-key"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let (ok, _, err, _) = zchat(
        &cluster,
        home.path(),
        &["register", "carol", "--server-key", "abc"],
    );
    assert!(
        !ok && err.contains("--server-key") && err.contains("40"),
        "{err}"
    );
    let (ok, _, err, _) = zchat(
        &cluster,
        home.path(),
        &[
            "register",
            "carol",
            "--server-key",
            OTHER_KEY,
            "--plaintext",
        ],
    );
    assert!(!ok && err.contains("--plaintext"), "{err}");
}

#[test]
fn plaintext_against_curve_fails_clearly() {
    let cluster = Cluster::start().expect("cluster");
    let home = tempfile::tempdir().expect("tmp");
    let (ok, _, err, took) = zchat(&cluster, home.path(), &["register", "dave", "--plaintext"]);
    assert!(!ok, "a plaintext client registered on a CURVE backend");
    assert!(err.contains("warning: --plaintext"), "{err}");
    assert!(
        err.contains("CURVE") && err.contains("server's public key"),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn plaintext_works_with_a_plaintext_backend() {
    let cluster = Cluster::start_plaintext().expect("cluster");
    let home = tempfile::tempdir().expect("tmp");
    let (ok, out, err, _) = zchat(&cluster, home.path(), &["register", "erin", "--plaintext"]);
    assert!(ok && out.contains("registered erin"), "{out}{err}");
    assert!(err.contains("warning: --plaintext"), "{err}");
}
