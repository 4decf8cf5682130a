//! CURVE on the wire, against the real binaries (issue 12): what an eavesdropper records,
//! what a client with the wrong key or no key sees, what a process with a foreign key can do
//! on the internal ports, and what garbage does to every port.
//!
//! Every "gets nothing" test is bounded in time and shows, in the same test, that the
//! positive path works (the refusal is observed on a socket monitor, and real traffic still
//! flows), so none can pass vacuously.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_client::{Client, ClientConfig, ClientError, Live};
use zchat_protocol::net::{self, CurveKeys};
use zchat_protocol::{codec, topic, Event, EventEnvelope, Target};

/// What a relay carried, each direction.
#[derive(Clone, Default)]
struct Recording {
    up: Arc<Mutex<Vec<u8>>>,
    down: Arc<Mutex<Vec<u8>>>,
}

impl Recording {
    fn bytes(&self) -> (usize, usize) {
        (
            self.up.lock().unwrap().len(),
            self.down.lock().unwrap().len(),
        )
    }

    fn contains(&self, needle: &[u8]) -> bool {
        [&self.up, &self.down].iter().any(|side| {
            side.lock()
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
        })
    }
}

/// A TCP relay on a free loopback port to `target` (`tcp://host:port`), forwarding bytes
/// both ways and recording them: an eavesdropper on the path.
fn relay(target: &str) -> (String, Recording) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let addr = format!("tcp://{}", listener.local_addr().expect("addr"));
    let target = target.trim_start_matches("tcp://").to_string();
    let rec = Recording::default();
    let recording = rec.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            pipe(
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
                recording.up.clone(),
            );
            pipe(server, client, recording.down.clone());
        }
    });
    (addr, rec)
}

