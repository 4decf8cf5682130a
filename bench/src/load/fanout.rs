//! Paced fan-out load (zchat, raw PUB/SUB, IRC): one publisher, N subscribers, latency
//! from a send time carried in each message.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use zchat_protocol::codec::decode;
use zchat_protocol::{Event, EventEnvelope, Reply, ResponseEnvelope};

use super::poll_readable;
use crate::irc::{privmsg_text, IrcConn};
use crate::stats::{latency_histogram, record_ns};
use crate::zchat::{send_frame, text_of_len};

use super::closed_loop::now_ns;

/// The message tag carried in every fan-out payload: `w` (warm-up) or `m` (measured), the
/// bench sequence number and the send time in ns.
pub(super) fn tag(measured: bool, seq: u64, ns: u64) -> String {
    format!("{}{seq:010} {ns:020} ", if measured { 'm' } else { 'w' })
}

pub(super) fn parse_tag(b: &[u8]) -> Option<(bool, u64, u64)> {
    if b.len() < 32 {
        return None;
    }
    let measured = match b[0] {
        b'm' => true,
        b'w' => false,
        _ => return None,
    };
    let seq = std::str::from_utf8(&b[1..11]).ok()?.parse().ok()?;
    let ns = std::str::from_utf8(&b[12..32]).ok()?.parse().ok()?;
    Some((measured, seq, ns))
}

/// The publishing side of a fan-out.
pub enum Publisher {
    /// A zchat poster: `send` requests over a bare DEALER, acks counted. Raw on purpose,
    /// like [`closed_loop`]: paced publishing with several requests in flight, timed by the
    /// bench, not by a client library.
    Zchat {
        /// DEALER to the broker.
        sock: zmq::Socket,
        /// Session token.
        token: String,
        /// Channel name without `#`.
        channel: String,
        /// Text length.
        text_len: usize,
        /// Successful acks of measured posts.
        acked: u64,
        /// Error replies.
        errors: u64,
        /// Requests sent and not yet answered.
        pending: u64,
    },
    /// A raw PUB socket connected to the raw proxy's XSUB.
    Raw {
        /// The PUB socket.
        sock: zmq::Socket,
        /// Topic frame.
        topic: Vec<u8>,
        /// Payload length (that of zchat's event frame).
        len: usize,
    },
    /// An IRC client joined to the channel.
    Irc {
        /// Connection.
        conn: IrcConn,
        /// Channel with `#`.
        channel: String,
        /// Text length.
        text_len: usize,
    },
}

impl Publisher {
    fn publish(&mut self, measured: bool, seq: u64) -> Result<()> {
        let t = tag(measured, seq, now_ns());
        match self {
            Publisher::Zchat {
                sock,
                token,
                channel,
                text_len,
                pending,
                ..
            } => {
                let id = if measured { seq * 2 + 1 } else { seq * 2 };
                let text = text_of_len(&t, *text_len);
                let frame = send_frame(id, token, channel, text, crate::zchat::fresh_nonce())?;
                sock.send_multipart([&b""[..], &frame], 0)?;
                *pending += 1;
            }
            Publisher::Raw { sock, topic, len } => {
                let body = text_of_len(&t, *len);
                sock.send_multipart([&topic[..], body.as_bytes()], 0)?;
            }
            Publisher::Irc {
                conn,
                channel,
                text_len,
            } => {
                let line = format!("PRIVMSG {channel} :{}\r\n", text_of_len(&t, *text_len));
                conn.write(&line)?;
            }
        }
        Ok(())
    }

    /// Reads whatever came back (acks, PINGs) without blocking.
    fn service(&mut self) -> Result<()> {
        match self {
            Publisher::Zchat {
                sock,
                acked,
                errors,
                pending,
                ..
            } => {
                while let Ok(frames) = sock.recv_multipart(zmq::DONTWAIT) {
                    *pending = pending.saturating_sub(1);
                    let env = frames
                        .last()
                        .and_then(|p| decode::<ResponseEnvelope>(p).ok());
                    match env {
                        Some(ResponseEnvelope {
                            id,
                            body: Reply::Sent { .. },
                            ..
                        }) => {
                            if id % 2 == 1 {
                                *acked += 1;
                            }
                        }
                        other => {
                            *errors += 1;
                            if *errors == 1 {
                                eprintln!("  (first error reply to a fan-out post: {other:?})");
                            }
                        }
                    }
                }
            }
            Publisher::Raw { .. } => {}
            Publisher::Irc { conn, .. } => {
                conn.read_lines()?;
            }
        }
        Ok(())
    }

