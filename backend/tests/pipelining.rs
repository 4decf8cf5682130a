//! No reply dropped under load (issue 10): a client may pipeline thousands of requests and
//! gets every reply on the first attempt; a reply the broker cannot deliver is counted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use zchat_backend::broker::{Broker, BrokerConfig, CLIENT_REPLY_HWM};
use zchat_backend::testkit::Cluster;
use zchat_backend::transport::{Endpoints, Transport};
use zchat_client::api::HistoryQuery;
use zchat_client::{Client, REQUEST_HWM};
use zchat_protocol::{Target, MAX_HISTORY_LIMIT};

const PIPELINED: u64 = 5_000;
/// Sent by a second client while the broker is down: more than its socket may queue.
const EARLY: u64 = REQUEST_HWM as u64 + 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_pipelined_sends_get_five_thousand_replies_without_a_retry() {
    let mut cluster = Cluster::start().expect("cluster");
    let mut config = cluster.client_config();
    // Generous: a slow debug build must not be mistaken for a drop. The assertion is that
    // no retry happened, not speed.
    config.request_timeout = Duration::from_secs(60);
    let client = Client::start(config.clone()).expect("client");
    client
        .register("piper", "correct horse")
        .await
        .expect("register");
    client.login("piper", "correct horse").await.expect("login");
    client.create_channel("flood", "").await.expect("create");
    let before = client.stats();

    let channel = Target::channel("flood").expect("target");
    let started = Instant::now();
    let seqs = pipeline(&client, &channel, 0..PIPELINED).await;
    let stats = client.stats();
    eprintln!(
        "{PIPELINED} pipelined sends answered in {:?}; {stats:?}",
        started.elapsed()
    );
    assert_eq!(seqs.len() as u64, PIPELINED);
    assert_eq!(stats.requests - before.requests, PIPELINED);
    assert_eq!(
        stats.retries, 0,
        "no request was retried: no reply went missing"
    );
    assert_eq!(stats.unreachable, 0);

    // More requests than the client's socket may queue, made while the broker is down: the
    // socket takes REQUEST_HWM of them, the rest wait in the client's backlog (they used to
    // be dropped, then retried after a timeout), and all go out once the broker is back.
    cluster.stop_broker();
    let fresh = Client::start(config).expect("fresh client");
    fresh.set_token(client.token());
    let early = {
        let (fresh, channel) = (fresh.clone(), channel.clone());
        tokio::spawn(async move { pipeline(&fresh, &channel, PIPELINED..PIPELINED + EARLY).await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while fresh.stats().requests < EARLY {
        assert!(Instant::now() < deadline, "requests not made");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster.start_broker().expect("broker restarts");
    let more = early.await.expect("task");
    let stats = fresh.stats();
    eprintln!("{EARLY} sends made while the broker was down: {stats:?}");
    assert_eq!(more.len() as u64, EARLY);
    assert!(stats.deferred > 0, "some requests waited in the backlog");
    assert_eq!(
        stats.retries, 0,
        "no request made while the broker was down was lost"
    );

    // Stored once each, gap-free.
    let mut stored = Vec::new();
    loop {
        let after = stored.last().copied().unwrap_or(0);
        let page = client
            .history(&channel, HistoryQuery::after(after, MAX_HISTORY_LIMIT))
            .await
            .expect("history");
        stored.extend(page.messages.iter().map(|m| m.seq));
        if !page.has_more || page.messages.is_empty() {
            break;
        }
    }
    assert_eq!(stored, (1..=PIPELINED + EARLY).collect::<Vec<_>>());
    assert_eq!(client.stats().retries + fresh.stats().retries, 0);
}

/// Sends one message per nonce in `nonces`, all at once; returns the distinct seqs acked.
async fn pipeline(client: &Client, channel: &Target, nonces: std::ops::Range<u64>) -> HashSet<u64> {
    let mut sends = JoinSet::new();
    for i in nonces {
        let (client, channel) = (client.clone(), channel.clone());
        sends.spawn(async move { client.send(&channel, &format!("m{i}"), Some(i + 1)).await });
    }
    let mut seqs = HashSet::new();
    while let Some(outcome) = sends.join_next().await {
        let message = outcome.expect("task").expect("send answered");
        assert!(seqs.insert(message.seq), "seq {} acked twice", message.seq);
    }
    seqs
}

/// A reply the broker cannot deliver is counted, never silently dropped: to a client that is
/// gone (EHOSTUNREACH), and to a client that stopped reading once its queue is full
/// (EAGAIN). A fake server on the broker's backend answers on behalf of a client that never
/// reads.
#[test]
fn broker_counts_replies_it_cannot_deliver() {
    // Plaintext: the broker's forwarding is what is tested, not its transport.
    let endpoints = Endpoints::new(Transport::Plaintext).expect("context");
    let ctx = endpoints.ctx().clone();
    let broker = Broker::start(
        &endpoints,
        &BrokerConfig {
            frontend: "tcp://127.0.0.1:*".into(),
            backend: "tcp://127.0.0.1:*".into(),
        },
    )
    .expect("broker");

    let server = ctx.socket(zmq::DEALER).expect("server socket");
    server.set_linger(0).expect("linger");
    server.set_sndhwm(0).expect("unbounded server queue");
    server
        .connect(broker.backend_endpoint())
        .expect("server connects");
    let client = ctx.socket(zmq::DEALER).expect("client socket");
    client.set_linger(0).expect("linger");
    client.set_rcvhwm(1).expect("tiny receive queue");
    client.set_identity(b"sleepy").expect("identity");
    client
        .connect(broker.frontend_endpoint())
        .expect("client connects");

    // One request makes the client known to the broker (and shows its envelope).
    client
        .send_multipart([&b""[..], b"hello"], 0)
        .expect("request");
    server.set_rcvtimeo(10_000).expect("timeout");
    let request = server
        .recv_multipart(0)
        .expect("request reaches the server");
    assert_eq!(request, [b"sleepy".to_vec(), Vec::new(), b"hello".to_vec()]);

    // A reply to a client that is not there.
    server
        .send_multipart([&b"nobody"[..], b"", b"lost"], 0)
        .expect("reply");
    // Far more replies than the broker may queue towards one client that never reads, and
    // big enough that the socket buffers on the way (megabytes on loopback) fill quickly.
    let flood = CLIENT_REPLY_HWM as u64 * 3 / 2;
    let body = [b'r'; 512];
    for _ in 0..flood {
        server
            .send_multipart([&b"sleepy"[..], b"", &body[..]], 0)
            .expect("reply");
    }
    let stats = broker.stats();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let handled = stats.replies.load(Ordering::Relaxed)
            + stats.replies_dropped_full.load(Ordering::Relaxed)
            + stats.replies_dropped_gone.load(Ordering::Relaxed);
        if handled == flood + 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "broker stuck at {handled} replies"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stats.replies_dropped_gone.load(Ordering::Relaxed), 1);
    let full = stats.replies_dropped_full.load(Ordering::Relaxed);
    let delivered = stats.replies.load(Ordering::Relaxed);
    eprintln!("delivered {delivered}, dropped to the full client {full}");
    assert!(
        full > 0,
        "a client that never reads eventually fills its queue"
    );
    assert!(
        delivered >= CLIENT_REPLY_HWM as u64,
        "the full queue of {CLIENT_REPLY_HWM} replies was used before any drop"
    );
    assert_eq!(stats.requests.load(Ordering::Relaxed), 1);
    broker.stop();
}
