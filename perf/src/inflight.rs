//! The side table of transactions awaiting an answer.
//!
//! Request number `seq` (carried in field 37) lives in slot
//! `seq & mask` of a ring allocated once. A slot remembers when the request
//! left (TSC), which acquirer sent it with which STAN, and which issuer it
//! was routed to, so the answer's latency is one subtraction and a second
//! answer to the same request is caught. Sequence numbers are issued in
//! order, so expiry walks from the oldest open slot and stops at the first
//! one still inside its deadline: O(1) per request on average.

/// State of one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Answered,
    Expired,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    seq: u64,
    sent_tsc: u64,
    stan: u32,
    acquirer: u16,
    /// Index of the issuer the request routes to; `u16::MAX` for none.
    issuer: u16,
    state: State,
}

const EMPTY: Slot = Slot {
    seq: u64::MAX,
    sent_tsc: 0,
    stan: 0,
    acquirer: 0,
    issuer: u16::MAX,
    state: State::Expired,
};

/// No issuer (0800 echo, answered by the switch).
pub const NO_ISSUER: u16 = u16::MAX;

/// What an answer turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The first answer to an open request.
    First { sent_tsc: u64, issuer: u16 },
    /// A second (or later) answer to the same request.
    Duplicate,
    /// An answer after the request's deadline passed (already counted lost).
    Late,
    /// No such request: unknown sequence, or acquirer/STAN do not match it.
    Unknown,
}

/// The in-flight table.
#[derive(Debug)]
pub struct InFlight {
    slots: Vec<Slot>,
    mask: u64,
    next_seq: u64,
    oldest: u64,
    open: u64,
}

impl InFlight {
    /// A table of `capacity` slots, rounded up to a power of two.
    pub fn new(capacity: usize) -> InFlight {
        InFlight::starting_at(capacity, 0)
    }

    /// As [`InFlight::new`], numbering requests from `first_seq`.
    pub fn starting_at(capacity: usize, first_seq: u64) -> InFlight {
        let cap = capacity.max(2).next_power_of_two();
        InFlight {
            slots: vec![EMPTY; cap],
            mask: cap as u64 - 1,
            next_seq: first_seq,
            oldest: first_seq,
            open: 0,
        }
    }

    pub fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Requests sent and neither answered nor expired.
    pub fn open(&self) -> u64 {
        self.open
    }

    /// Requests that can be sent before the oldest slot must be freed.
    #[inline]
    pub fn room(&self) -> u64 {
        self.capacity() - (self.next_seq - self.oldest)
    }

    /// The sequence number the next request gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Records a request leaving now; returns its sequence number, or
    /// `None` when the table is full (the caller waits).
    #[inline]
    pub fn insert(&mut self, sent_tsc: u64, acquirer: u16, stan: u32, issuer: u16) -> Option<u64> {
        if self.room() == 0 {
            return None;
        }
        let seq = self.next_seq;
        self.slots[(seq & self.mask) as usize] = Slot {
            seq,
            sent_tsc,
            stan,
            acquirer,
            issuer,
            state: State::Open,
        };
        self.next_seq += 1;
        self.open += 1;
        Some(seq)
    }

    /// Matches an answer for request `seq` from `acquirer` with `stan`.
    #[inline]
    pub fn answer(&mut self, seq: u64, acquirer: u16, stan: u32) -> Answer {
        if seq >= self.next_seq {
            return Answer::Unknown;
        }
        let slot = &mut self.slots[(seq & self.mask) as usize];
        if slot.seq != seq || slot.acquirer != acquirer || slot.stan != stan {
            return Answer::Unknown;
        }
        match slot.state {
            State::Open => {
                slot.state = State::Answered;
                self.open -= 1;
                Answer::First {
                    sent_tsc: slot.sent_tsc,
                    issuer: slot.issuer,
                }
            }
            State::Answered => Answer::Duplicate,
            State::Expired => Answer::Late,
        }
    }

    /// Frees slots from the oldest on: answered ones, and open ones sent
    /// `deadline` ticks or more before `now` (returned as the count lost).
    #[inline]
    pub fn expire(&mut self, now: u64, deadline: u64) -> u64 {
        let mut lost = 0;
        while self.oldest < self.next_seq {
            let slot = &mut self.slots[(self.oldest & self.mask) as usize];
            if slot.state == State::Open {
                if now.saturating_sub(slot.sent_tsc) < deadline {
                    break;
                }
                slot.state = State::Expired;
                self.open -= 1;
                lost += 1;
            }
            self.oldest += 1;
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_takes_exactly_one_answer() {
        let mut t = InFlight::new(8);
        let a = t.insert(100, 0, 1, 3).unwrap();
        let b = t.insert(110, 1, 1, NO_ISSUER).unwrap();
        assert_eq!(t.open(), 2);
        assert_eq!(
            t.answer(b, 1, 1),
            Answer::First {
                sent_tsc: 110,
                issuer: NO_ISSUER
            }
        );
        assert_eq!(t.answer(b, 1, 1), Answer::Duplicate);
        assert_eq!(t.answer(a, 1, 1), Answer::Unknown, "wrong acquirer");
        assert_eq!(t.answer(a, 0, 2), Answer::Unknown, "wrong STAN");
        assert_eq!(t.answer(9, 0, 1), Answer::Unknown, "never sent");
        assert_eq!(
            t.answer(a, 0, 1),
            Answer::First {
                sent_tsc: 100,
                issuer: 3
            }
        );
        assert_eq!(t.open(), 0);
    }

    #[test]
    fn unanswered_requests_expire_in_order_and_late_answers_are_told_apart() {
        let mut t = InFlight::new(4);
        let a = t.insert(0, 0, 1, 0).unwrap();
        let b = t.insert(50, 0, 2, 0).unwrap();
        assert_eq!(t.expire(99, 100), 0, "nothing is due yet");
        assert_eq!(t.expire(100, 100), 1, "the first is due");
        assert_eq!(t.answer(a, 0, 1), Answer::Late);
        assert_eq!(
            t.answer(b, 0, 2),
            Answer::First {
                sent_tsc: 50,
                issuer: 0
            }
        );
        assert_eq!(t.expire(1000, 100), 0, "answered ones free without loss");
        assert_eq!(t.room(), 4);
    }

    #[test]
    fn a_full_window_refuses_until_the_oldest_is_freed() {
        let mut t = InFlight::new(2);
        let a = t.insert(0, 0, 1, 0).unwrap();
        t.insert(0, 0, 2, 0).unwrap();
        assert_eq!(t.insert(0, 0, 3, 0), None);
        t.answer(a, 0, 1);
        assert_eq!(t.insert(0, 0, 3, 0), None, "freed only by the expiry walk");
        t.expire(1, 1000);
        assert!(t.insert(0, 0, 3, 0).is_some());
    }
}
