//! `PendingTable`: requests forwarded to an issuer and not yet answered.
//!
//! One table per lcore, sized at start for the configured maximum of
//! outstanding transactions (default 1,000,000). Entries live in a slot array
//! whose indices never move while an entry is live, because the timer wheel
//! and the reversal logic refer to slots; a [`SlotIndex`] (open addressing,
//! backward-shift deletion, ≤ 50 % load) maps the key to its slot and a stack
//! of free slots hands out and takes back slots in O(1). Nothing grows: when
//! every slot is taken, [`PendingTable::insert`] answers
//! [`PendingError::Full`] and the switch answers the acquirer 39=`91`.
//!
//! Alongside each entry the table keeps a copy of the original request (up
//! to a configured size, default 512 bytes) in a slab of fixed slots, so a
//! stand-in response or a 0420 reversal can be built after the mbuf that
//! carried the request has gone to the issuer.

use crate::dedup::WindowPos;
use crate::hash::Seed;
use crate::slot_index::{ProbeStats, SlotIndex};
use crate::ParticipantIdx;
use std::net::Ipv4Addr;
use thiserror::Error;

/// Default outstanding transactions per lcore.
pub const DEFAULT_CAPACITY: u32 = 1_000_000;
/// Default bytes of the original request kept per entry.
pub const DEFAULT_REQUEST_COPY: u16 = 512;
/// Largest slot count (keeps the index within 2^31 positions).
pub const MAX_CAPACITY: u32 = 1 << 30;
/// Largest request copy per entry.
pub const MAX_REQUEST_COPY: u16 = 8192;

const FREE: u16 = u16::MAX;

/// Identifies a forwarded request: the issuer it went to and the fields the
/// issuer echoes in its response (11 STAN, 7 transmission date/time MMDDhhmmss,
/// 37 retrieval reference number), as the ASCII bytes of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PendingKey {
    pub issuer: ParticipantIdx,
    pub stan: [u8; 6],
    pub transmitted_at: [u8; 10],
    pub rrn: [u8; 12],
}

/// Packs a participant and the three echoed fields into four words for
/// hashing (4 + 6 + 10 + 12 = 32 bytes). Shared with the duplicate filter.
#[inline(always)]
pub(crate) fn key_words(
    participant: ParticipantIdx,
    stan: &[u8; 6],
    at: &[u8; 10],
    rrn: &[u8; 12],
) -> [u64; 4] {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&participant.0.to_le_bytes());
    b[4..10].copy_from_slice(stan);
    b[10..20].copy_from_slice(at);
    b[20..32].copy_from_slice(rrn);
    let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    [w(0), w(1), w(2), w(3)]
}

impl PendingKey {
    /// The issuer takes part in equality but not in the hash: a request's
    /// index position is then known before it is routed, so a whole burst
    /// can be warmed ahead of processing (see [`PendingTable::warm`]). Keys
    /// differing only in issuer share a probe chain, and there are few of
    /// them: an acquirer repeating its own key is a duplicate.
    #[inline(always)]
    fn hash(&self, seed: Seed) -> u64 {
        seed.hash_words(&key_words(
            ParticipantIdx(0),
            &self.stan,
            &self.transmitted_at,
            &self.rrn,
        ))
    }
}

/// Where a message came from (or goes to) on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
    pub mac: [u8; 6],
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            ip: Ipv4Addr::UNSPECIFIED,
            port: 0,
            mac: [0; 6],
        }
    }
}

/// Whether the switch owes the issuer a 0420 for this transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReversalState {
    /// Nothing to reverse (e.g. a 0100 not approved, or a 0400 itself).
    #[default]
    NotRequired,
    /// Timed out; a 0420 must be sent.
    Due,
    /// 0420 sent `attempts` times, awaiting 0430.
    Sent { attempts: u8 },
    /// The issuer acknowledged with 0430.
    Confirmed,
    /// The issuer answered; the answer waits for its journal record to be
    /// durable before it goes to the acquirer. A repeat of the answer is a
    /// duplicate; if the record cannot be made durable the acquirer gets
    /// 39=96 and the issuer a 0420 (the state moves to `Due`).
    Committing,
    /// The retry bound was reached; reported for manual handling.
    GivenUp,
}