fn pipe(mut from: TcpStream, mut to: TcpStream, record: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown(std::net::Shutdown::Write);
                    return;
                }
                Ok(n) => {
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                    if to.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The next live event accepted by `wanted`, within [`TIMEOUT`].
async fn live_until(
    live: &mut tokio::sync::mpsc::UnboundedReceiver<Live>,
    wanted: impl Fn(&Event) -> bool,
) {
    let found = tokio::time::timeout(TIMEOUT, async {
        while let Some(l) = live.recv().await {
            if let Live::Event { event, .. } = l {
                if wanted(&event) {
                    return;
                }
            }
        }
    })
    .await;
    assert!(found.is_ok(), "the expected live event never came");
}

/// Register, login, a channel post and a DM (both received live through the proxy) and
/// history, with every byte through recording relays. Returns the recordings of the broker
/// and proxy relays and the secrets that crossed them.
fn chat_through_relays(cluster: &Cluster) -> (Recording, Recording, Vec<Vec<u8>>) {
    let (broker, broker_rec) = relay(&cluster.broker_endpoint());
    let (proxy, proxy_rec) = relay(&cluster.proxy_endpoint());
    let config = ClientConfig::new(broker, proxy).with_server_key(cluster.public_key());
    let channel_text = "the launch code is 0451";
    let dm_text = "meet me at the old mill";
    let rt = runtime();
    let secrets = rt.block_on(async {
        let alice = Client::start(config.clone()).expect("alice");
        let bob = Client::start(config).expect("bob");
        alice.register("alice", PASSWORD).await.expect("register");
        bob.register("bob", PASSWORD).await.expect("register");
        let a = alice.login("alice", PASSWORD).await.expect("login");
        let b = bob.login("bob", PASSWORD).await.expect("login");
        alice.create_channel("ops", "").await.expect("create");
        bob.join("ops").await.expect("join");

        let mut live = bob.live_events();
        bob.subscribe(&topic::channel("ops"));
        bob.subscribe(&b.inbox);
        let value: u64 = rand::random();
        bob.subscribe(&topic::probe(value));
        live_until(&mut live, |e| *e == Event::Probe { value }).await;

        let ops = Target::parse("#ops").expect("target");
        alice
            .send(&ops, channel_text, Some(rand::random()))
            .await
            .expect("post");
        live_until(
            &mut live,
            |e| matches!(e, Event::Message { message } if message.text == channel_text),
        )
        .await;
        let to_bob = Target::User("bob".into());
        alice
            .send(&to_bob, dm_text, Some(rand::random()))
            .await
            .expect("dm");
        live_until(
            &mut live,
            |e| matches!(e, Event::Message { message } if message.text == dm_text),
        )
        .await;
        let page = bob
            .history(&ops, HistoryQuery::latest(10))
            .await
            .expect("history");
        assert!(page.messages.iter().any(|m| m.text == channel_text));
        let dms = bob
            .history(&Target::User("alice".into()), HistoryQuery::latest(10))
            .await
            .expect("dm history");
        assert!(dms.messages.iter().any(|m| m.text == dm_text));
        vec![
            PASSWORD.as_bytes().to_vec(),
            a.token.into_bytes(),
            b.token.into_bytes(),
            a.inbox.into_bytes(),
            b.inbox.into_bytes(),
            channel_text.as_bytes().to_vec(),
            dm_text.as_bytes().to_vec(),
        ]
    });
    (broker_rec, proxy_rec, secrets)
}

#[test]
fn an_eavesdropper_on_both_client_links_learns_no_secret() {
    let cluster = start();
    let (broker, proxy, secrets) = chat_through_relays(&cluster);
    let (up, down) = broker.bytes();
    assert!(
        up > 1_000 && down > 1_000,
        "the broker relay carried {up}/{down} bytes"
    );
    let (up, down) = proxy.bytes();
    assert!(
        up > 100 && down > 300,
        "the proxy relay carried {up}/{down} bytes"
    );
    for secret in &secrets {
        let shown = String::from_utf8_lossy(secret);
        assert!(
            !broker.contains(secret),
            "{shown:?} crossed the broker link in clear"
        );
        assert!(
            !proxy.contains(secret),
            "{shown:?} crossed the proxy link in clear"
        );
    }
}

/// The control for the test above: the same recording of a `--plaintext` backend shows the
/// secrets, so the search would find them if they were there.
#[test]
fn the_same_chat_in_plaintext_shows_the_secrets_to_the_eavesdropper() {
    let cluster = start_plaintext();
    let (broker, proxy, secrets) = chat_through_relays(&cluster);
    for secret in &secrets {
        let shown = String::from_utf8_lossy(secret);
        assert!(
            broker.contains(secret) || proxy.contains(secret),
            "{shown:?} not found in the plaintext recording"
        );
    }
}

/// Waits up to [`TIMEOUT`] for a monitor event accepted by `wanted`; returns it.
fn await_monitor(monitor: &zmq::Socket, wanted: impl Fn(u16) -> bool) -> Option<(u16, u32)> {
    let deadline = Instant::now() + TIMEOUT;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if monitor
            .poll(zmq::POLLIN, left.as_millis() as i64)
            .expect("poll")
            == 0
        {
            return None;
        }
        let frames = monitor.recv_multipart(0).expect("monitor");
        let event = net::monitor_event(&frames).expect("event id");
        if wanted(event) {
            return Some((event, net::monitor_value(&frames).unwrap_or(0)));
        }
    }
    None
}

/// A bare socket and its monitor; the monitor is stopped before either drops (an event for
/// a monitor whose reader is gone would stall the context: `net::unmonitor`).
struct Peer {
    socket: zmq::Socket,
    monitor: zmq::Socket,
}

impl Drop for Peer {
    fn drop(&mut self) {
        net::unmonitor(&mut self.socket);
    }
}

/// A bare socket of `kind` connected to `endpoint` with `security`, monitored.
fn peer(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    endpoint: &str,
    security: &net::Security,
) -> Peer {
    let socket = net::socket(ctx, kind, net::Exposure::Internal, security).expect("socket");
    socket.set_linger(0).expect("linger");
    let monitor = net::monitor(ctx, &socket, "peer").expect("monitor");
    net::connect(&socket, endpoint).expect("connect");
    Peer { socket, monitor }
}

/// A foreign CURVE key pair that knows the deployment's public key (anyone may).
fn foreign(cluster: &Cluster) -> net::Security {
    net::Security::CurveClient {
        server_key: net::decode_key(&cluster.public_key().expect("curve")).expect("key"),
        keys: CurveKeys::generate().expect("keys"),
    }
}

