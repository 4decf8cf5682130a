//! The proxy's gate against hostile subscribers, at the libzmq level: the gate applies each
//! subscription to "the pipe it came from", which libzmq's XPUB (manual mode) tracks in a
//! queue beside the queue of what it hands to the proxy. These tests attack that
//! bookkeeping (fixed by the patch in `vendor/zeromq-src`, see its ZCHAT-PATCH.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::*;
use zchat_backend::testkit::Cluster;
use zchat_protocol::{topic, Event, Message};

/// A hand-made peer of the proxy's XPUB: an XSUB socket, which may send any frame upstream.
struct Xsub {
    _ctx: zmq::Context,
    socket: zmq::Socket,
}

impl Xsub {
    fn connect(cluster: &Cluster) -> Xsub {
        let ctx = zmq::Context::new();
        let socket = ctx.socket(zmq::XSUB).expect("xsub");
        socket.set_linger(0).expect("linger");
        curve_client(&socket, cluster);
        socket.connect(&cluster.proxy_endpoint()).expect("connect");
        Xsub { _ctx: ctx, socket }
    }

    /// Sends a subscription frame (`\x01` + topic).
    fn subscribe(&self, topic: &[u8]) {
        self.socket
            .send([&[1u8][..], topic].concat(), 0)
            .expect("subscribe");
    }

    /// The next event within `timeout`, with its topic.
    fn next(&self, timeout: Duration) -> Option<(String, Event)> {
        next_event(&self.socket, timeout)
    }

    /// Every event up to and including the first that `done` accepts (or up to [`TIMEOUT`]).
    fn until(&self, done: impl Fn(&(String, Event)) -> bool) -> Vec<(String, Event)> {
        let deadline = Instant::now() + TIMEOUT;
        let mut out = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Some(event) = self.next(left) else { break };
            let stop = done(&event);
            out.push(event);
            if stop {
                break;
            }
        }
        out
    }
}

fn is_probe(event: &(String, Event), probe: &str, value: u64) -> bool {
    matches!(event, (t, Event::Probe { value: v }) if t == probe && *v == value)
}

fn is_message(event: &(String, Event), message: &Message) -> bool {
    matches!(&event.1, Event::Message { message: m } if m == message)
}

/// Non-subscription frames from hostile peers, sent by a thread until told to stop (or a
/// bound is reached), so that the proxy has some of them queued when the subscriptions
/// below arrive. Reports on `started` once a first batch is out.
fn flood(cluster: &Cluster, stop: Arc<AtomicBool>, started: mpsc::Sender<()>) -> impl FnOnce() {
    const PEERS: usize = 4;
    const BATCHES: usize = 2_000; // per peer, of 10 messages of 10 frames
    let endpoint = cluster.proxy_endpoint();
    let key = cluster.public_key();
    let thread = std::thread::spawn(move || {
        let ctx = zmq::Context::new();
        let peers: Vec<zmq::Socket> = (0..PEERS)
            .map(|_| {
                let s = ctx.socket(zmq::XSUB).expect("xsub");
                s.set_linger(0).expect("linger");
                s.set_sndtimeo(100).expect("sndtimeo");
                curve_client_of(&s, key.as_deref());
                s.connect(&endpoint).expect("connect");
                s
            })
            .collect();
        // Not subscriptions (first byte 2), several frames each.
        let garbage = [&b"\x02garbage"[..]; 10];
        let mut started = Some(started);
        for batch in 0..BATCHES {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            for p in &peers {
                for _ in 0..10 {
                    // A timeout only means the proxy is busy, which is the point.
                    let _ = p.send_multipart(garbage, 0);
                }
            }
            if batch == 20 {
                if let Some(s) = started.take() {
                    let _ = s.send(());
                }
            }
        }
    });
    move || {
        thread.join().expect("flood thread");
    }
}