/// What the switch must remember to answer the acquirer and, if needed,
/// reverse at the issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PendingEntry {
    pub key: PendingKey,
    /// The acquirer that sent the request.
    pub originator: ParticipantIdx,
    /// The acquirer's address, port and MAC as the request arrived.
    pub origin: Endpoint,
    /// Request MTI (ASCII, e.g. `*b"0200"`).
    pub mti: [u8; 4],
    /// Field 4, minor units.
    pub amount: u64,
    /// Field 49, ISO 4217 numeric.
    pub currency: u16,
    /// Clearing epoch the lcore saw when it forwarded the request.
    pub epoch: u32,
    /// TSC tick the request arrived (latency histogram).
    pub started: u64,
    /// TSC tick by which the issuer must answer.
    pub deadline: u64,
    pub reversal: ReversalState,
    /// Where the request's key sits in the duplicate filter's window, so
    /// its answer is recorded there without a second lookup.
    pub dedup_pos: WindowPos,
}

/// A slot of the pending table, stable while its entry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PendingSlot(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PendingError {
    #[error("pending table full ({capacity} outstanding); answer 39=91 and raise the per-lcore capacity if this persists")]
    Full { capacity: u32 },
    #[error("a request with the same issuer, STAN, date/time and RRN is already pending in slot {}; the duplicate filter should have stopped it", slot.0)]
    AlreadyPending { slot: PendingSlot },
    #[error("request copy of {len} bytes exceeds the {max}-byte slot; keep only the fields needed for a 0420 or stand-in, or raise request_copy")]
    RequestTooLong { len: usize, max: u16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PendingConfigError {
    #[error("pending capacity {0} is outside 1..={max}; set [switch] pending_capacity accordingly", max = MAX_CAPACITY)]
    Capacity(u32),
    #[error("request copy of {0} bytes is outside 1..={max}", max = MAX_REQUEST_COPY)]
    RequestCopy(u16),
}

/// Sizes fixed at construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingConfig {
    pub capacity: u32,
    pub request_copy: u16,
}

impl Default for PendingConfig {
    fn default() -> Self {
        PendingConfig {
            capacity: DEFAULT_CAPACITY,
            request_copy: DEFAULT_REQUEST_COPY,
        }
    }
}

/// A slot: the entry and its request-copy length side by side, so checking
/// that a slot is live and comparing its key touch the same cache lines (one
/// DRAM access on a match, not two). 32-byte aligned: 96 bytes per slot.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(32))]
struct Stored {
    /// Bytes of request copy; `FREE` marks an unused slot.
    request_len: u16,
    entry: PendingEntry,
}

/// A zeroed buffer whose pages are already mapped. `vec![0; n]` gets lazily
/// mapped zero pages from the kernel, so the first write to each page would
/// take a page fault on the lcore's fast path; touching every page here moves
/// that cost to start-up, and the memory is resident from the start.
fn prefaulted(len: usize) -> Vec<u8> {
    const PAGE: usize = 4096;
    let mut buf = vec![0u8; len];
    for i in (0..len).step_by(PAGE) {
        // black_box: the compiler knows the buffer is zero and would drop a
        // plain store of zero.
        buf[i] = std::hint::black_box(0);
    }
    buf
}

#[derive(Debug)]
pub struct PendingTable {
    slots: Vec<Stored>,
    requests: Vec<u8>,
    request_copy: usize,
    /// Free slots; pushes never exceed the capacity reserved at start.
    free: Vec<u32>,
    index: SlotIndex,
    seed: Seed,
}

impl PendingTable {
    /// Allocates every slot now; nothing is allocated afterwards.
    pub fn new(config: PendingConfig) -> Result<Self, PendingConfigError> {
        Self::with_seed(config, Seed::random())
    }

    /// As [`PendingTable::new`] with a given hash seed (tests, benches).
    pub fn with_seed(config: PendingConfig, seed: Seed) -> Result<Self, PendingConfigError> {
        if config.capacity == 0 || config.capacity > MAX_CAPACITY {
            return Err(PendingConfigError::Capacity(config.capacity));
        }
        if config.request_copy == 0 || config.request_copy > MAX_REQUEST_COPY {
            return Err(PendingConfigError::RequestCopy(config.request_copy));
        }
        let n = config.capacity as usize;
        // Lowest slots handed out first (pop from the end).
        let free: Vec<u32> = (0..config.capacity).rev().collect();
        Ok(Self {
            slots: vec![
                Stored {
                    request_len: FREE,
                    entry: PendingEntry::default()
                };
                n
            ],
            requests: prefaulted(n * usize::from(config.request_copy)),
            request_copy: usize::from(config.request_copy),
            free,
            index: SlotIndex::new(n),
            seed,
        })
    }