#[test]
fn a_plaintext_dealer_gets_no_reply_and_a_curve_one_does() {
    let cluster = start();
    let ctx = zmq::Context::new();
    let plain = peer(
        &ctx,
        zmq::DEALER,
        &cluster.broker_endpoint(),
        &net::Security::Plaintext,
    );
    let ping = encode_request(1, None, zchat_protocol::Request::Ping);
    plain
        .socket
        .send_multipart([&b""[..], &ping[..]], 0)
        .expect("send");
    let refused = await_monitor(&plain.monitor, net::is_handshake_failure);
    assert!(refused.is_some(), "no handshake failure reported");
    // The same request over CURVE is answered at once…
    let wire = RawWire::connect(&cluster);
    let reply = wire.send_raw(&ping);
    assert!(matches!(reply.body, zchat_protocol::Reply::Pong { .. }));
    // …while the plaintext one, after that, still has nothing.
    assert_eq!(plain.socket.poll(zmq::POLLIN, 500).expect("poll"), 0);
}

#[test]
fn a_wrong_server_key_or_the_wrong_mode_is_a_clear_error_within_the_timeout() {
    let cluster = start();
    let rt = runtime();
    let timeout = Duration::from_secs(3);
    let check = |server_key: Option<String>, endpoint: String, expect: &str| {
        let mut config = ClientConfig::requests_only(endpoint).with_server_key(server_key.clone());
        config.request_timeout = timeout;
        let client = Client::start(config).expect("client");
        let started = Instant::now();
        let outcome = rt.block_on(client.ping());
        let took = started.elapsed();
        match outcome {
            Err(e @ ClientError::Handshake { .. }) => {
                let text = e.to_string();
                if let Some(key) = &server_key {
                    assert!(text.contains(key.as_str()), "{text}");
                }
                assert!(text.contains(expect), "{text}");
            }
            other => panic!("expected a handshake error, got {other:?}"),
        }
        assert!(took < timeout, "the error took {took:?}");
    };
    let wrong = CurveKeys::generate().expect("keys").public_z85();
    check(
        Some(wrong),
        cluster.broker_endpoint(),
        "wrong server key, or the server is not using CURVE",
    );
    check(None, cluster.broker_endpoint(), "connected in plaintext");
    // A CURVE client of a plaintext backend.
    let plain = start_plaintext();
    check(
        cluster.public_key(),
        plain.broker_endpoint(),
        "is not using CURVE",
    );
    // The right key works, on the same backend the wrong one was tried on.
    let mut good = User::connect(&cluster);
    good.ok(good.api.register("carol", PASSWORD));
    good.login("carol");
}

/// Publishers with a foreign key, or none, on the proxy's publisher port: refused at the
/// handshake, so nothing they publish reaches a subscriber, and the next real message does.
#[test]
fn foreign_publishers_cannot_reach_any_subscriber() {
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    alice.create("dev");
    let dev = topic::channel("dev");
    let sub = Sub::connect(&cluster, &[dev.as_bytes()]);
    sub.await_probe();
    let ctx = zmq::Context::new();
    let forged = codec::encode(&EventEnvelope::new(Event::Probe { value: 666 })).expect("encode");
    for security in [foreign(&cluster), net::Security::Plaintext] {
        let publisher = peer(
            &ctx,
            zmq::PUB,
            &cluster.proxy_publisher_endpoint(),
            &security,
        );
        let refused = await_monitor(&publisher.monitor, net::is_handshake_failure);
        assert!(refused.is_some(), "{security:?}: no refusal reported");
        for _ in 0..50 {
            let _ = publisher
                .socket
                .send_multipart([dev.as_bytes(), &forged[..]], zmq::DONTWAIT);
        }
        let m = alice.send("#dev", "the real one");
        let got = sub.until_message(&m);
        assert_eq!(
            got,
            [(dev.clone(), Event::Message { message: m })],
            "{security:?}"
        );
    }
    assert!(
        cluster.log("proxy").contains("refused a CURVE peer"),
        "the proxy did not log the foreign key"
    );
}

