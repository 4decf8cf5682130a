//! Several brokers, proxies and servers (PROTOCOL.md §11): every server connects to every
//! broker and publishes to every proxy, so a request through any broker is answered, each
//! proxy delivers every message, and one broker, proxy or server killed with `kill -9`
//! leaves the others serving; restarted on its endpoints, it serves again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use zchat_backend::testkit::{self, Cluster};
use zchat_client::api::HistoryQuery;
use zchat_protocol::{topic, Event, Message};

/// A signed-up user whose client talks to broker `broker` only and retries an unanswered
/// request (Lazy Pirate, with the same nonce for a send): right after a `kill -9` a broker
/// may still hand a request to the dead server, and that request must be retried.
fn user_via(cluster: &Cluster, broker: usize, name: &str) -> User {
    let mut config = cluster.requests_config_via(broker);
    config.request_timeout = Duration::from_secs(1);
    config.attempts = 10;
    let mut user = User::with_config(config);
    user.ok(user.api.register(name, PASSWORD));
    user.login(name);
    user
}

/// One subscriber per proxy, with every message seq it has received (to catch duplicates).
struct Listener {
    sub: Sub,
    proxy: usize,
    seen: BTreeMap<u64, Message>,
}

impl Listener {
    fn new(cluster: &Cluster, proxy: usize, channel: &str) -> Listener {
        let topic = topic::channel(channel);
        let sub = Sub::connect_via(cluster, proxy, &[topic.as_bytes()]);
        let listener = Listener {
            sub,
            proxy,
            seen: BTreeMap::new(),
        };
        listener.sub.await_probe();
        listener
    }

    /// Waits until every message of `sent` has arrived, each exactly as acknowledged.
    /// Messages published earlier and delivered late (a restarted proxy gets what its
    /// publishers queued for it meanwhile) are recorded too; none may come twice.
    fn expect(&mut self, sent: &[Message], what: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !sent.iter().all(|m| self.seen.contains_key(&m.seq)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.sub.next(left) {
                Some((_, Event::Message { message })) => {
                    let seq = message.seq;
                    if let Some(before) = self.seen.insert(seq, message) {
                        panic!(
                            "proxy {}: seq {seq} delivered twice ({before:?})",
                            self.proxy
                        );
                    }
                }
                Some(_) => {}
                None => panic!(
                    "proxy {} ({what}): missing seqs {:?}",
                    self.proxy,
                    sent.iter()
                        .map(|m| m.seq)
                        .filter(|s| !self.seen.contains_key(s))
                        .collect::<Vec<_>>()
                ),
            }
        }
        for m in sent {
            assert_eq!(
                self.seen.get(&m.seq),
                Some(m),
                "proxy {} ({what})",
                self.proxy
            );
        }
    }

    /// After its proxy came back: subscriptions are live again once a fresh probe is
    /// answered (the SUB resubscribes by itself on reconnecting). Late messages may come
    /// first; they are recorded like any other.
    fn await_probe_again(&mut self) {
        let value: u64 = rand::random();
        let probe = topic::probe(value);
        self.sub
            .socket
            .set_subscribe(probe.as_bytes())
            .expect("subscribe");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.sub.next(left) {
                Some((_, Event::Probe { value: v })) if v == value => break,
                Some((_, Event::Message { message })) => {
                    let seq = message.seq;
                    assert!(self.seen.insert(seq, message).is_none(), "seq {seq} twice");
                }
                Some(_) => {}
                None => panic!("proxy {}: no probe answer after its restart", self.proxy),
            }
        }
        self.sub
            .socket
            .set_unsubscribe(probe.as_bytes())
            .expect("unsubscribe");
    }
}

/// Each user posts `n` messages to `#ha`, all users at once (one thread each), and returns
/// every acknowledged message.
fn post(users: Vec<User>, n: usize, label: &str) -> (Vec<User>, Vec<Message>) {
    let threads: Vec<_> = users
        .into_iter()
        .map(|u| {
            let label = label.to_string();
            std::thread::spawn(move || {
                let sent: Vec<Message> = (0..n)
                    .map(|i| u.send("#ha", &format!("{label} {} {i}", u.name())))
                    .collect();
                (u, sent)
            })
        })
        .collect();
    let mut users = Vec::new();
    let mut sent = Vec::new();
    for t in threads {
        let (u, s) = t.join().expect("poster thread");
        users.push(u);
        sent.extend(s);
    }
    (users, sent)
}