/// Garbage frames from a peer must not shift which connection a later subscription is
/// applied to: otherwise an attacker's connection receives a victim's inbox subscription,
/// and with it the victim's DMs. The attack depends on timing (the subscriptions must
/// reach the proxy while garbage is queued there), hence a flood and several rounds.
#[test]
fn garbage_frames_do_not_redirect_another_subscribers_subscription() {
    const ROUNDS: usize = 10;
    let cluster = start();
    let alice = User::signup(&cluster, "alice");
    let bob = User::signup(&cluster, "bob");
    alice.create("public");
    let public = topic::channel("public");
    let bob_inbox = bob.inbox();

    // Both connections are up before the attack (a probe answered on each).
    let victim = Sub::connect(&cluster, &[]);
    victim.await_probe();
    let attacker = Xsub::connect(&cluster);
    let value: u64 = rand::random();
    let probe = topic::probe(value);
    attacker.subscribe(probe.as_bytes());
    let seen = attacker.until(|e| is_probe(e, &probe, value));
    assert_eq!(seen.len(), 1, "attacker's first probe: {seen:?}");

    // The attack, while garbage is being queued at the proxy: the victim subscribes to its
    // inbox (with a probe), the attacker subscribes right after (with a probe).
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = mpsc::channel();
    let join_flood = flood(&cluster, stop.clone(), started_tx);
    started
        .recv_timeout(TIMEOUT)
        .expect("the flood is under way");
    let mut attacker_seen = Vec::new();
    let mut victim_probes = Vec::new();
    for _ in 0..ROUNDS {
        let victim_value: u64 = rand::random();
        let victim_probe = topic::probe(victim_value);
        victim
            .socket
            .set_subscribe(bob_inbox.as_bytes())
            .expect("subscribe");
        victim
            .socket
            .set_subscribe(victim_probe.as_bytes())
            .expect("subscribe");
        let value: u64 = rand::random();
        let probe = topic::probe(value);
        attacker.subscribe(public.as_bytes());
        attacker.subscribe(probe.as_bytes());
        let seen = attacker.until(|e| is_probe(e, &probe, value));
        let got = victim.next(TIMEOUT);
        let clean = seen.len() == 1
            && is_probe(&seen[0], &probe, value)
            && matches!(&got, Some(e) if is_probe(e, &victim_probe, victim_value));
        attacker_seen.extend(seen.into_iter().filter(|e| !is_probe(e, &probe, value)));
        victim_probes.push((victim_probe, victim_value, got));
        if !clean {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    join_flood();

    // Someone writes to the victim, then posts a marker to the channel.
    let dm = alice.send("@bob", "secret for bob");
    let marker = alice.send("#public", "marker");
    attacker_seen.extend(attacker.until(|e| is_message(e, &marker)));
    let leaked: Vec<_> = attacker_seen.iter().filter(|(t, _)| *t != public).collect();
    assert!(
        leaked.is_empty(),
        "the attacker received what the victim subscribed to: {leaked:?}"
    );
    assert_eq!(
        attacker_seen.len(),
        1,
        "attacker: only the marker: {attacker_seen:?}"
    );
    assert!(is_message(&attacker_seen[0], &marker));
    for (probe, value, got) in victim_probes {
        assert_eq!(got, Some((probe, Event::Probe { value })), "victim's probe");
    }
    assert_eq!(
        victim.next(TIMEOUT),
        Some((bob_inbox, Event::Message { message: dm })),
        "the victim receives the DM"
    );
}

/// ZMTP 3.0 by hand: a SUB peer that sends its subscriptions and closes at once, without
/// waiting for anything, so that the proxy may read a subscription whose connection is
/// already gone.
fn subscribe_and_vanish(endpoint: &str, topics: &[&[u8]]) {
    let addr = endpoint.strip_prefix("tcp://").expect("tcp endpoint");
    let mut stream = TcpStream::connect(addr).expect("tcp connect");
    let mut out = Vec::new();
    // Greeting: signature, version 3.0, mechanism NULL, as-server 0, filler.
    out.extend_from_slice(&[0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0]);
    let mut mechanism = [0u8; 20];
    mechanism[..4].copy_from_slice(b"NULL");
    out.extend_from_slice(&mechanism);
    out.extend_from_slice(&[0u8; 32]);
    // READY with Socket-Type SUB (a short command frame).
    let mut ready = vec![5];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&3u32.to_be_bytes());
    ready.extend_from_slice(b"SUB");
    out.push(0x04);
    out.push(ready.len() as u8);
    out.extend_from_slice(&ready);
    // Subscriptions: ZMTP 3.0 messages `\x01` + topic.
    for t in topics {
        out.push(0x00);
        out.push((t.len() + 1) as u8);
        out.push(1);
        out.extend_from_slice(t);
    }
    stream.write_all(&out).expect("write");
    stream.shutdown(Shutdown::Write).expect("shutdown");
    // Read until the proxy closes its side too (so no RST discards what was sent).
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let mut sink = [0u8; 256];
    while let Ok(n) = stream.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}

/// Subscribers that subscribe and disconnect before the proxy has read their subscription
/// must not leave a freed connection in the subscription table (the next publication on
/// that topic would use it): the proxy survives and keeps serving.
#[test]
fn subscribers_that_vanish_at_once_leave_the_proxy_working() {
    // Hand-made ZMTP peers speak the NULL mechanism.
    let cluster = start_plaintext();
    let alice = User::signup(&cluster, "alice");
    alice.create("public");
    let public = topic::channel("public");
    let endpoint = cluster.proxy_endpoint();
    for round in 0..200u64 {
        // A probe subscription is answered (sent on) right after it is applied.
        let probe = topic::probe(round);
        subscribe_and_vanish(&endpoint, &[public.as_bytes(), probe.as_bytes()]);
        if round % 50 == 49 {
            alice.send("#public", &format!("after round {round}"));
        }
    }
    let fresh = Sub::connect(&cluster, &[public.as_bytes()]);
    fresh.await_probe();
    let m = alice.send("#public", "still here");
    let got = fresh.until_message(&m);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0], (public, Event::Message { message: m }));
}
