//! Failover between brokers (the zguide's Freelance pattern) against the real backend: a
//! client given a list of brokers skips one nobody answers on, moves on at once when the
//! broker it talks to dies, and a `send` resent on another broker after its reply was lost
//! is stored once (its nonce). And one SUB hearing the same proxy twice (every event
//! twice) still shows every message exactly once, in order.
//!
//! The extra "brokers" here are relays run by the test: a ROUTER that forwards each request
//! to the real broker and each reply back (the multi-hop envelope the server keeps), which
//! the test can stop, or make swallow the replies to `send`. Plaintext, so the relay needs
//! no keys; the CURVE path of lists is the same code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::timeout;
use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_client::feed::{Feed, FeedEvent};
use zchat_client::{Client, ClientConfig};
use zchat_protocol::{codec, Reply, ResponseEnvelope, Target};

const PW: &str = "correct horse battery";

/// A relay broker in front of the real one, on its own thread until stopped.
struct Relay {
    endpoint: String,
    stop: Arc<AtomicBool>,
    /// Replies to `send` dropped on purpose.
    swallowed: Arc<AtomicU64>,
    /// Requests forwarded to the real broker.
    forwarded: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay to `broker`; with `swallow_sent`, replies of kind `sent` never come back.
    fn start(broker: &str, swallow_sent: bool) -> Relay {
        let ctx = zmq::Context::new();
        let front = ctx.socket(zmq::ROUTER).unwrap();
        front.set_linger(0).unwrap();
        front.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = front.get_last_endpoint().unwrap().unwrap();
        let back = ctx.socket(zmq::DEALER).unwrap();
        back.set_linger(0).unwrap();
        back.connect(broker).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let swallowed = Arc::new(AtomicU64::new(0));
        let forwarded = Arc::new(AtomicU64::new(0));
        let (stop2, swallowed2, forwarded2) = (stop.clone(), swallowed.clone(), forwarded.clone());
        let thread = std::thread::spawn(move || {
            let _ctx = ctx;
            while !stop2.load(Ordering::Relaxed) {
                let (front_in, back_in) = {
                    let mut items = [
                        front.as_poll_item(zmq::POLLIN),
                        back.as_poll_item(zmq::POLLIN),
                    ];
                    zmq::poll(&mut items, 20).unwrap();
                    (items[0].is_readable(), items[1].is_readable())
                };
                if front_in {
                    while let Ok(frames) = front.recv_multipart(zmq::DONTWAIT) {
                        forwarded2.fetch_add(1, Ordering::Relaxed);
                        back.send_multipart(frames, 0).unwrap();
                    }
                }
                if back_in {
                    while let Ok(frames) = back.recv_multipart(zmq::DONTWAIT) {
                        let reply: ResponseEnvelope =
                            codec::decode(frames.last().unwrap()).unwrap();
                        if swallow_sent && matches!(reply.body, Reply::Sent { .. }) {
                            swallowed2.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        front.send_multipart(frames, 0).unwrap();
                    }
                }
            }
            // Dropping the sockets closes the client's connection, as a killed broker's
            // kernel would.
        });
        Relay {
            endpoint,
            stop,
            swallowed,
            forwarded,
            thread: Some(thread),
        }
    }

    fn kill(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn cluster() -> Cluster {
    tokio::task::spawn_blocking(|| Cluster::start_plaintext().expect("cluster"))
        .await
        .expect("join")
}

async fn stop(cluster: Cluster) {
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .expect("stop cluster");
}

async fn signed_in(config: ClientConfig, user: &str) -> Client {
    let client = Client::start(config).expect("client");
    client.register(user, PW).await.expect("register");
    client.login(user, PW).await.expect("login");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_never_answers_first_in_the_list_is_skipped() {
    let cluster = cluster().await;
    // Accepts TCP connections (the kernel does) and never speaks ZMTP: no handshake, ever.
    let mute = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("tcp://{}", mute.local_addr().expect("addr"));
    let list = format!("{dead}, {}", cluster.broker_endpoint());
    let client = Client::start(ClientConfig::requests_only(list)).expect("client");
    let started = Instant::now();
    client
        .ping()
        .await
        .expect("answered through the second broker");
    let took = started.elapsed();
    println!("first answer after {took:?}");
    assert!(took < Duration::from_secs(2), "failover took {took:?}");
    assert_eq!(client.stats().failovers, 1);
    assert_eq!(client.stats().retries, 0, "moved before the timeout");
    // The live broker is remembered: later requests go straight there.
    client.register("ana", PW).await.expect("register");
    client.login("ana", PW).await.expect("login");
    let t = Target::Channel("dev".into());
    client.create_channel("dev", "").await.expect("create");
    let m = client.send(&t, "hello", Some(7)).await.expect("send");
    assert_eq!(m.seq, 1);
    assert_eq!(client.stats().failovers, 1, "no more switching");
    drop(mute);
    stop(cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_reply_was_lost_is_resent_on_the_next_broker_and_stored_once() {
    let cluster = cluster().await;
    let relay = Relay::start(&cluster.broker_endpoint(), true);
    let list = format!("{},{}", relay.endpoint, cluster.broker_endpoint());
    let mut config = ClientConfig::requests_only(list);
    config.request_timeout = Duration::from_millis(1000);
    let client = signed_in(config, "ana").await;
    client.create_channel("dev", "").await.expect("create");
    assert_eq!(client.stats().failovers, 0, "the relay answered so far");
    let t = Target::Channel("dev".into());
    let m = client
        .send(&t, "only once", Some(424_242))
        .await
        .expect("acknowledged by the second broker");
    assert_eq!(
        relay.swallowed.load(Ordering::Relaxed),
        1,
        "the first attempt reached the server through the relay, which lost the reply"
    );
    let stats = client.stats();
    assert_eq!((stats.failovers, stats.retries), (1, 1), "{stats:?}");
    let page = client
        .history(&t, HistoryQuery::after(0, 50))
        .await
        .expect("history");
    let texts: Vec<(u64, &str)> = page
        .messages
        .iter()
        .map(|m| (m.seq, m.text.as_str()))
        .collect();
    assert_eq!(texts, vec![(1, "only once")], "stored exactly once");
    assert_eq!(m.seq, 1, "the retry returned the stored original");
    stop(cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_active_broker_dies_the_next_send_goes_through_the_other_at_once() {
    let cluster = cluster().await;
    let mut relay = Relay::start(&cluster.broker_endpoint(), false);
    let list = format!("{},{}", relay.endpoint, cluster.broker_endpoint());
    // The default 3 s timeout: only the lost connection can make the failover quicker.
    let client = signed_in(ClientConfig::requests_only(list), "ana").await;
    client.create_channel("dev", "").await.expect("create");
    let through_relay = relay.forwarded.load(Ordering::Relaxed);
    assert!(
        through_relay >= 3,
        "{through_relay} requests went through the relay"
    );
    let t = Target::Channel("dev".into());
    let killed = Instant::now();
    relay.kill();
    let m = client
        .send(&t, "after the broker died", Some(1))
        .await
        .expect("acknowledged");
    let took = killed.elapsed();
    println!("acknowledged {took:?} after the active broker died");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(m.seq, 1);
    let stats = client.stats();
    assert_eq!(
        (stats.failovers, stats.retries),
        (1, 0),
        "no timeout: {stats:?}"
    );
    stop(cluster).await;
}

/// One SUB connected twice to the same proxy receives every event twice (two pipes): the
/// feed shows each message once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_twice_still_shows_every_message_once_in_order() {
    let cluster = cluster().await;
    let proxy = cluster.proxy_endpoint();
    let ana = signed_in(cluster.client_config(), "ana").await;
    ana.create_channel("dev", "").await.expect("create");
    let config = ClientConfig::new(cluster.broker_endpoint(), format!("{proxy},{proxy}"));
    let bob = Client::start(config).expect("client");
    bob.register("bob", PW).await.expect("register");
    let session = bob.login("bob", PW).await.expect("login");
    bob.join("dev").await.expect("join");
    let (feed, mut rx) = Feed::start(bob.clone(), session.user, session.inbox);
    feed.watch(Target::Channel("dev".into()), 0);
    let t = Target::Channel("dev".into());
    // Every event arrives twice; 40 messages, so most come live, not backfilled.
    for i in 1..=40u64 {
        ana.send(&t, &format!("m{i}"), Some(i)).await.expect("send");
    }
    let mut got = Vec::new();
    let collected = timeout(Duration::from_secs(15), async {
        while got.len() < 40 {
            if let FeedEvent::Message(m) = rx.recv().await.expect("feed running") {
                got.push(m.seq);
            }
        }
    })
    .await;
    assert!(collected.is_ok(), "only {} messages: {got:?}", got.len());
    assert_eq!(got, (1..=40).collect::<Vec<_>>());
    // Read markers arrive twice too (on bob's inbox, live for seconds by now).
    bob.mark_read(&t, 10).await.expect("mark");
    bob.mark_read(&t, 20).await.expect("mark");
    let mut markers = Vec::new();
    let seen = timeout(Duration::from_secs(10), async {
        while markers.len() < 2 {
            if let FeedEvent::ReadMarker { seq, .. } = rx.recv().await.expect("feed running") {
                markers.push(seq);
            }
        }
    })
    .await;
    assert!(seen.is_ok(), "markers: {markers:?}");
    assert_eq!(
        markers,
        vec![10, 20],
        "each marker once, though each came twice"
    );
    // Nothing more: no copy of a message or a marker comes later.
    let later = timeout(Duration::from_millis(500), async {
        while let Some(ev) = rx.recv().await {
            if matches!(ev, FeedEvent::Message(_) | FeedEvent::ReadMarker { .. }) {
                return Some(ev);
            }
        }
        None
    })
    .await;
    assert!(!matches!(later, Ok(Some(_))), "a copy came late: {later:?}");
    drop(feed);
    stop(cluster).await;
}

/// A wrong server key is still reported as such with a list (every broker of a deployment
/// holds the same key), even when the first broker in it never answers at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_key_is_reported_with_a_list_too() {
    const WRONG: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    let cluster = tokio::task::spawn_blocking(|| Cluster::start().expect("cluster"))
        .await
        .expect("join");
    let mute = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("tcp://{}", mute.local_addr().expect("addr"));
    let broker = cluster.broker_endpoint();
    for list in [format!("{broker},{broker}"), format!("{dead},{broker}")] {
        let config = ClientConfig::requests_only(list.clone()).with_server_key(Some(WRONG.into()));
        let client = Client::start(config).expect("client");
        let outcome = timeout(Duration::from_secs(8), client.ping())
            .await
            .expect("an answer before the retries run out");
        match outcome {
            Err(e @ zchat_client::ClientError::Handshake { .. }) => {
                assert!(e.to_string().contains(WRONG), "{list}: {e}");
            }
            other => panic!("{list}: expected a handshake failure, got {other:?}"),
        }
    }
    drop(mute);
    stop(cluster).await;
}