    /// Waits (bounded) for every outstanding ack; returns the number of measured messages
    /// that subscribers must receive, or `None` to use the number sent.
    fn finish(&mut self, timeout: Duration) -> Result<Option<u64>> {
        let deadline = Instant::now() + timeout;
        while self.pending() > 0 && Instant::now() < deadline {
            self.service()?;
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(match self {
            Publisher::Zchat { acked, .. } => Some(*acked),
            _ => None,
        })
    }

    fn pending(&self) -> u64 {
        match self {
            Publisher::Zchat { pending, .. } => *pending,
            _ => 0,
        }
    }

    fn errors(&self) -> u64 {
        match self {
            Publisher::Zchat { errors, .. } => *errors,
            _ => 0,
        }
    }
}

/// The receiving side of one subscriber.
pub enum Subscriber {
    /// A SUB socket on zchat's proxy: events are decoded, ordered by the server's `seq`.
    Zchat(zmq::Socket),
    /// A SUB socket on the raw proxy: the payload is the tag itself.
    Raw(zmq::Socket),
    /// An IRC client joined to the channel.
    Irc(IrcConn),
}

/// One delivery: (measured?, ordering key, send time ns).
type Delivery = (bool, u64, u64);

impl Subscriber {
    fn poll_item(&self) -> zmq::PollItem<'_> {
        match self {
            Subscriber::Zchat(s) | Subscriber::Raw(s) => s.as_poll_item(zmq::POLLIN),
            Subscriber::Irc(c) => zmq::PollItem::from_fd(c.fd(), zmq::POLLIN),
        }
    }

    fn drain(&mut self, out: &mut Vec<Delivery>) -> Result<()> {
        match self {
            Subscriber::Zchat(s) => {
                while let Ok(frames) = s.recv_multipart(zmq::DONTWAIT) {
                    let Some(p) = frames.get(1) else { continue };
                    let Ok(EventEnvelope {
                        body: Event::Message { message },
                        ..
                    }) = decode::<EventEnvelope>(p)
                    else {
                        continue;
                    };
                    if let Some((m, _, ns)) = parse_tag(message.text.as_bytes()) {
                        out.push((m, message.seq, ns));
                    }
                }
            }
            Subscriber::Raw(s) => {
                while let Ok(frames) = s.recv_multipart(zmq::DONTWAIT) {
                    if let Some((m, seq, ns)) = frames.get(1).and_then(|p| parse_tag(p)) {
                        out.push((m, seq, ns));
                    }
                }
            }
            Subscriber::Irc(c) => {
                for line in c.read_lines()? {
                    if let Some((m, seq, ns)) =
                        privmsg_text(&line).and_then(|t| parse_tag(t.as_bytes()))
                    {
                        out.push((m, seq, ns));
                    }
                }
            }
        }
        Ok(())
    }
}

/// What the subscribers observed.
pub struct FanoutResult {
    /// Measured deliveries, over all subscribers.
    pub delivered: u64,
    /// Deliveries per second: `delivered` over first measured send → last delivery.
    pub per_sec: f64,
    /// Expected deliveries that never came (per subscriber, summed).
    pub lost: u64,
    /// Deliveries whose sequence number was not above the previous one (duplicates included).
    pub out_of_order: u64,
    /// Publish errors (zchat error replies).
    pub publish_errors: u64,
    /// Publish → delivery latency, µs.
    pub hist: Histogram<u64>,
}

