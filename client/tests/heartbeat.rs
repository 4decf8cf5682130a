//! The feed's heartbeat: how soon a silent server is reported down (tokio's paused clock),
//! that its probes never retry nor reopen the request socket, that a slow but alive server
//! does not make the state flap, and a real server killed and restarted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use zchat_backend::testkit::Cluster;
use zchat_client::feed::{Feed, FeedEvent, SILENCE};
use zchat_client::{Client, ClientConfig, ClientError};
use zchat_protocol::{codec, Reply, ResponseEnvelope};

/// A ROUTER on a free loopback port that takes requests and never answers.
fn silent_broker() -> (zmq::Socket, String) {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).expect("router");
    router.set_linger(0).expect("linger");
    router.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = router
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    (router, endpoint)
}

/// A ROUTER that answers every request with `pong`, each `delay` after it came, until
/// `stop` is set. Stands in for a server that is slow but alive (a login storm).
fn slow_pinger(delay: Duration, stop: Arc<AtomicBool>) -> String {
    let (router, endpoint) = silent_broker();
    std::thread::spawn(move || {
        let mut due: std::collections::VecDeque<(Instant, Vec<u8>, Vec<u8>)> =
            std::collections::VecDeque::new();
        while !stop.load(Ordering::Relaxed) {
            while due.front().is_some_and(|(at, _, _)| *at <= Instant::now()) {
                let (_, identity, reply) = due.pop_front().unwrap();
                router
                    .send_multipart([identity, Vec::new(), reply], 0)
                    .unwrap();
            }
            if router.poll(zmq::POLLIN, 20).unwrap() == 0 {
                continue;
            }
            let frames = router.recv_multipart(0).unwrap();
            let request = codec::decode_request(frames.last().unwrap()).unwrap();
            let reply = codec::encode(&ResponseEnvelope::new(
                request.id,
                Reply::Pong { server_time: 0 },
            ))
            .unwrap();
            due.push_back((Instant::now() + delay, frames[0].clone(), reply));
        }
    });
    endpoint
}

/// The next connection state the feed reports.
async fn next_state(rx: &mut UnboundedReceiver<FeedEvent>) -> bool {
    loop {
        match rx.recv().await.expect("feed running") {
            FeedEvent::Connection { connected, .. } => return connected,
            _ => continue,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_is_reported_down_after_the_silence() {
    let (_router, endpoint) = silent_broker();
    let client = Client::start(ClientConfig::new(endpoint, "tcp://127.0.0.1:1")).expect("client");
    let started = tokio::time::Instant::now();
    let (_feed, mut rx) = Feed::start(client, "alice".into(), "inbox".into());
    assert!(!next_state(&mut rx).await);
    assert_eq!(started.elapsed(), SILENCE, "two heartbeats and a half");
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_probe_neither_retries_nor_reopens_the_socket() {
    let (_router, endpoint) = silent_broker();
    let client = Client::start(ClientConfig::requests_only(endpoint)).expect("client");
    let started = tokio::time::Instant::now();
    for _ in 0..5 {
        let outcome = client.ping_within(Duration::from_millis(800)).await;
        assert!(
            matches!(outcome, Err(ClientError::Unreachable(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(started.elapsed(), Duration::from_millis(4000), "5 × 800 ms");
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.reconnects),
        (5, 0, 0),
        "one attempt each, and the socket of other requests left alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_but_alive_server_does_not_flap() {
    let stop = Arc::new(AtomicBool::new(false));
    // Each answer takes longer than the heartbeat period, but answers keep coming.
    let endpoint = slow_pinger(Duration::from_millis(1500), stop.clone());
    let client = Client::start(ClientConfig::new(endpoint, "tcp://127.0.0.1:1")).expect("client");
    let (_feed, mut rx) = Feed::start(client, "alice".into(), "inbox".into());
    assert!(next_state(&mut rx).await, "up at the first answer");
    // Watch for a while: never reported down.
    let watched = tokio::time::timeout(Duration::from_secs(6), next_state(&mut rx)).await;
    assert!(
        !matches!(watched, Ok(false)),
        "reported down while answering"
    );
    // It stops answering: down, within the silence plus one answer's delay.
    let stopped = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let down = tokio::time::timeout(Duration::from_secs(10), async {
        while next_state(&mut rx).await {}
    })
    .await;
    assert!(down.is_ok(), "never reported down");
    assert!(
        stopped.elapsed() < SILENCE + Duration::from_secs(2),
        "{:?}",
        stopped.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_is_reported_down_within_seconds_and_up_when_it_returns() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start().expect("cluster"))
        .await
        .expect("join");
    let client = Client::start(cluster.client_config()).expect("client");
    let (_feed, mut rx) = Feed::start(client, "alice".into(), "inbox".into());
    let first = tokio::time::timeout(Duration::from_secs(20), next_state(&mut rx)).await;
    assert!(first.expect("a state"), "up");
    let killed = Instant::now();
    cluster.kill_server();
    let state = tokio::time::timeout(Duration::from_secs(10), next_state(&mut rx))
        .await
        .expect("reported down");
    assert!(!state);
    let took = killed.elapsed();
    println!("reported down {took:?} after kill -9");
    assert!(took <= SILENCE + Duration::from_secs(1), "{took:?}");
    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.start_server().expect("restart");
        cluster
            .wait_ready(Duration::from_secs(30))
            .expect("server ready");
        cluster
    })
    .await
    .expect("join");
    let back = Instant::now();
    let state = tokio::time::timeout(Duration::from_secs(10), next_state(&mut rx))
        .await
        .expect("reported up");
    assert!(state);
    println!(
        "reported up {:?} after the server was ready",
        back.elapsed()
    );
    cluster.kill_server();
}

/// A wrong server key: the heartbeat says why the link is down (the handshake, naming the
/// key) at once, not after the silence and not as a mere "down".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_key_is_reported_as_such() {
    const WRONG: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    let cluster = tokio::task::spawn_blocking(|| Cluster::start().expect("cluster"))
        .await
        .expect("join");
    let config = cluster.client_config().with_server_key(Some(WRONG.into()));
    let client = Client::start(config).expect("client");
    let started = Instant::now();
    let (_feed, mut rx) = Feed::start(client, "alice".into(), "inbox".into());
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event")
        .expect("feed running");
    match first {
        FeedEvent::HandshakeFailed(reason) => assert!(reason.contains(WRONG), "{reason}"),
        other => panic!("expected the handshake failure first, got {other:?}"),
    }
    assert!(started.elapsed() < SILENCE, "{:?}", started.elapsed());
    assert!(!next_state(&mut rx).await, "and the link down");
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .expect("stop cluster");
}
