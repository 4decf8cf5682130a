//! Putting one conversation's messages back in order: the feed's per-conversation
//! [`Sequencer`].
//!
//! Messages reach a client more than once and out of order: every event arrives once per
//! proxy the SUB socket hears, two servers publishing at once may deliver `seq` 3 before 2,
//! and a backfilled page overlaps what arrived live. A sequencer releases each `seq` exactly
//! once and in increasing order, with no gap: a message beyond the next one expected is held
//! until the missing ones arrive (most reorderings heal within milliseconds), and the feed
//! backfills from `history` when a gap outlives its patience ([`Sequencer::gap_since`]).
//! Pure logic, no I/O, so its every case is unit-tested.

use std::collections::BTreeMap;
use std::time::Instant;

use zchat_protocol::Message;

/// Most messages held beyond a gap: past this the gap is treated as overdue at once (a
/// backfill fills it), so a lost message never makes the buffer grow without bound.
pub(crate) const MAX_HELD: usize = 1000;

/// One conversation's delivery state: the last `seq` released and the messages held
/// beyond a gap.
#[derive(Debug)]
pub(crate) struct Sequencer {
    last: u64,
    held: BTreeMap<u64, Message>,
    /// Since when the oldest unfilled gap has been waiting (`None`: no gap).
    gap_since: Option<Instant>,
}

impl Sequencer {
    /// Everything up to `last` counts as already delivered.
    pub(crate) fn new(last: u64) -> Sequencer {
        Sequencer {
            last,
            held: BTreeMap::new(),
            gap_since: None,
        }
    }

    /// The last `seq` released.
    pub(crate) fn last(&self) -> u64 {
        self.last
    }

    /// Takes one message (live or from a history page) and returns what can now be
    /// released, in order: nothing for a duplicate (at or below `last`, or already held)
    /// or for a message beyond a gap (held), else it and every held message that follows
    /// without a gap.
    pub(crate) fn offer(&mut self, m: Message, now: Instant) -> Vec<Message> {
        if m.seq <= self.last || self.held.contains_key(&m.seq) {
            return Vec::new();
        }
        if m.seq > self.last + 1 {
            self.held.insert(m.seq, m);
            self.gap_since.get_or_insert(now);
            return Vec::new();
        }
        let mut out = vec![m];
        self.last += 1;
        while let Some(next) = self.held.remove(&(self.last + 1)) {
            out.push(next);
            self.last += 1;
        }
        if self.held.is_empty() {
            self.gap_since = None;
        }
        out
    }

    /// Since when a gap has been open, if one is: the feed backfills once it is older than
    /// its patience, or at once when the sequencer holds [`MAX_HELD`] messages.
    pub(crate) fn gap_since(&self) -> Option<Instant> {
        self.gap_since
    }

    /// Whether so many messages wait beyond the gap that it must be filled now.
    pub(crate) fn overfull(&self) -> bool {
        self.held.len() >= MAX_HELD
    }

    /// Restarts the gap's clock (after a backfill that could not fill it, e.g. the server
    /// did not answer): the next attempt waits its patience again.
    pub(crate) fn gap_retried(&mut self, now: Instant) {
        if self.gap_since.is_some() {
            self.gap_since = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use zchat_protocol::Target;

    use super::*;

    fn msg(seq: u64) -> Message {
        Message {
            target: Target::Channel("dev".into()),
            seq,
            ts: 0,
            from: "ana".into(),
            text: format!("m{seq}"),
        }
    }

    /// Feeds `seqs` in and returns every seq released, in release order.
    fn released(seq: &mut Sequencer, seqs: &[u64]) -> Vec<u64> {
        let now = Instant::now();
        seqs.iter()
            .flat_map(|&s| seq.offer(msg(s), now))
            .map(|m| m.seq)
            .collect()
    }

    #[test]
    fn duplicates_and_reordering_release_each_seq_once_in_order() {
        let mut s = Sequencer::new(0);
        assert_eq!(released(&mut s, &[1, 3, 2, 3, 4]), vec![1, 2, 3, 4]);
        assert_eq!(s.last(), 4);
        assert!(s.gap_since().is_none());
    }

    #[test]
    fn every_event_twice_as_from_two_proxies() {
        let mut s = Sequencer::new(0);
        assert_eq!(
            released(&mut s, &[1, 1, 2, 3, 2, 3, 5, 4, 5, 4, 6, 6]),
            vec![1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn a_gap_holds_later_messages_until_it_is_filled() {
        let mut s = Sequencer::new(10);
        let t0 = Instant::now();
        assert!(s.offer(msg(13), t0).is_empty());
        assert!(s.offer(msg(12), t0 + Duration::from_millis(5)).is_empty());
        assert_eq!(
            s.gap_since(),
            Some(t0),
            "the gap's clock starts at its first sign"
        );
        // Old news and duplicates of what is held change nothing.
        assert!(s.offer(msg(9), t0).is_empty());
        assert!(s.offer(msg(13), t0).is_empty());
        // A backfilled page fills it: 11, then the held 12 and 13, once.
        let out: Vec<u64> = [11, 12, 13, 14]
            .into_iter()
            .flat_map(|q| s.offer(msg(q), t0))
            .map(|m| m.seq)
            .collect();
        assert_eq!(out, vec![11, 12, 13, 14]);
        assert!(s.gap_since().is_none());
    }

    #[test]
    fn a_partly_filled_gap_stays_open() {
        let mut s = Sequencer::new(0);
        assert_eq!(released(&mut s, &[3, 5, 1]), vec![1]);
        assert!(s.gap_since().is_some());
        assert_eq!(released(&mut s, &[2]), vec![2, 3]);
        assert!(s.gap_since().is_some(), "4 is still missing");
        assert_eq!(released(&mut s, &[4]), vec![4, 5]);
        assert!(s.gap_since().is_none());
    }

    #[test]
    fn the_buffer_says_when_it_is_full() {
        let mut s = Sequencer::new(0);
        let now = Instant::now();
        for q in 2..(2 + MAX_HELD as u64) {
            assert!(s.offer(msg(q), now).is_empty());
        }
        assert!(s.overfull());
        let out = s.offer(msg(1), now);
        assert_eq!(out.len(), MAX_HELD + 1);
        assert!(!s.overfull());
    }

    #[test]
    fn a_retried_gap_waits_again() {
        let mut s = Sequencer::new(0);
        let t0 = Instant::now();
        s.offer(msg(2), t0);
        let later = t0 + Duration::from_secs(1);
        s.gap_retried(later);
        assert_eq!(s.gap_since(), Some(later));
        let mut none = Sequencer::new(0);
        none.gap_retried(later);
        assert!(none.gap_since().is_none(), "no gap, nothing to time");
    }
}
