//! Lazy Pirate timing under tokio's paused clock: a request nobody answers is retried on a
//! fresh socket after each timeout and reported unreachable after the last attempt — exactly
//! `attempts × timeout` of (virtual) time, with no real waiting.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::time::Duration;

use zchat_client::{Client, ClientConfig, ClientError};

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

#[tokio::test(start_paused = true)]
async fn an_unanswered_request_is_retried_then_reported_unreachable() {
    let (_router, endpoint) = silent_broker();
    let mut config = ClientConfig::requests_only(endpoint.clone());
    config.request_timeout = Duration::from_secs(3);
    config.attempts = 3;
    let client = Client::start(config).expect("client");
    let started = tokio::time::Instant::now();
    let outcome = client.ping().await;
    assert!(
        matches!(&outcome, Err(ClientError::Unreachable(e)) if *e == endpoint),
        "{outcome:?}"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(9),
        "3 attempts × 3 s"
    );
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.unreachable),
        (1, 2, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn login_waits_five_times_longer_than_other_requests() {
    let (_router, endpoint) = silent_broker();
    let mut config = ClientConfig::requests_only(endpoint);
    config.request_timeout = Duration::from_secs(2);
    config.attempts = 1;
    let client = Client::start(config).expect("client");
    let started = tokio::time::Instant::now();
    let outcome = client.login("alice", "correct horse battery").await;
    assert!(
        matches!(outcome, Err(ClientError::Unreachable(_))),
        "{outcome:?}"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(10),
        "password hashing is slow"
    );
}

#[tokio::test(start_paused = true)]
async fn many_requests_timing_out_together_reopen_the_socket_once_per_window() {
    let (_router, endpoint) = silent_broker();
    let mut config = ClientConfig::requests_only(endpoint);
    config.request_timeout = Duration::from_secs(3);
    config.attempts = 3;
    let client = Client::start(config).expect("client");
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.ping().await })
        })
        .collect();
    for call in calls {
        let outcome = call.await.expect("task");
        assert!(
            matches!(outcome, Err(ClientError::Unreachable(_))),
            "{outcome:?}"
        );
    }
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries), (50, 100));
    assert_eq!(
        stats.reconnects, 2,
        "once per timeout window, not once per request"
    );
}
