//! `DuplicateFilter`: requests seen recently, and how they were answered.
//!
//! An acquirer that repeats a request (same originator, field 11 STAN,
//! field 7 date/time, field 37 RRN) must not cause a second forward; if the
//! first one has been answered, the switch answers the repeat the same way.
//! The window is the last `capacity` distinct requests: keys live in a ring
//! of fixed positions filled in arrival order, and when the ring is full the
//! oldest is evicted (FIFO) to make room. A [`SlotIndex`] maps key → ring
//! position. Nothing grows after construction.

use crate::hash::Seed;
use crate::pending::key_words;
use crate::slot_index::{ProbeStats, SlotIndex};
use crate::ParticipantIdx;
use thiserror::Error;

/// A request as the acquirer identifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DedupKey {
    pub originator: ParticipantIdx,
    pub stan: [u8; 6],
    pub transmitted_at: [u8; 10],
    pub rrn: [u8; 12],
}

impl DedupKey {
    #[inline(always)]
    fn hash(&self, seed: Seed) -> u64 {
        seed.hash_words(&key_words(
            self.originator,
            &self.stan,
            &self.transmitted_at,
            &self.rrn,
        ))
    }
}

/// What became of a request, as far as the switch knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Outcome {
    /// Forwarded (or being handled); no answer yet. A repeat is dropped.
    #[default]
    Pending,
    /// Answered with field 39 `response_code` and, when present, field 38
    /// `auth_code`; a repeat gets the same answer.
    Answered {
        response_code: [u8; 2],
        auth_code: Option<[u8; 6]>,
    },
}

/// Where a key sits in the window's ring, as [`DuplicateFilter::check_and_insert`]
/// placed it: lets its outcome be recorded without a second lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WindowPos(u32);

