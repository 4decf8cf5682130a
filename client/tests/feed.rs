//! The gap-free feed against the real backend: a late joiner's backfill, and a proxy outage
//! during which publications are lost and must be backfilled without duplicates.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: fail loudly where they fail

use std::time::Duration;

use tokio::time::timeout;
use zchat_backend::testkit::Cluster;
use zchat_client::feed::{Feed, FeedEvent};
use zchat_client::Client;
use zchat_protocol::{Message, Target};

const PW: &str = "correct horse battery";

async fn signup(cluster: &Cluster, user: &str) -> (Client, String, String) {
    let client = Client::start(cluster.client_config()).expect("client");
    client.register(user, PW).await.expect("register");
    let session = client.login(user, PW).await.expect("login");
    (client, session.user, session.inbox)
}

async fn post(client: &Client, target: &str, text: &str) -> Message {
    let target = Target::parse(target).expect("target");
    client
        .send(&target, text, Some(rand::random()))
        .await
        .expect("send")
}

async fn next_messages(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<FeedEvent>,
    n: usize,
    within: Duration,
) -> Vec<Message> {
    let mut out = Vec::new();
    let _ = timeout(within, async {
        while out.len() < n {
            match rx.recv().await {
                Some(FeedEvent::Message(m)) => out.push(m),
                Some(_) => {}
                None => return,
            }
        }
    })
    .await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiner_backfills_then_follows_live_and_survives_a_proxy_outage() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start().expect("cluster"))
        .await
        .expect("join");
    let (alice, _, _) = signup(&cluster, "alice").await;
    alice.create_channel("news", "").await.expect("create");
    for i in 1..=5 {
        post(&alice, "#news", &format!("early {i}")).await;
    }
    let (bob, bob_name, inbox) = signup(&cluster, "bob").await;
    bob.join("news").await.expect("join");
    let (feed, mut rx) = Feed::start(bob.clone(), bob_name, inbox);
    // Bob has seen message 2 (say, from a previous run): he gets 3..=5 from history...
    feed.watch(Target::Channel("news".into()), 2);
    let got = next_messages(&mut rx, 3, Duration::from_secs(10)).await;
    assert_eq!(got.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
    // ...then live ones, DMs included. (Two conversations: no order between them. The
    // channel's subscription may not be live yet when 6 is posted; then the re-sync that
    // follows the feed's probe brings it.)
    post(&alice, "#news", "live 6").await;
    post(&alice, "@bob", "a DM").await;
    let got = next_messages(&mut rx, 2, Duration::from_secs(10)).await;
    let mut got: Vec<_> = got.iter().map(|m| (m.seq, m.text.as_str())).collect();
    got.sort_unstable();
    assert_eq!(got, vec![(1, "a DM"), (6, "live 6")]);

    // The proxy goes away: these publications are lost on the wire.
    cluster.stop_proxy();
    for i in 7..=9 {
        post(&alice, "#news", &format!("during outage {i}")).await;
    }
    cluster.start_proxy().expect("proxy back");
    post(&alice, "#news", "after outage 10").await;
    let got = next_messages(&mut rx, 4, Duration::from_secs(20)).await;
    assert_eq!(
        got.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![7, 8, 9, 10],
        "backfilled in order, no gaps"
    );
    // And nothing twice: a marker posted now is the very next message.
    let marker = post(&alice, "#news", "marker 11").await;
    let next = next_messages(&mut rx, 1, Duration::from_secs(10)).await;
    assert_eq!(next, vec![marker], "duplicates came before the marker");
    drop(feed);
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .expect("drop");
}
