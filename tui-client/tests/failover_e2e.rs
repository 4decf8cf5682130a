//! The scale-out end to end: a real PostgreSQL, 3 servers, 2 brokers and 2 proxies (CURVE),
//! 4 clients posting through both brokers and a live `zchat tail` over both proxies, while
//! one server, one broker, one proxy and then another server are each killed with
//! `kill -9` and restarted. Every acknowledged message must be in history exactly once,
//! the channel's sequence numbers gap-free, the tail must show each acknowledged message
//! exactly once, and at least 99 % of the sends must be acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Tail;
use zchat_backend::test_postgres::Postgres;
use zchat_backend::testkit::Cluster;
use zchat_client::api::HistoryQuery;
use zchat_client::Client;
use zchat_protocol::Target;

const ZCHAT: &str = env!("CARGO_BIN_EXE_zchat");
const PASSWORD: &str = "correct horse battery";
const POSTERS: usize = 4;

/// What one posting client did.
#[derive(Default)]
struct Outcome {
    /// seq → text of every acknowledged send.
    acked: Vec<(u64, String)>,
    /// Sends that failed after every retry.
    failed: Vec<String>,
}

/// A client posting to #ha until told to stop, at about 40 posts/s.
fn poster(
    cluster: &Cluster,
    n: usize,
    progress: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Outcome> {
    let config = cluster.client_config();
    let user = format!("poster{n}");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let client = Client::start(config).expect("client");
            client.register(&user, PASSWORD).await.expect("register");
            client.login(&user, PASSWORD).await.expect("login");
            client.join("ha").await.expect("join");
            let ha = Target::Channel("ha".into());
            let mut out = Outcome::default();
            let mut tick = tokio::time::interval(Duration::from_millis(25));
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                i += 1;
                let text = format!("{user} #{i}");
                // A nonce of this client's own: every retry, on any broker and server,
                // carries it.
                let nonce = (n as u64) << 40 | i;
                match client.send(&ha, &text, Some(nonce)).await {
                    Ok(message) => {
                        assert_eq!(message.text, text);
                        out.acked.push((message.seq, text));
                        progress.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("{text}: not acknowledged: {e}");
                        out.failed.push(text);
                    }
                }
            }
            out
        })
    })
}

/// `zchat` with the cluster's lists of brokers and proxies and its key.
fn zchat(cluster: &Cluster, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(ZCHAT);
    cmd.args(args)
        .env("ZCHAT_HOME", home)
        .env("ZCHAT_BROKER", cluster.broker_list())
        .env("ZCHAT_PROXY", cluster.proxy_list())
        .env("ZCHAT_SERVER_KEY", cluster.public_key().expect("CURVE"))
        .env("ZCHAT_PASSWORD", PASSWORD)
        .stdin(Stdio::null());
    cmd
}