/// Result of [`DuplicateFilter::check_and_insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// First sighting within the window; now recorded as `Pending` at
    /// this position.
    New(WindowPos),
    /// Seen before; the recorded outcome.
    Duplicate(Outcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DedupConfigError {
    #[error("duplicate window of {0} requests is outside 1..=2^30; set [switch] dedup_window accordingly")]
    Capacity(u32),
}

#[derive(Debug)]
pub struct DuplicateFilter {
    keys: Vec<DedupKey>,
    outcomes: Vec<Outcome>,
    /// Ring position the next new key takes (it holds the oldest when full).
    next: u32,
    len: u32,
    index: SlotIndex,
    seed: Seed,
}

impl DuplicateFilter {
    /// A window of the last `capacity` requests, allocated now.
    pub fn new(capacity: u32) -> Result<Self, DedupConfigError> {
        Self::with_seed(capacity, Seed::random())
    }

    /// As [`DuplicateFilter::new`] with a given hash seed (tests, benches).
    pub fn with_seed(capacity: u32, seed: Seed) -> Result<Self, DedupConfigError> {
        if capacity == 0 || capacity > 1 << 30 {
            return Err(DedupConfigError::Capacity(capacity));
        }
        let n = capacity as usize;
        Ok(Self {
            keys: vec![DedupKey::default(); n],
            outcomes: vec![Outcome::Pending; n],
            next: 0,
            len: 0,
            index: SlotIndex::new(n),
            seed,
        })
    }

    /// Looks `key` up; if new, records it as `Pending` (evicting the oldest
    /// key when the window is full). O(1), never allocates.
    #[inline]
    pub fn check_and_insert(&mut self, key: &DedupKey) -> Seen {
        let hash = key.hash(self.seed);
        if let Some(pos) = self.find_hashed(key, hash) {
            return Seen::Duplicate(self.outcomes[pos as usize]);
        }
        let pos = self.next;
        let p = pos as usize;
        if self.len == self.capacity() {
            let evicted = self.keys[p];
            let removed = self.index.remove(evicted.hash(self.seed), pos);
            debug_assert!(removed, "ring position {p} missing from the index");
        } else {
            self.len += 1;
        }
        self.keys[p] = *key;
        self.outcomes[p] = Outcome::Pending;
        self.index.insert(hash, pos);
        self.next = if pos + 1 == self.capacity() {
            0
        } else {
            pos + 1
        };
        debug_assert_eq!(self.index.len(), self.len as usize);
        Seen::New(WindowPos(pos))
    }

    /// Fills the window with requests answered before a restart, given
    /// oldest first, as if each had arrived and been answered in that order:
    /// a repeat of any of them is then answered the same way instead of
    /// being forwarded again. Bounded by the window like any arrival: of
    /// more than `capacity` entries only the newest `capacity` are taken,
    /// and each new key evicts the oldest when the window is full. A key
    /// given twice keeps its first position and takes the later outcome.
    /// Returns how many entries were taken. Allocates nothing; meant for
    /// start-up, before the lcore runs.
    pub fn seed(&mut self, answered: &[(DedupKey, Outcome)]) -> usize {
        let skip = answered.len().saturating_sub(self.capacity() as usize);
        let newest = &answered[skip..];
        for (key, outcome) in newest {
            self.check_and_insert(key);
            let recorded = self.record_outcome(key, *outcome);
            debug_assert!(recorded, "a key just inserted is in the window");
        }
        newest.len()
    }

    /// Asks for the index positions `keys` will probe, all before any is
    /// needed (see `PendingTable::warm`). The ring entries need no hint:
    /// they are written in order. Changes nothing.
    #[inline]
    pub fn warm(&self, keys: &[DedupKey]) {
        for key in keys {
            self.index.prefetch(key.hash(self.seed));
        }
    }

    /// Asks for the index position of the key that the `ahead`-th new key
    /// from now (0: the next one) will evict once the window is full; FIFO
    /// order makes it known before that new key is. Changes nothing.
    #[inline]
    pub fn warm_eviction(&self, ahead: usize) {
        let cap = self.keys.len();
        if self.len() < cap || ahead >= cap {
            return;
        }
        let oldest = (self.next as usize + ahead) % cap;
        self.index.prefetch(self.keys[oldest].hash(self.seed));
    }

    /// Records how `key` was answered; false if it has left the window.
    #[inline]
    pub fn record_outcome(&mut self, key: &DedupKey, outcome: Outcome) -> bool {
        match self.find_hashed(key, key.hash(self.seed)) {
            Some(pos) => {
                self.outcomes[pos as usize] = outcome;
                true
            }
            None => false,
        }
    }

    /// As [`DuplicateFilter::record_outcome`], looking first at `pos`, where
    /// `check_and_insert` put the key: no index probe while the key is
    /// still there, the ordinary lookup if it has left that position
    /// (evicted, and perhaps seen again since).
    #[inline]
    pub fn record_outcome_at(&mut self, pos: WindowPos, key: &DedupKey, outcome: Outcome) -> bool {
        let p = pos.0 as usize;
        // Positions below `len` hold live keys, each key at most once.
        if p < self.len as usize && self.keys[p] == *key {
            self.outcomes[p] = outcome;
            return true;
        }
        self.record_outcome(key, outcome)
    }

    /// The recorded outcome of `key`, if it is in the window.
    pub fn outcome(&self, key: &DedupKey) -> Option<Outcome> {
        self.find_hashed(key, key.hash(self.seed))
            .map(|pos| self.outcomes[pos as usize])
    }

    #[inline(always)]
    fn find_hashed(&self, key: &DedupKey, hash: u64) -> Option<u32> {
        self.index.find(hash, |pos| self.keys[pos as usize] == *key)
    }

    /// Keys in the window now.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> u32 {
        self.keys.len() as u32
    }

    pub fn probe_stats(&self) -> ProbeStats {
        self.index.probe_stats()
    }

    /// Bytes held by the filter.
    pub fn memory_bytes(&self) -> usize {
        self.keys.len() * std::mem::size_of::<DedupKey>()
            + self.outcomes.len() * std::mem::size_of::<Outcome>()
            + self.index.memory_bytes()
    }
}