#[test]
fn every_broker_and_proxy_serves_and_any_one_may_die() {
    let started = Instant::now();
    let mut cluster = Cluster::builder()
        .brokers(2)
        .proxies(2)
        .servers(2)
        .start()
        .expect("cluster starts");
    let brokers = cluster.broker_endpoints();
    let proxies = cluster.proxy_endpoints();
    assert_eq!((brokers.len(), proxies.len()), (2, 2));
    assert_ne!(brokers[0], brokers[1]);
    assert_eq!(cluster.broker_list(), brokers.join(","));
    assert_eq!(cluster.proxy_list(), proxies.join(","));

    // alice's requests go through broker 0 only, bob's through broker 1 only.
    let alice = user_via(&cluster, 0, "alice");
    let bob = user_via(&cluster, 1, "bob");
    alice.create("ha");
    bob.join("ha");
    let mut listeners = [
        Listener::new(&cluster, 0, "ha"),
        Listener::new(&cluster, 1, "ha"),
    ];
    let mut acked = Vec::new();

    // All up, both brokers busy at once: each reply finds its way back through the broker
    // its request came from, and each proxy delivers every message (both servers publish).
    let (users, sent) = post(vec![alice, bob], 10, "all up");
    for l in &mut listeners {
        l.expect(&sent, "all up");
    }
    acked.extend(sent);
    let [alice, bob]: [User; 2] = users.try_into().ok().expect("two users");

    // Broker 0 dies: requests through broker 1 are still answered, both proxies deliver.
    let pid = cluster.broker_pid_nth(0).expect("broker 0 runs");
    cluster.kill_broker_nth(0);
    assert_eq!(
        cluster.broker_pid_nth(0),
        None,
        "broker 0 (pid {pid}) reaped"
    );
    let (users, sent) = post(vec![bob], 4, "broker 0 down");
    for l in &mut listeners {
        l.expect(&sent, "broker 0 down");
    }
    acked.extend(sent);

    // Proxy 0 dies too: proxy 1 still delivers everything.
    cluster.kill_proxy_nth(0);
    let (users, sent) = post(users, 4, "proxy 0 down");
    listeners[1].expect(&sent, "proxy 0 down");
    acked.extend(sent);

    // Both come back on the same endpoints: broker 0 answers again, proxy 0 delivers again.
    cluster.start_broker_nth(0).expect("broker 0 restarts");
    cluster.start_proxy_nth(0).expect("proxy 0 restarts");
    assert_eq!(cluster.broker_endpoints(), brokers, "same endpoints");
    assert_eq!(cluster.proxy_endpoints(), proxies, "same endpoints");
    listeners[0].await_probe_again();
    let (users, sent) = post(
        vec![alice, users.into_iter().next().expect("bob")],
        3,
        "back",
    );
    for l in &mut listeners {
        l.expect(&sent, "broker and proxy 0 back");
    }
    acked.extend(sent);

    // Each server alone still serves through both brokers and publishes to both proxies:
    // every server is connected to every broker and every proxy.
    let mut users = users;
    for (down, up) in [(0, 1), (1, 0)] {
        cluster.kill_server_nth(down);
        let label = format!("only server {up}");
        let (again, sent) = post(users, 3, &label);
        users = again;
        for l in &mut listeners {
            l.expect(&sent, &label);
        }
        acked.extend(sent);
        cluster.start_server_nth(down).expect("server restarts");
    }

    // Every acknowledged message is stored once, in a gap-free sequence.
    let reader = user_via(&cluster, 1, "reader");
    reader.join("ha");
    let page = reader.history("#ha", HistoryQuery::after(0, 500));
    acked.sort_by_key(|m| m.seq);
    assert_eq!(
        page.messages, acked,
        "history is exactly what was acknowledged"
    );
    assert_eq!(
        acked.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=acked.len() as u64).collect::<Vec<_>>()
    );
    eprintln!("redundancy scenario took {:?}", started.elapsed());
}

#[test]
fn a_malformed_endpoint_list_is_refused_at_start() {
    let server = testkit::bin_dir().expect("binaries").join("zchat-server");
    for (flag, value) in [
        ("--broker", "tcp://127.0.0.1:1,,tcp://127.0.0.1:2"),
        ("--proxy", "tcp://127.0.0.1:1, "),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(&server)
            .args(["--plaintext", "--data-dir"])
            .arg(dir.path())
            .args([flag, value])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {value:?} accepted");
        assert!(
            stderr.contains(flag) && stderr.contains("is empty"),
            "{flag} {value:?}: {stderr}"
        );
    }
}