/// Workers with a foreign key, or none, on the broker's backend: refused at the handshake,
/// they receive no request, and every client request is still answered. A worker with the
/// deployment's own key pair is admitted (the refusal is about the key).
#[test]
fn foreign_workers_receive_no_request_and_every_request_is_answered() {
    let cluster = start();
    let ctx = zmq::Context::new();
    let mut rogues = Vec::new();
    for security in [foreign(&cluster), net::Security::Plaintext] {
        let worker = peer(
            &ctx,
            zmq::DEALER,
            &cluster.broker_backend_endpoint(),
            &security,
        );
        let refused = await_monitor(&worker.monitor, net::is_handshake_failure);
        assert!(refused.is_some(), "{security:?}: no refusal reported");
        rogues.push(worker);
    }
    let mut user = User::connect(&cluster);
    user.ok(user.api.register("dave", PASSWORD));
    user.login("dave");
    for _ in 0..50 {
        user.ok(user.api.ping());
    }
    user.ok(user.api.whoami());
    for rogue in &rogues {
        assert_eq!(
            rogue.socket.poll(zmq::POLLIN, 200).expect("poll"),
            0,
            "a foreign worker received a request"
        );
    }
    // The same connection with the deployment's key pair completes its handshake.
    let keys = zchat_backend::keys::load(&cluster.key_dir().expect("curve")).expect("keys");
    let insider = peer(
        &ctx,
        zmq::DEALER,
        &cluster.broker_backend_endpoint(),
        &net::Security::CurveClient {
            server_key: keys.public,
            keys: keys.clone(),
        },
    );
    let admitted = await_monitor(&insider.monitor, |e| {
        e == net::EVENT_HANDSHAKE_SUCCEEDED || net::is_handshake_failure(e)
    });
    assert_eq!(admitted.map(|a| a.0), Some(net::EVENT_HANDSHAKE_SUCCEEDED));
}

/// A ZMTP 3.0 greeting announcing `mechanism`, as a client.
fn greeting(mechanism: &[u8]) -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
    let mut m = mechanism.to_vec();
    m.resize(20, 0);
    g.extend(m);
    g.push(0); // as-server
    g.resize(64, 0);
    g
}

/// Garbage before the handshake, a malformed CURVE handshake and half-open connections on
/// all four ports: nobody crashes or hangs, and a user's whole path still works meanwhile.
#[test]
fn garbage_malformed_handshakes_and_half_open_connections_harm_nobody() {
    let cluster = start();
    let ports = [
        cluster.broker_endpoint(),
        cluster.broker_backend_endpoint(),
        cluster.proxy_endpoint(),
        cluster.proxy_publisher_endpoint(),
    ];
    let mut held = Vec::new();
    for endpoint in &ports {
        let addr = endpoint.trim_start_matches("tcp://");
        // Half-open: connected, silent, kept open for the whole test.
        held.push(TcpStream::connect(addr).expect("connect"));
        // Garbage instead of a greeting.
        let mut g = TcpStream::connect(addr).expect("connect");
        let noise: Vec<u8> = (0..4096).map(|_| rand::random::<u8>()).collect();
        let _ = g.write_all(&noise);
        held.push(g);
        // A CURVE greeting, then a HELLO command of the wrong size full of garbage.
        let mut c = TcpStream::connect(addr).expect("connect");
        let _ = c.write_all(&greeting(b"CURVE"));
        let mut hello = vec![0x04, 100, 5];
        hello.extend(b"HELLO");
        hello.extend((0..94).map(|_| rand::random::<u8>()));
        let _ = c.write_all(&hello);
        held.push(c);
        // A greeting that stops half-way.
        let mut h = TcpStream::connect(addr).expect("connect");
        let _ = h.write_all(&greeting(b"CURVE")[..30]);
        held.push(h);
    }
    let alice = User::signup(&cluster, "alice");
    alice.create("dev");
    let dev = topic::channel("dev");
    let sub = Sub::connect(&cluster, &[dev.as_bytes()]);
    sub.await_probe();
    let m = alice.send("#dev", "still fine");
    assert_eq!(
        sub.until_message(&m),
        [(dev, Event::Message { message: m })]
    );
    let page = alice.history("#dev", HistoryQuery::latest(5));
    assert_eq!(page.messages.len(), 1);
    for name in ["broker", "proxy", "server"] {
        assert!(!cluster.log(name).contains("panicked"), "{name} panicked");
    }
    drop(held);
}