/// Runs one fan-out: warms up until every subscriber has received a message, then publishes
/// `count` messages at `rate` per second and waits (bounded) for them to arrive everywhere.
pub fn fanout(
    mut publisher: Publisher,
    mut subs: Vec<Subscriber>,
    count: u64,
    rate: f64,
) -> Result<FanoutResult> {
    let ready = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let first_send = Arc::new(AtomicU64::new(u64::MAX));
    let pub_thread = {
        let (ready, done, expected, first_send) = (
            ready.clone(),
            done.clone(),
            expected.clone(),
            first_send.clone(),
        );
        std::thread::spawn(move || -> Result<u64> {
            let r = publish_loop(&mut publisher, count, rate, &ready, &first_send);
            let exp = match r {
                Ok(()) => publisher.finish(Duration::from_secs(10)),
                Err(e) => Err(e),
            };
            expected.store(
                exp.as_ref().ok().copied().flatten().unwrap_or(count),
                Ordering::SeqCst,
            );
            done.store(true, Ordering::SeqCst);
            exp?;
            Ok(publisher.errors())
        })
    };
    let n = subs.len();
    let mut got_warm = vec![false; n];
    let mut warm_left = n;
    let mut got = vec![0u64; n];
    let mut last: Vec<Option<u64>> = vec![None; n];
    let mut hist = latency_histogram();
    let mut ooo = 0u64;
    let mut last_delivery = 0u64;
    let mut batch = Vec::new();
    let mut readable = Vec::new();
    let hard_deadline =
        Instant::now() + Duration::from_secs(30) + Duration::from_secs_f64(count as f64 / rate);
    let mut drain_deadline: Option<Instant> = None;
    loop {
        if done.load(Ordering::SeqCst) {
            let exp = expected.load(Ordering::SeqCst);
            if got.iter().all(|&g| g >= exp) {
                break;
            }
            let dl = *drain_deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(3));
            if Instant::now() > dl {
                break;
            }
        }
        if Instant::now() > hard_deadline {
            break;
        }
        {
            let mut items: Vec<zmq::PollItem> = subs.iter().map(|s| s.poll_item()).collect();
            poll_readable(&mut items, 20, &mut readable)?;
        }
        for &k in &readable {
            batch.clear();
            subs[k].drain(&mut batch)?;
            let now = now_ns();
            for &(measured, key, ns) in &batch {
                if !measured {
                    if !got_warm[k] {
                        got_warm[k] = true;
                        warm_left -= 1;
                        if warm_left == 0 {
                            ready.store(true, Ordering::SeqCst);
                        }
                    }
                    continue;
                }
                if last[k].is_some_and(|l| key <= l) {
                    ooo += 1;
                }
                last[k] = Some(key);
                got[k] += 1;
                record_ns(&mut hist, now.saturating_sub(ns));
                last_delivery = now;
            }
        }
    }
    let publish_errors = pub_thread
        .join()
        .map_err(|_| anyhow::anyhow!("publisher panicked"))??;
    if warm_left > 0 {
        bail!("{warm_left} of {n} subscribers never received a warm-up message");
    }
    let exp = expected.load(Ordering::SeqCst);
    let delivered: u64 = got.iter().sum();
    let lost = got.iter().map(|&g| exp.saturating_sub(g)).sum();
    let start = first_send.load(Ordering::SeqCst);
    let secs = last_delivery.saturating_sub(start) as f64 / 1e9;
    Ok(FanoutResult {
        delivered,
        per_sec: if secs > 0.0 {
            delivered as f64 / secs
        } else {
            0.0
        },
        lost,
        out_of_order: ooo,
        publish_errors,
        hist,
    })
}

pub(super) fn publish_loop(
    p: &mut Publisher,
    count: u64,
    rate: f64,
    ready: &AtomicBool,
    first_send: &AtomicU64,
) -> Result<()> {
    // Warm-up: subscriptions propagate asynchronously (the zguide's slow joiner), so publish
    // warm-up messages until every subscriber has seen one.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut w = 0;
    while !ready.load(Ordering::SeqCst) {
        if Instant::now() > deadline {
            bail!("fan-out warm-up: subscribers not ready within 15 s");
        }
        p.publish(false, w)?;
        w += 1;
        for _ in 0..10 {
            p.service()?;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // Let warm-up messages still in flight drain before measuring.
    for _ in 0..50 {
        p.service()?;
        std::thread::sleep(Duration::from_millis(1));
    }
    let interval = 1e9 / rate;
    let start = now_ns();
    first_send.store(start, Ordering::SeqCst);
    for i in 0..count {
        let due = start + (i as f64 * interval) as u64;
        loop {
            p.service()?;
            let now = now_ns();
            if now >= due {
                break;
            }
            let left = due - now;
            if left > 300_000 {
                std::thread::sleep(Duration::from_nanos(left - 200_000));
            } else {
                std::thread::yield_now();
            }
        }
        p.publish(true, i + 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_round_trips() {
        let t = text_of_len(&tag(true, 42, 123_456_789), 200);
        assert_eq!(t.len(), 200);
        assert_eq!(parse_tag(t.as_bytes()), Some((true, 42, 123_456_789)));
        assert_eq!(parse_tag(b"hello"), None);
    }
}
