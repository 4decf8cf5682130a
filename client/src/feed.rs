//! A gap-free live feed: every message of the watched conversations exactly once, in
//! `seq` order, whatever the network does (the zguide's Clone pattern).
//!
//! Live events come from the proxies (each event once per proxy the client hears); each
//! conversation keeps a [`Sequencer`] that remembers the last `seq` delivered. An event at
//! or below it, or one already held, is a duplicate and dropped; one beyond `last + 1` is
//! held, since two servers publishing at once may deliver 3 before 2: the missing ones
//! usually follow within milliseconds and release it. A gap still open after
//! [`REORDER_PATIENCE`] is filled from `history`. Read markers only move forward, so a marker
//! at or below the last one reported is a copy (or stale) and dropped too. Because a
//! subscription takes a moment to reach a proxy, and events are lost while the proxies or
//! the server are away, the feed also re-synchronises: as soon as a proxy's `probe` proves
//! its subscriptions live (after start, every `watch`, and whenever a proxy connection is
//! made or lost; PROTOCOL.md §5.2, §11.1), when pings start succeeding again, and every few
//! seconds (two cheap requests compare each conversation's newest `seq` with what was
//! delivered).
//!
//! With several proxies, subscriptions count as live once the probe came back from **one**
//! of them: every server publishes every event to every proxy, so one proxy with live
//! subscriptions delivers everything; losing that proxy is itself a connection event, which
//! probes again and re-syncs.
//!
//! The connection state comes from a heartbeat on a task of its own, so that a slow re-sync
//! or backfill (whose requests retry for up to 9 s while the server is away) never delays
//! it: see [`HEARTBEAT`] and [`SILENCE`] for when the link is reported down and up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use zchat_protocol::{topic, Event, Message, Target};

use crate::api::HistoryQuery;
use crate::order::Sequencer;
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
    /// Connection state from the heartbeat: reported as soon as it changes (down after
    /// [`SILENCE`] without an answer, up at the first answer), and while up at most every
    /// [`RTT_REPORT`] with a fresh round-trip time.
    Connection {
        /// Whether the server answers heartbeats.
        connected: bool,
        /// The round-trip time of the answer reported (`None` when down).
        rtt: Option<Duration>,
    },
    /// The heartbeat's transport handshake failed ([`ClientError::Handshake`]: a wrong
    /// server key, or a server not speaking CURVE): the sentence to show, naming the key.
    /// Reported once per outage, with the link reported down; retrying cannot fix it.
    HandshakeFailed(String),
}

enum FeedCommand {
    Watch(Target, u64),
    Unwatch(Target),
}

/// Handle to a running feed task. Dropping it stops the task (and its heartbeat).
pub struct Feed {
    commands: mpsc::UnboundedSender<FeedCommand>,
    heartbeat: tokio::task::AbortHandle,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// How often the heartbeat sends a ping. Pings overlap: each waits up to
/// [`PING_DEADLINE`] on its own, and the state follows the answers, so a server that is
/// slow but alive (a login storm, a busy disk) keeps the link up as long as answers keep
/// coming, however long each takes.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// The link is reported down when no ping has been answered for this long: two heartbeats
/// missed in a row plus half a period of grace for jitter. With a ping every second, a dead
/// server or broker is reported 1.5–2.5 s after it stops answering (2.5 s after start when it
/// never answered), and up again at the first answer after it returns; a brief stall of up to
/// 2.5 s between two answers does not make the state flap.
pub const SILENCE: Duration = Duration::from_millis(2500);
/// How long one ping waits for its answer: longer than [`SILENCE`], so a slow answer still
/// counts, and short enough to bound the pings in flight (five).
pub const PING_DEADLINE: Duration = Duration::from_secs(5);
/// While the link is up, a fresh round-trip time is reported at most this often (a change of
/// state is reported at once): the screen has no reason to redraw every second for it.
pub const RTT_REPORT: Duration = Duration::from_secs(5);
/// After a failed re-sync, how long before the next attempt.
const SYNC_RETRY: Duration = Duration::from_secs(2);
/// How often a full re-sync runs even when nothing looked wrong.
const RESYNC: Duration = Duration::from_secs(5);
/// A probe not answered within this long is replaced by a new one (the proxy was away).
const PROBE_PATIENCE: Duration = Duration::from_secs(2);
/// How long a gap in a conversation may stay open, waiting for the missing messages to
/// arrive live, before it is filled from `history`. Events of one conversation published by
/// two servers arrive out of order by well under this; a message that was truly lost costs
/// this much extra delay.
pub const REORDER_PATIENCE: Duration = Duration::from_millis(200);
/// Up to this much more patience, drawn once per feed (see `FeedTask::gap_patience`).
const GAP_JITTER_MS: u64 = 300;

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
        let (back_tx, back_rx) = mpsc::unbounded_channel();
        let live = client.live_events();
        let heartbeat = tokio::spawn(
            Heartbeat {
                client: client.clone(),
                out: out_tx.clone(),
                back: back_tx,
            }
            .run(),
        )
        .abort_handle();
        let task = FeedTask {
            inbox,
            client,
            me,
            tracks: HashMap::new(),
            markers: HashMap::new(),
            out: out_tx,
            next_sync: None,
            probing: None,
            proxies_up: None,
            dms_baselined: false,
            gap_patience: REORDER_PATIENCE
                + Duration::from_millis(rand::random::<u64>() % GAP_JITTER_MS),
        };
        tokio::spawn(task.run(cmd_rx, live, back_rx));
        (
            Feed {
                commands: cmd_tx,
                heartbeat,
            },
            out_rx,
        )
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
    seq: Sequencer,
}

