//! A gap-free live feed: every message of the watched conversations exactly once, in
//! `seq` order, whatever the network does (the zguide's Clone pattern).
//!
//! Live events come from the proxy; each conversation remembers the last `seq` delivered.
//! An event at or below it is a duplicate and dropped; one beyond `last + 1` reveals a gap,
//! filled from `history` before the event is delivered. Because a subscription takes a
//! moment to reach the proxy, and events are lost while the proxy or server is away, the
//! feed also re-synchronises: as soon as the proxy's `probe` proves its subscriptions live
//! (after start, every `watch` and every reconnection; PROTOCOL.md §5.2), when pings start
//! succeeding again, and every few seconds (two cheap requests compare each conversation's
//! newest `seq` with what was delivered).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use zchat_protocol::{topic, Event, Message, Target};

use crate::api::HistoryQuery;
use crate::{Client, ClientError, Live};

/// What the feed delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// A message, exactly once and in order within its conversation.
    Message(Message),
    /// The user's read marker moved (from this or another session).
    ReadMarker {
        /// The conversation.
        target: Target,
        /// The new marker.
        seq: u64,
    },
    /// Connection state, reported after every heartbeat.
    Connection {
        /// Whether the last heartbeat got a reply.
        connected: bool,
        /// Its round-trip time.
        rtt: Option<Duration>,
    },
}

enum FeedCommand {
    Watch(Target, u64),
    Unwatch(Target),
}

/// Handle to a running feed task. Dropping it stops the task.
pub struct Feed {
    commands: mpsc::UnboundedSender<FeedCommand>,
}

/// How often the heartbeat pings.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// How often a full re-sync runs even when nothing looked wrong.
const RESYNC: Duration = Duration::from_secs(5);
/// A probe not answered within this long is replaced by a new one (the proxy was away).
const PROBE_PATIENCE: Duration = Duration::from_secs(2);

impl Feed {
    /// Starts a feed for user `me` whose session inbox topic is `inbox`. Direct messages are
    /// all followed automatically (every DM conversation, starting from what `list_dms`
    /// reports when the feed starts); channels once [`Feed::watch`]ed.
    pub fn start(
        client: Client,
        me: String,
        inbox: String,
    ) -> (Feed, mpsc::UnboundedReceiver<FeedEvent>) {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let live = client.live_events();
        let task = FeedTask {
            inbox,
            client,
            me,
            tracks: HashMap::new(),
            out: out_tx,
            connected: None,
            next_sync: None,
            probing: None,
            proxy_up: true,
            dms_baselined: false,
        };
        tokio::spawn(task.run(cmd_rx, live));
        (Feed { commands: cmd_tx }, out_rx)
    }

    /// Follows a conversation, delivering every message with `seq > last_seen`.
    /// For a DM conversation this sets its baseline.
    pub fn watch(&self, target: Target, last_seen: u64) {
        let _ = self.commands.send(FeedCommand::Watch(target, last_seen));
    }

    /// Stops following a channel.
    pub fn unwatch(&self, target: &Target) {
        let _ = self.commands.send(FeedCommand::Unwatch(target.clone()));
    }
}

struct Track {
    target: Target,
    last: u64,
}

struct FeedTask {
    inbox: String,
    client: Client,
    me: String,
    tracks: HashMap<String, Track>,
    out: mpsc::UnboundedSender<FeedEvent>,
    connected: Option<bool>,
    next_sync: Option<Instant>,
    /// The probe topic subscribed last and when, until the proxy's `probe` event on it
    /// proves every subscription before it live.
    probing: Option<(String, Instant)>,
    /// False between a lost proxy connection and its return: no probing meanwhile (each
    /// probe would only queue more subscription traffic behind the outage).
    proxy_up: bool,
    dms_baselined: bool,
}