    /// Records a forwarded request. O(1); never allocates.
    pub fn insert(
        &mut self,
        entry: PendingEntry,
        request: &[u8],
    ) -> Result<PendingSlot, PendingError> {
        if request.len() > self.request_copy {
            return Err(PendingError::RequestTooLong {
                len: request.len(),
                max: self.request_copy as u16,
            });
        }
        let hash = entry.key.hash(self.seed);
        if let Some(slot) = self.find_hashed(&entry.key, hash) {
            return Err(PendingError::AlreadyPending { slot });
        }
        let Some(slot) = self.free.pop() else {
            return Err(PendingError::Full {
                capacity: self.capacity(),
            });
        };
        let s = slot as usize;
        debug_assert_eq!(
            self.slots[s].request_len, FREE,
            "free list held a used slot"
        );
        self.slots[s] = Stored {
            request_len: request.len() as u16,
            entry,
        };
        let at = s * self.request_copy;
        self.requests[at..at + request.len()].copy_from_slice(request);
        self.index.insert(hash, slot);
        debug_assert_eq!(self.index.len() + self.free.len(), self.slots.len());
        Ok(PendingSlot(slot))
    }

    /// The slot pending under `key`, if any.
    #[inline]
    pub fn find(&self, key: &PendingKey) -> Option<PendingSlot> {
        self.find_hashed(key, key.hash(self.seed))
    }

    #[inline(always)]
    fn find_hashed(&self, key: &PendingKey, hash: u64) -> Option<PendingSlot> {
        self.index
            .find(hash, |s| self.slots[s as usize].entry.key == *key)
            .map(PendingSlot)
    }

    /// The live entry in `slot`.
    #[inline]
    pub fn get(&self, slot: PendingSlot) -> Option<&PendingEntry> {
        self.is_live(slot)
            .then(|| &self.slots[slot.0 as usize].entry)
    }

    /// The live entry in `slot`, to update its deadline or reversal state.
    /// The key must not be changed (it is what the index hashed).
    #[inline]
    pub fn get_mut(&mut self, slot: PendingSlot) -> Option<&mut PendingEntry> {
        if self.is_live(slot) {
            Some(&mut self.slots[slot.0 as usize].entry)
        } else {
            None
        }
    }

    /// The original request bytes kept for `slot`.
    #[inline]
    pub fn request(&self, slot: PendingSlot) -> Option<&[u8]> {
        let s = slot.0 as usize;
        let len = self.slots.get(s)?.request_len;
        if len == FREE {
            return None;
        }
        let at = s * self.request_copy;
        Some(&self.requests[at..at + usize::from(len)])
    }

    /// Removes and returns the entry pending under `key` (a matched response).
    #[inline]
    pub fn remove(&mut self, key: &PendingKey) -> Option<(PendingSlot, PendingEntry)> {
        let slot = self.find(key)?;
        self.remove_slot(slot).map(|e| (slot, e))
    }

    /// Removes and returns the entry in `slot` (timeout handled, reversal
    /// confirmed or given up). Its request copy is gone with it.
    pub fn remove_slot(&mut self, slot: PendingSlot) -> Option<PendingEntry> {
        if !self.is_live(slot) {
            return None;
        }
        let s = slot.0 as usize;
        let entry = self.slots[s].entry;
        let removed = self.index.remove(entry.key.hash(self.seed), slot.0);
        debug_assert!(removed, "live slot {s} missing from the index");
        self.slots[s].request_len = FREE;
        debug_assert!(self.free.len() < self.free.capacity());
        self.free.push(slot.0);
        Some(entry)
    }

    #[inline(always)]
    fn is_live(&self, slot: PendingSlot) -> bool {
        self.slots
            .get(slot.0 as usize)
            .is_some_and(|s| s.request_len != FREE)
    }

    /// Asks for the index positions `keys` will probe, all before any is
    /// needed, so a burst's cache misses overlap instead of queueing one
    /// after another. Call it with the keys of a burst just before inserting
    /// or matching them; the issuer of a key may be a placeholder (it is not
    /// hashed), so requests can be warmed before they are routed. The slots
    /// themselves need no hint: live ones are the recently used top of the
    /// free stack. Changes nothing.
    #[inline]
    pub fn warm(&self, keys: &[PendingKey]) {
        for key in keys {
            self.index.prefetch(key.hash(self.seed));
        }
    }

    /// Entries pending now.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> u32 {
        self.slots.len() as u32
    }

    pub fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    /// Probe lengths of the key index (O(capacity): control plane and tests).
    pub fn probe_stats(&self) -> ProbeStats {
        self.index.probe_stats()
    }

    /// Bytes reserved by the table (resident once touched).
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Stored>()
            + self.requests.len()
            + self.free.capacity() * 4
            + self.index.memory_bytes()
    }
}
