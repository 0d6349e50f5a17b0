//! `RecentAnswers`: how the newest requests that changed money were
//! answered, kept so a restarted switch can rebuild its duplicate filters.
//!
//! The issue's recovery rule: replay rebuilds "the duplicate filter's
//! recent entries". An acquirer that did not get (or lost) the answer to an
//! approved request retransmits it, possibly after the switch crashed and
//! restarted; the retransmission must get the recorded answer again, never
//! reach the issuer a second time. The lcores journal that answer with the
//! change ([`journal::money::Answer`]); applying the record appends it here.
//! Only the newest `capacity` are kept (a FIFO ring, as the filter's own
//! window), so memory is bounded however long the journal.
//!
//! Requests that changed no money (declines, format errors) are not
//! journaled and therefore not rebuilt: a retransmission of one after a
//! restart is forwarded again, which moves no money either.

use std::collections::VecDeque;

use journal::money::{Answer, MoneyRecord};

use crate::types::ParticipantId;

/// How many answers a ledger keeps unless told otherwise: the switch's
/// default duplicate window (`[switch] dedup_capacity`).
pub const DEFAULT_RECENT_ANSWERS: usize = 1_000_000;

/// One answered request, by the key the duplicate filter knows it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnsweredRequest {
    pub originator: ParticipantId,
    /// Field 11 of the request as received.
    pub stan: [u8; 6],
    /// Field 7 of the request as received.
    pub transmission: [u8; 10],
    /// Field 37.
    pub rrn: [u8; 12],
    /// Field 39 the acquirer got.
    pub response_code: [u8; 2],
    /// Field 38 the acquirer got, if any.
    pub auth_code: Option<[u8; 6]>,
}

impl AnsweredRequest {
    /// The answered request a journal record carries, if it carries one
    /// (records an lcore wrote since answers are journaled).
    pub fn of_record(record: &MoneyRecord<'_>) -> Option<AnsweredRequest> {
        let (originator, rrn, answer): (_, _, &Option<Answer>) = match record {
            MoneyRecord::Approved(a) => (a.originator, a.key.rrn, &a.answer),
            MoneyRecord::Hold(h) => (h.originator, h.key.rrn, &h.answer),
            MoneyRecord::HoldComplete(c) => (c.originator, c.key.rrn, &c.answer),
            MoneyRecord::Reversal(r) => (r.originator, r.key.rrn, &r.answer),
            _ => return None,
        };
        let a = answer.as_ref()?;
        Some(AnsweredRequest {
            originator,
            stan: a.stan,
            transmission: a.transmission,
            rrn,
            response_code: a.response_code.0,
            auth_code: a.auth_code,
        })
    }
}

/// The newest answered requests, oldest first, at most `capacity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentAnswers {
    ring: VecDeque<AnsweredRequest>,
    capacity: usize,
}

impl Default for RecentAnswers {
    fn default() -> Self {
        RecentAnswers::new(DEFAULT_RECENT_ANSWERS)
    }
}

impl RecentAnswers {
    /// An empty ring keeping at most `capacity` answers. Memory grows with
    /// the answers actually kept, up to `capacity`.
    pub fn new(capacity: usize) -> RecentAnswers {
        RecentAnswers {
            ring: VecDeque::new(),
            capacity,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keeps at most `capacity` answers from now on, dropping the oldest
    /// if more are held.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.ring.len() > capacity {
            self.ring.pop_front();
        }
    }

    /// Appends the newest answer, dropping the oldest when full.
    #[inline]
    pub fn push(&mut self, answer: AnsweredRequest) {
        if self.capacity == 0 {
            return;
        }
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(answer);
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &AnsweredRequest> {
        self.ring.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(n: u8) -> AnsweredRequest {
        AnsweredRequest {
            originator: 1,
            stan: [b'0', b'0', b'0', b'0', b'0', b'0' + n],
            transmission: *b"1127181300",
            rrn: *b"000000000001",
            response_code: *b"00",
            auth_code: None,
        }
    }

    #[test]
    fn a_full_ring_drops_the_oldest_answer() {
        let mut r = RecentAnswers::new(2);
        for n in 1..=3 {
            r.push(answered(n));
        }
        assert_eq!(
            r.iter().copied().collect::<Vec<_>>(),
            vec![answered(2), answered(3)]
        );
    }

    #[test]
    fn shrinking_keeps_the_newest() {
        let mut r = RecentAnswers::new(5);
        for n in 1..=4 {
            r.push(answered(n));
        }
        r.set_capacity(1);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![answered(4)]);
        let mut none = RecentAnswers::new(0);
        none.push(answered(1));
        assert!(none.is_empty());
    }
}