/// Runs a backend binary that must fail at start-up; returns its stderr. Bounded: a binary
/// that starts instead is killed and the test fails.
fn fails_to_start(name: &str, args: &[&str]) -> String {
    let bin = zchat_backend::testkit::bin_dir().expect("bins").join(name);
    let mut child = std::process::Command::new(bin)
        .args(args)
        .env_remove("ZCHAT_KEY_DIR")
        .env_remove("ZCHAT_PLAINTEXT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(!status.success(), "{name} {args:?} succeeded");
            let mut err = String::new();
            child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err)
                .expect("read");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} {args:?} started instead of failing");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run_ok(name: &str, args: &[&str]) -> String {
    let bin = zchat_backend::testkit::bin_dir().expect("bins").join(name);
    let out = std::process::Command::new(bin)
        .args(args)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn keygen_writes_a_private_pair_once_and_bad_key_files_stop_every_binary_clearly() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let keys = dir.path().join("keys");
    let keys_arg = keys.to_str().expect("utf-8");
    let any = "tcp://127.0.0.1:*";
    let free = |flag_a: &'static str, flag_b: &'static str| vec![flag_a, any, flag_b, any];
    // No keys and no --plaintext: every binary says how to make keys.
    for (name, mut args) in [
        ("zchat-broker", free("--frontend", "--backend")),
        ("zchat-proxy", free("--xpub", "--xsub")),
        ("zchat-server", vec!["--broker", any, "--proxy", any]),
    ] {
        let err = fails_to_start(name, &args);
        assert!(
            err.contains("zchat-server keygen --key-dir"),
            "{name}: {err}"
        );
        // A key directory without keys: the missing file is named.
        args.extend(["--key-dir", keys_arg]);
        let err = fails_to_start(name, &args);
        assert!(err.contains("zchat.key"), "{name}: {err}");
    }

    let public = run_ok("zchat-server", &["keygen", "--key-dir", keys_arg]);
    assert_eq!(public.len(), 40, "{public}");
    net::decode_key(&public).expect("Z85");
    let mode = std::fs::metadata(keys.join("zchat.key"))
        .expect("secret")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(keys.join("zchat.pub"))
            .expect("pub")
            .trim(),
        public
    );
    assert_eq!(
        run_ok("zchat-server", &["public-key", "--key-dir", keys_arg]),
        public
    );
    let err = fails_to_start("zchat-server", &["keygen", "--key-dir", keys_arg]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        run_ok("zchat-server", &["public-key", "--key-dir", keys_arg]),
        public,
        "a refused keygen changed the keys"
    );

    // A malformed secret key file: named, with the reason.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(bad.join("zchat.key"), "not a key\n").expect("write");
    std::fs::write(bad.join("zchat.pub"), format!("{public}\n")).expect("write");
    let bad_arg = bad.to_str().expect("utf-8");
    let mut args = free("--frontend", "--backend");
    args.extend(["--key-dir", bad_arg]);
    let err = fails_to_start("zchat-broker", &args);
    assert!(
        err.contains(&format!("{bad_arg}/zchat.key")) && err.contains("malformed"),
        "{err}"
    );
    // A public key that is not the secret key's.
    let other = CurveKeys::generate().expect("keys");
    std::fs::copy(keys.join("zchat.key"), bad.join("zchat.key")).expect("copy");
    std::fs::write(bad.join("zchat.pub"), other.public_z85()).expect("write");
    let mut args = free("--xpub", "--xsub");
    args.extend(["--key-dir", bad_arg]);
    let err = fails_to_start("zchat-proxy", &args);
    assert!(err.contains("does not match"), "{err}");
    // An unreadable secret key file.
    std::fs::write(bad.join("zchat.pub"), &public).expect("write");
    std::fs::set_permissions(
        bad.join("zchat.key"),
        std::fs::Permissions::from_mode(0o000),
    )
    .expect("chmod");
    if std::fs::read(bad.join("zchat.key")).is_err() {
        // (root reads anything: only checked when the mode actually bites)
        let err = fails_to_start(
            "zchat-server",
            &["--broker", any, "--proxy", any, "--key-dir", bad_arg],
        );
        assert!(err.contains("cannot read the key file"), "{err}");
    }
}