impl FeedTask {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<FeedCommand>,
        mut live: mpsc::UnboundedReceiver<Live>,
    ) {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        let mut resync = tokio::time::interval(RESYNC);
        let mut settle = tokio::time::interval(Duration::from_millis(100));
        // Baseline the DM conversations first, so old DMs are not mistaken for news, and only
        // then subscribe to the inbox: a DM that lands in between is newer than the baseline
        // and the re-sync once the probe arrives fetches it.
        self.sync_all().await;
        self.client.subscribe(&self.inbox);
        self.probe();
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(FeedCommand::Watch(target, last)) => self.watch(target, last).await,
                    Some(FeedCommand::Unwatch(target)) => {
                        if let Target::Channel(name) = &target {
                            self.client.unsubscribe(&topic::channel(name));
                        }
                        self.tracks.remove(&target.key());
                    }
                    None => return, // the Feed handle was dropped
                },
                item = live.recv() => match item {
                    Some(Live::Event { topic, event: Event::Probe { .. } }) => {
                        if self.probing.as_ref().is_some_and(|(p, _)| *p == topic) {
                            self.client.unsubscribe(&topic);
                            self.probing = None;
                            self.sync_all().await;
                        }
                    }
                    Some(Live::Event { event, .. }) => self.on_event(event).await,
                    Some(Live::ProxyConnected) => {
                        self.proxy_up = true;
                        self.probe();
                    }
                    Some(Live::ProxyDisconnected) => self.proxy_up = false,
                    None => return,
                },
                _ = heartbeat.tick() => self.heartbeat().await,
                _ = resync.tick() => self.sync_all().await,
                _ = settle.tick() => {
                    if self.next_sync.is_some_and(|t| Instant::now() >= t) {
                        self.next_sync = None;
                        self.sync_all().await;
                    }
                    let overdue = self.probing.as_ref().is_some_and(|(_, at)| at.elapsed() > PROBE_PATIENCE);
                    if overdue && self.proxy_up {
                        self.probe();
                    }
                }
            }
            if self.out.is_closed() {
                return;
            }
        }
    }

    async fn watch(&mut self, target: Target, last: u64) {
        if let Target::Channel(name) = &target {
            self.client.subscribe(&topic::channel(name));
        }
        let key = target.key();
        self.tracks.insert(key.clone(), Track { target, last });
        self.backfill(&key).await;
        self.probe();
    }

    /// Subscribes to a fresh probe topic, after every other subscription: the proxy answers
    /// with a `probe` event once it has applied it, and the feed then re-syncs, catching
    /// whatever was published before the subscriptions were live.
    fn probe(&mut self) {
        if let Some((old, _)) = self.probing.take() {
            self.client.unsubscribe(&old);
        }
        let probe = topic::probe(rand::random());
        self.client.subscribe(&probe);
        self.probing = Some((probe, Instant::now()));
    }

    async fn on_event(&mut self, event: Event) {
        match event {
            Event::Message { message } => {
                let conv = message.conversation_for(&self.me);
                let key = conv.key();
                if !self.tracks.contains_key(&key) {
                    if conv.is_channel() {
                        return; // not watched (a stale subscription)
                    }
                    if !self.dms_baselined {
                        // No baseline yet (the first sync failed), so news cannot be told
                        // from history: rather than replay whole conversations, skip it and
                        // re-sync now. The message stays in history and in unread counts.
                        self.next_sync = Some(Instant::now());
                        return;
                    }
                    // A DM conversation new since start: everything in it is news.
                    self.tracks.insert(
                        key.clone(),
                        Track {
                            target: conv,
                            last: 0,
                        },
                    );
                }
                let last = self.tracks.get(&key).map_or(0, |t| t.last);
                if message.seq <= last {
                    return; // duplicate
                }
                if message.seq > last + 1 {
                    self.backfill(&key).await; // gap: fetch what was missed (includes this one)
                }
                self.deliver(&key, message);
            }
            Event::ReadMarker { target, seq } => {
                let _ = self.out.send(FeedEvent::ReadMarker { target, seq });
            }
            Event::Probe { .. } => {} // handled in `run`
        }
    }

    /// Delivers `message` if it is the next one of its conversation.
    fn deliver(&mut self, key: &str, message: Message) {
        if let Some(track) = self.tracks.get_mut(key) {
            if message.seq == track.last + 1 {
                track.last = message.seq;
                let _ = self.out.send(FeedEvent::Message(message));
            }
        }
    }

    /// Fetches and delivers everything after the conversation's last delivered `seq`.
    async fn backfill(&mut self, key: &str) {
        for _ in 0..1000 {
            let Some(track) = self.tracks.get(key) else {
                return;
            };
            let query = HistoryQuery::after(track.last, zchat_protocol::MAX_HISTORY_LIMIT);
            match self.client.history(&track.target.clone(), query).await {
                Ok(page) => {
                    for m in page.messages {
                        self.deliver(key, m);
                    }
                    if !page.has_more {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("backfill of {key} failed: {e}");
                    self.next_sync = Some(Instant::now() + HEARTBEAT);
                    return;
                }
            }
        }
    }

    /// Compares every conversation's newest `seq` on the server with what was delivered,
    /// and backfills the ones behind (new DM conversations included).
    async fn sync_all(&mut self) {
        let mut behind: Vec<String> = Vec::new();
        match self.client.whoami().await {
            Ok(me) => {
                for c in me.channels {
                    let key = format!("#{}", c.name);
                    if let Some(t) = self.tracks.get(&key) {
                        if c.last_seq > t.last {
                            behind.push(key);
                        }
                    }
                }
            }
            Err(e) => return self.sync_failed(e),
        }
        match self.client.dms().await {
            Ok(conversations) => {
                let baseline = !self.dms_baselined;
                self.dms_baselined = true;
                for d in conversations {
                    let target = Target::User(d.peer.clone());
                    let key = target.key();
                    match self.tracks.get(&key) {
                        Some(t) if d.last_seq > t.last => behind.push(key),
                        Some(_) => {}
                        None => {
                            // At start, existing conversations are history, not news.
                            let last = if baseline { d.last_seq } else { 0 };
                            self.tracks.insert(key.clone(), Track { target, last });
                            if d.last_seq > last {
                                behind.push(key);
                            }
                        }
                    }
                }
            }
            Err(e) => return self.sync_failed(e),
        }
        for key in behind {
            self.backfill(&key).await;
        }
    }

    fn sync_failed(&mut self, e: ClientError) {
        tracing::debug!("sync failed: {e}");
        self.next_sync = Some(Instant::now() + HEARTBEAT);
    }

    async fn heartbeat(&mut self) {
        let started = Instant::now();
        let ok = self.client.ping().await.is_ok();
        let rtt = ok.then(|| started.elapsed());
        if ok && self.connected == Some(false) {
            // Back after an outage: catch up on whatever was published meanwhile.
            self.next_sync = Some(Instant::now());
        }
        self.connected = Some(ok);
        let _ = self.out.send(FeedEvent::Connection { connected: ok, rtt });
    }
}
