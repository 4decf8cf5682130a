//! A server that answers with replies of the wrong kind (a bug, or a protocol mismatch) must
//! never look like success: every subcommand exits non-zero with a clear message.
//!
//! The "server" here is a ROUTER on loopback that speaks the real wire protocol but answers
//! every request with a well-formed reply of another kind — something the real server
//! never does, which is why it is stood in for.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use zchat_protocol::{codec, Reply, Request, RequestEnvelope, ResponseEnvelope, Target};
use zchat_tui::session::Session;

const ZCHAT: &str = env!("CARGO_BIN_EXE_zchat");

/// Answers each request with a reply that does not belong to it.
fn wrong_reply_to(request: &Request) -> Reply {
    match request {
        Request::MarkRead { .. } => Reply::Done,
        _ => Reply::Marked {
            target: Target::Channel("elsewhere".into()),
            seq: 0,
        },
    }
}

/// Binds a ROUTER on a free loopback port and answers until `stop` is set.
fn start_wrong_server(stop: Arc<AtomicBool>) -> (String, std::thread::JoinHandle<usize>) {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).expect("router");
    router.set_linger(0).expect("linger");
    router.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = router
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let thread = std::thread::spawn(move || {
        let mut answered = 0;
        while !stop.load(Ordering::SeqCst) {
            if router.poll(zmq::POLLIN, 100).expect("poll") == 0 {
                continue;
            }
            let mut frames = router.recv_multipart(0).expect("recv");
            let body = frames.pop().expect("payload");
            let env: RequestEnvelope = codec::decode(&body).expect("a valid request");
            let reply = ResponseEnvelope::new(env.id, wrong_reply_to(&env.body));
            frames.push(codec::encode(&reply).expect("encode"));
            router.send_multipart(frames, 0).expect("send");
            answered += 1;
        }
        answered
    });
    (endpoint, thread)
}

#[test]
fn a_reply_of_the_wrong_kind_fails_every_subcommand() {
    let stop = Arc::new(AtomicBool::new(false));
    let (broker, server) = start_wrong_server(stop.clone());
    // A proxy endpoint nobody listens on: `tail` must fail on its first request anyway.
    let proxy = "tcp://127.0.0.1:9";
    let home = tempfile::tempdir().expect("home");
    Session {
        broker: broker.clone(),
        proxy: proxy.into(),
        user: "alice".into(),
        token: "t".repeat(32),
        inbox: "0".repeat(32),
        expires_at: i64::MAX,
        server_key: None,
    }
    .save(home.path())
    .expect("save session");
    let commands: &[&[&str]] = &[
        &["register", "zoe"],
        &["login", "alice"],
        &["whoami"],
        &["channels"],
        &["create", "#dev"],
        &["join", "#dev"],
        &["leave", "#dev"],
        &["users"],
        &["dms"],
        &["send", "#dev", "hello"],
        &["history", "#dev"],
        &["tail"],
        &["logout"],
    ];
    for args in commands {
        let out = Command::new(ZCHAT)
            .args(*args)
            .env("ZCHAT_HOME", home.path())
            .env("ZCHAT_BROKER", &broker)
            .env("ZCHAT_PROXY", proxy)
            // The fake server is a plain ROUTER: the client says so explicitly.
            .env("ZCHAT_PLAINTEXT", "1")
            .env("ZCHAT_PASSWORD", "correct horse battery")
            .stdin(Stdio::null())
            .output()
            .expect("run zchat");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "zchat {args:?} exited 0 on a wrong reply; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            stderr.contains("zchat: error: unexpected reply to"),
            "zchat {args:?}: unclear error: {stderr}"
        );
    }
    stop.store(true, Ordering::SeqCst);
    let answered = server.join().expect("server thread");
    assert!(
        answered >= commands.len(),
        "every command reached the server"
    );
}