impl Track {
    fn new(target: Target, last: u64) -> Track {
        Track {
            target,
            seq: Sequencer::new(last),
        }
    }
}

struct FeedTask {
    inbox: String,
    client: Client,
    me: String,
    tracks: HashMap<String, Track>,
    /// The last read marker reported per conversation key: one at or below it is a copy
    /// (one per proxy) or stale, and not reported again.
    markers: HashMap<String, u64>,
    out: mpsc::UnboundedSender<FeedEvent>,
    next_sync: Option<Instant>,
    /// The probe topic subscribed last and when, until the proxy's `probe` event on it
    /// proves every subscription before it live.
    probing: Option<(String, Instant)>,
    /// Proxy connections up (`None` until the first is reported). No probing while it is
    /// `Some(0)` (each probe would only queue more subscription traffic behind the outage).
    proxies_up: Option<usize>,
    dms_baselined: bool,
    /// [`REORDER_PATIENCE`] plus this feed's own random share of [`GAP_JITTER_MS`]: when a
    /// publication is lost, the thousands of members of a channel do not all ask `history`
    /// for it in the same millisecond.
    gap_patience: Duration,
}

impl FeedTask {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<FeedCommand>,
        mut live: mpsc::UnboundedReceiver<Live>,
        mut back: mpsc::UnboundedReceiver<()>,
    ) {
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
                        self.proxies_up = Some(self.proxies_up.unwrap_or(0) + 1);
                        self.probe();
                    }
                    Some(Live::ProxyDisconnected) => {
                        let up = self.proxies_up.unwrap_or(1).saturating_sub(1);
                        self.proxies_up = Some(up);
                        // Another proxy is still up, but the lost one may be the one whose
                        // subscriptions were proven live: prove the others', then re-sync.
                        if up > 0 {
                            self.probe();
                        }
                    }
                    None => return,
                },
                // The heartbeat saw the server answer again after an outage: catch up on
                // whatever was published meanwhile.
                Some(()) = back.recv() => self.next_sync = Some(Instant::now()),
                _ = resync.tick() => self.sync_all().await,
                _ = settle.tick() => {
                    if self.next_sync.is_some_and(|t| Instant::now() >= t) {
                        self.next_sync = None;
                        self.sync_all().await;
                    }
                    let overdue = self.probing.as_ref().is_some_and(|(_, at)| at.elapsed() > PROBE_PATIENCE);
                    if overdue && self.proxies_up != Some(0) {
                        self.probe();
                    }
                    self.fill_old_gaps().await;
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
        self.tracks.insert(key.clone(), Track::new(target, last));
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
                    self.tracks.insert(key.clone(), Track::new(conv, 0));
                }
                // Duplicates dropped, a message beyond a gap held (see `fill_old_gaps`).
                self.offer(&key, message);
                if self.tracks.get(&key).is_some_and(|t| t.seq.overfull()) {
                    self.backfill(&key).await;
                }
            }
            Event::ReadMarker { target, seq } => {
                let key = target.key();
                if self.markers.get(&key).is_some_and(|&known| seq <= known) {
                    return; // a copy from another proxy, or overtaken
                }
                self.markers.insert(key, seq);
                let _ = self.out.send(FeedEvent::ReadMarker { target, seq });
            }
            Event::Probe { .. } => {} // handled in `run`
        }
    }

    /// Hands `message` to its conversation's sequencer and delivers what that releases:
    /// nothing for a duplicate or a message beyond a gap, else it and the held messages
    /// that follow it.
    fn offer(&mut self, key: &str, message: Message) {
        if let Some(track) = self.tracks.get_mut(key) {
            for m in track.seq.offer(message, Instant::now()) {
                let _ = self.out.send(FeedEvent::Message(m));
            }
        }
    }

    /// Backfills every conversation whose gap has waited its patience in vain.
    async fn fill_old_gaps(&mut self) {
        let due: Vec<String> = self
            .tracks
            .iter()
            .filter(|(_, t)| {
                t.seq
                    .gap_since()
                    .is_some_and(|at| at.elapsed() >= self.gap_patience)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.backfill(&key).await;
        }
    }

    /// Fetches and delivers everything after the conversation's last delivered `seq`
    /// (which also releases the messages held beyond a gap).
    async fn backfill(&mut self, key: &str) {
        for _ in 0..1000 {
            let Some(track) = self.tracks.get(key) else {
                return;
            };
            let last = track.seq.last();
            let query = HistoryQuery::after(last, zchat_protocol::MAX_HISTORY_LIMIT);
            match self.client.history(&track.target.clone(), query).await {
                Ok(page) => {
                    for m in page.messages {
                        self.offer(key, m);
                    }
                    let advanced = self.tracks.get(key).is_some_and(|t| t.seq.last() > last);
                    if !page.has_more || !advanced {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("backfill of {key} failed: {e}");
                    if let Some(track) = self.tracks.get_mut(key) {
                        track.seq.gap_retried(Instant::now());
                    }
                    self.next_sync = Some(Instant::now() + SYNC_RETRY);
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
                        if c.last_seq > t.seq.last() {
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
                        Some(t) if d.last_seq > t.seq.last() => behind.push(key),
                        Some(_) => {}
                        None => {
                            // At start, existing conversations are history, not news.
                            let last = if baseline { d.last_seq } else { 0 };
                            self.tracks.insert(key.clone(), Track::new(target, last));
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
        self.next_sync = Some(Instant::now() + SYNC_RETRY);
    }
}

/// The heartbeat task: a ping every [`HEARTBEAT`], the link's state from the answers.
struct Heartbeat {
    client: Client,
    out: mpsc::UnboundedSender<FeedEvent>,
    /// Told when the server answers again after the link was reported down.
    back: mpsc::UnboundedSender<()>,
}

impl Heartbeat {
    async fn run(self) {
        use tokio::time::Instant;
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The pings in flight; dropping the set (when the task is aborted) cancels them.
        let mut pings = tokio::task::JoinSet::new();
        // When the last answer arrived (the start counts as one: never answering within
        // `SILENCE` of it is an outage too), whether the link is up (`None` until known),
        // and when a round-trip time was last reported.
        let mut last_answer = Instant::now();
        let mut up: Option<bool> = None;
        let mut reported = Instant::now();
        // A handshake failure was reported and no ping has been answered since.
        let mut refused = false;
        loop {
            let silent = tokio::time::sleep_until(last_answer + SILENCE);
            tokio::select! {
                _ = tick.tick() => {
                    if self.out.is_closed() {
                        return;
                    }
                    let client = self.client.clone();
                    pings.spawn(async move {
                        let sent = Instant::now();
                        client.ping_within(PING_DEADLINE).await.map(|_| sent.elapsed())
                    });
                }
                Some(done) = pings.join_next(), if !pings.is_empty() => {
                    let rtt = match done {
                        Ok(Ok(rtt)) => rtt,
                        Ok(Err(e @ ClientError::Handshake { .. })) => {
                            if !refused {
                                refused = true;
                                up = Some(false);
                                let _ = self.out.send(FeedEvent::HandshakeFailed(e.to_string()));
                                let state = FeedEvent::Connection { connected: false, rtt: None };
                                let _ = self.out.send(state);
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    refused = false;
                    last_answer = Instant::now();
                    if up != Some(true) || reported.elapsed() >= RTT_REPORT {
                        if up == Some(false) {
                            let _ = self.back.send(());
                        }
                        up = Some(true);
                        reported = Instant::now();
                        let state = FeedEvent::Connection { connected: true, rtt: Some(rtt) };
                        let _ = self.out.send(state);
                    }
                }
                () = silent, if up != Some(false) => {
                    up = Some(false);
                    let state = FeedEvent::Connection { connected: false, rtt: None };
                    let _ = self.out.send(state);
                }
            }
        }
    }
}