fn ok(cluster: &Cluster, home: &Path, args: &[&str]) {
    let out = zchat(cluster, home, args).output().expect("run zchat");
    assert!(
        out.status.success(),
        "zchat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until every poster has had `more` more sends acknowledged than in `from`.
fn wait_progress(progress: &[Arc<AtomicU64>], from: &[u64], more: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress
        .iter()
        .zip(from)
        .any(|(p, f)| p.load(Ordering::SeqCst) < f + more)
    {
        assert!(Instant::now() < deadline, "no progress {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn counts(progress: &[Arc<AtomicU64>]) -> Vec<u64> {
    progress.iter().map(|p| p.load(Ordering::SeqCst)).collect()
}

#[test]
fn nothing_acknowledged_is_lost_or_doubled_while_servers_brokers_and_proxies_die() {
    let pg = Postgres::shared().expect("a real PostgreSQL");
    let db = pg.fresh_database().expect("database");
    let mut cluster = Cluster::builder()
        .brokers(2)
        .proxies(2)
        .servers(3)
        .db(db)
        .start()
        .expect("cluster");
    let homes = tempfile::tempdir().expect("tmp");
    let watcher = homes.path().join("watcher");
    ok(&cluster, &watcher, &["register", "watcher"]);
    ok(&cluster, &watcher, &["login", "watcher"]);
    ok(&cluster, &watcher, &["create", "#ha"]);
    let tail = Tail::spawn(zchat(&cluster, &watcher, &["tail", "--json", "#ha"]));
    // The tail is live once it shows a message posted after it started.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut probe = 0;
    'live: loop {
        assert!(Instant::now() < deadline, "the tail never went live");
        probe += 1;
        ok(
            &cluster,
            &watcher,
            &["send", "#ha", &format!("probe {probe}")],
        );
        while let Ok(line) = tail.next(Duration::from_millis(300)).ok_or(()) {
            if line["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("probe"))
            {
                break 'live;
            }
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let progress: Vec<Arc<AtomicU64>> = (0..POSTERS).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let posters: Vec<_> = (0..POSTERS)
        .map(|n| poster(&cluster, n, progress[n].clone(), stop.clone()))
        .collect();
    wait_progress(&progress, &[0; POSTERS], 20, "before any failure");

    type Fault = (
        &'static str,
        fn(&mut Cluster),
        fn(&mut Cluster) -> anyhow::Result<()>,
    );
    let faults: [Fault; 4] = [
        (
            "server 1",
            |c| c.kill_server_nth(0),
            |c| c.start_server_nth(0),
        ),
        (
            "broker 1",
            |c| c.kill_broker_nth(0),
            |c| c.start_broker_nth(0),
        ),
        ("proxy 1", |c| c.kill_proxy_nth(0), |c| c.start_proxy_nth(0)),
        (
            "server 2",
            |c| c.kill_server_nth(1),
            |c| c.start_server_nth(1),
        ),
    ];
    for (what, kill, restart) in faults {
        kill(&mut cluster);
        wait_progress(
            &progress,
            &counts(&progress),
            20,
            &format!("with {what} killed"),
        );
        restart(&mut cluster).unwrap_or_else(|e| panic!("restarting {what}: {e}"));
        wait_progress(
            &progress,
            &counts(&progress),
            20,
            &format!("after {what} restarted"),
        );
    }
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<Outcome> = posters
        .into_iter()
        .map(|p| p.join().expect("poster"))
        .collect();

    let acked: BTreeMap<u64, String> = outcomes
        .iter()
        .flat_map(|o| o.acked.iter().cloned())
        .collect();
    let n_acked: usize = outcomes.iter().map(|o| o.acked.len()).sum();
    let n_failed: usize = outcomes.iter().map(|o| o.failed.len()).sum();
    assert_eq!(acked.len(), n_acked, "two acknowledged sends got one seq");
    assert!(
        n_acked * 100 >= (n_acked + n_failed) * 99,
        "only {n_acked} of {} sends acknowledged",
        n_acked + n_failed
    );

    // History: every seq from 1 to the last exactly once, every acknowledged text at its seq.
    let history = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let client = Client::start(cluster.client_config()).expect("client");
            client.login("watcher", PASSWORD).await.expect("login");
            let ha = Target::Channel("ha".into());
            let mut all = Vec::new();
            let mut after = 0;
            loop {
                let page = client
                    .history(&ha, HistoryQuery::after(after, 500))
                    .await
                    .expect("history");
                after = page.messages.last().map_or(after, |m| m.seq);
                all.extend(page.messages);
                if !page.has_more {
                    break all;
                }
            }
        })
    };
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gap-free, each seq once"
    );
    let stored: HashMap<u64, &str> = history.iter().map(|m| (m.seq, m.text.as_str())).collect();
    let mut texts: HashMap<&str, usize> = HashMap::new();
    for m in &history {
        *texts.entry(m.text.as_str()).or_default() += 1;
    }
    for (seq, text) in &acked {
        assert_eq!(
            stored.get(seq),
            Some(&text.as_str()),
            "acknowledged #{seq} not stored as sent"
        );
        assert_eq!(texts[text.as_str()], 1, "{text:?} stored more than once");
    }

    // The live tail showed each acknowledged message exactly once (it may lag: wait for it).
    let mut shown: HashMap<u64, (String, usize)> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.keys().any(|seq| !shown.contains_key(seq)) {
        assert!(
            Instant::now() < deadline,
            "the tail never showed {} acknowledged messages",
            acked.keys().filter(|s| !shown.contains_key(s)).count()
        );
        if let Ok(line) = tail.next(Duration::from_millis(200)).ok_or(()) {
            let seq = line["seq"].as_u64().expect("seq");
            let text = line["text"].as_str().expect("text").to_string();
            shown.entry(seq).or_insert((text, 0)).1 += 1;
        }
    }
    // Anything still in the pipe counts too (a late copy would be a failure).
    while let Ok(line) = tail.next(Duration::from_millis(300)).ok_or(()) {
        let seq = line["seq"].as_u64().expect("seq");
        let text = line["text"].as_str().expect("text").to_string();
        shown.entry(seq).or_insert((text, 0)).1 += 1;
    }
    for (seq, text) in &acked {
        let (shown_text, times) = &shown[seq];
        assert_eq!(
            (shown_text.as_str(), *times),
            (text.as_str(), 1),
            "tail at #{seq}"
        );
    }
    eprintln!(
        "failover e2e: {n_acked} acknowledged, {n_failed} not, {} stored, {} shown live",
        history.len(),
        shown.len()
    );
}
