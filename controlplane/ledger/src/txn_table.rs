//! `TxnTable`: every transaction the ledger has seen, by key, with where it
//! stands — the exactly-once memory of the money state.
//!
//! Why not a plain `HashMap<TxnKey, TxnState>`: a replay of ten million
//! records inserts ten million keys in random hash order, and a map whose
//! buckets hold the 56-byte (key, state) pairs spreads them over ~900 MiB,
//! so nearly every insert stalls on a cache and TLB miss (measured: half of
//! the replay's time). Here the pairs sit in a dense `Vec` in arrival order
//! (appended sequentially), and an open-addressing index holds 8-byte slots
//! `(hash tag, position)` (128 MiB for ten million keys), which is all the
//! random accesses touch. A lookup of an absent key — the common case in a
//! replay — compares no key unless a 32-bit hash tag matches. And since a
//! key's home slot is known from its hash, [`TxnTable::warm`] can load the
//! slots of a whole batch of records before any is applied, so their misses
//! overlap instead of following one another (see `Ledger::apply_batch`).
//!
//! Transaction keys come from the network (fields 11, 7 and 37 chosen by
//! the acquirer), so the hash is seeded per table (foldhash with a random
//! seed), never a fixed function an attacker could collide.
//!
//! Entries are never removed: a finished transaction must still be
//! recognised when a duplicate arrives. Iteration is in first-insertion
//! order, which keeps snapshots deterministic for a given journal.

use std::fmt;
use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

use crate::ledger::TxnState;
use crate::types::TxnKey;

/// Slot value of an empty slot; a used one holds `tag << 32 | position + 1`.
const EMPTY: u64 = 0;
/// The index is rebuilt twice as large before it is more than 3/4 full,
/// which keeps linear probes short (about 2.5 slots for an absent key).
const MAX_LOAD_NUM: usize = 3;
const MAX_LOAD_DEN: usize = 4;
const MIN_SLOTS: usize = 16;

/// Transactions by key. See the module documentation.
#[derive(Clone, Default)]
pub struct TxnTable {
    /// Open addressing with linear probing; length a power of two (or 0).
    slots: Vec<u64>,
    rows: Vec<(TxnKey, TxnState)>,
    hasher: DefaultHashBuilder,
}

/// What [`TxnTable::insert_new`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The key was absent; it now maps to the given state.
    New,
    /// The key was present; nothing changed.
    Existing,
}

/// Where a probe for a key ended.
enum Probe {
    Found(usize),
    /// The empty slot where the key would go.
    Vacant(usize),
}

impl TxnTable {
    pub fn new() -> TxnTable {
        TxnTable::default()
    }

    /// Makes room for `additional` more transactions without rebuilding the
    /// index or moving rows.
    pub fn reserve(&mut self, additional: usize) {
        let need = self.rows.len().saturating_add(additional);
        self.rows.reserve(additional);
        if need * MAX_LOAD_DEN > self.slots.len() * MAX_LOAD_NUM {
            self.rebuild(need);
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    #[inline(always)]
    fn hash(&self, key: &TxnKey) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline(always)]
    fn home(&self, hash: u64) -> usize {
        hash as usize & (self.slots.len() - 1)
    }

    /// Loads the index slot of each key, changing nothing: called for a
    /// batch before applying it, so the cache misses of the batch are in
    /// flight together rather than one at a time inside the apply. Hash
    /// first, load after: a tight loop of independent loads keeps them all
    /// in the core's window at once (hashing between them would not).
    pub fn warm(&self, keys: impl Iterator<Item = TxnKey>) {
        const CHUNK: usize = 32;
        if self.slots.is_empty() {
            return;
        }
        let mut homes = [0usize; CHUNK];
        let mut n = 0;
        let mut acc = 0u64;
        for key in keys {
            homes[n] = self.home(self.hash(&key));
            n += 1;
            if n == CHUNK {
                acc ^= self.load_all(&homes);
                n = 0;
            }
        }
        acc ^= self.load_all(&homes[..n]);
        std::hint::black_box(acc);
    }

    #[inline(always)]
    fn load_all(&self, homes: &[usize]) -> u64 {
        homes.iter().fold(0, |acc, &i| acc ^ self.slots[i])
    }

    #[inline]
    fn probe(&self, key: &TxnKey, hash: u64) -> Probe {
        debug_assert!(self.slots.len().is_power_of_two());
        let mask = self.slots.len() - 1;
        let tag = hash >> 32;
        let mut i = hash as usize & mask;
        // Bounded: the index is never full (load <= 3/4), so an empty slot
        // ends every probe.
        loop {
            let slot = self.slots[i];
            if slot == EMPTY {
                return Probe::Vacant(i);
            }
            if slot >> 32 == tag {
                let pos = (slot as u32 - 1) as usize;
                if self.rows[pos].0 == *key {
                    return Probe::Found(pos);
                }
            }
            i = (i + 1) & mask;
        }
    }

    fn position(&self, key: &TxnKey) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        match self.probe(key, self.hash(key)) {
            Probe::Found(pos) => Some(pos),
            Probe::Vacant(_) => None,
        }
    }

    pub fn get(&self, key: &TxnKey) -> Option<&TxnState> {
        self.position(key).map(|pos| &self.rows[pos].1)
    }

    pub fn contains_key(&self, key: &TxnKey) -> bool {
        self.position(key).is_some()
    }

    /// Records `state` for `key` unless the key is already known (then
    /// nothing changes): one probe for the check and the insert.
    #[inline]
    pub fn insert_new(&mut self, key: TxnKey, state: TxnState) -> Inserted {
        self.grow_for_one();
        let hash = self.hash(&key);
        match self.probe(&key, hash) {
            Probe::Found(_) => Inserted::Existing,
            Probe::Vacant(i) => {
                self.push_at(i, hash, key, state);
                Inserted::New
            }
        }
    }

    /// Sets the state of `key`, adding the key if it is new.
    pub fn insert(&mut self, key: TxnKey, state: TxnState) {
        self.grow_for_one();
        let hash = self.hash(&key);
        match self.probe(&key, hash) {
            Probe::Found(pos) => self.rows[pos].1 = state,
            Probe::Vacant(i) => self.push_at(i, hash, key, state),
        }
    }

    /// Every transaction, in the order its key was first inserted.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&TxnKey, &TxnState)> {
        self.rows.iter().map(|(k, s)| (k, s))
    }

    #[inline]
    fn grow_for_one(&mut self) {
        if (self.rows.len() + 1) * MAX_LOAD_DEN > self.slots.len() * MAX_LOAD_NUM {
            self.rebuild(self.rows.len() + 1);
        }
    }

    #[inline]
    fn push_at(&mut self, slot: usize, hash: u64, key: TxnKey, state: TxnState) {
        self.slots[slot] = slot_value(hash, self.rows.len());
        self.rows.push((key, state));
    }

    /// A new index for at least `entries` keys, filled from the rows in
    /// order (sequential reads; rows never move).
    fn rebuild(&mut self, entries: usize) {
        let want = (entries * MAX_LOAD_DEN / MAX_LOAD_NUM + 1).max(MIN_SLOTS);
        let len = want.next_power_of_two();
        let mut slots = vec![EMPTY; len];
        let mask = len - 1;
        for (pos, (key, _)) in self.rows.iter().enumerate() {
            let hash = self.hasher.hash_one(key);
            let mut i = hash as usize & mask;
            while slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            slots[i] = slot_value(hash, pos);
        }
        self.slots = slots;
    }
}

/// The slot for row `pos` of a key with `hash`. Four billion transactions
/// would need over 200 GiB of rows, so a position beyond `u32` means a
/// broken invariant, not a large journal.
fn slot_value(hash: u64, pos: usize) -> u64 {
    let pos = u32::try_from(pos + 1).expect("transaction table holds more than 2^32 - 1 entries");
    (hash >> 32) << 32 | u64::from(pos)
}

/// Equal when both hold the same keys with the same states, whatever the
/// order they were inserted in (a map's equality).
impl PartialEq for TxnTable {
    fn eq(&self, other: &TxnTable) -> bool {
        self.len() == other.len() && self.iter().all(|(k, s)| other.get(k) == Some(s))
    }
}

impl Eq for TxnTable {}

impl fmt::Debug for TxnTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(stan: u32) -> TxnKey {
        TxnKey {
            originator: 7,
            stan,
            transmission: *b"1127181300",
            rrn: *b"000000000042",
        }
    }

    const POSTED: TxnState = TxnState::Posted {
        payee: 2,
        currency: 978,
        amount: 100,
    };

    #[test]
    fn insert_new_keeps_the_first_state_of_a_key() {
        let mut t = TxnTable::new();
        assert_eq!(t.insert_new(key(1), POSTED), Inserted::New);
        assert_eq!(t.insert_new(key(1), TxnState::Reversed), Inserted::Existing);
        assert_eq!(t.get(&key(1)), Some(&POSTED));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn insert_overwrites_and_adds() {
        let mut t = TxnTable::new();
        t.insert(key(1), POSTED);
        t.insert(key(1), TxnState::Reversed);
        t.insert(key(2), TxnState::Released);
        assert_eq!(t.get(&key(1)), Some(&TxnState::Reversed));
        assert_eq!(t.get(&key(2)), Some(&TxnState::Released));
        assert!(!t.contains_key(&key(3)));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn growth_past_the_reserved_size_keeps_every_key() {
        let mut t = TxnTable::new();
        t.reserve(4);
        for stan in 0..10_000 {
            assert_eq!(t.insert_new(key(stan), POSTED), Inserted::New);
        }
        assert!((0..10_000).all(|stan| t.get(&key(stan)) == Some(&POSTED)));
        let order: Vec<u32> = t.iter().map(|(k, _)| k.stan).collect();
        assert_eq!(order, (0..10_000).collect::<Vec<_>>());
    }

    #[test]
    fn tables_with_the_same_content_are_equal_whatever_the_order() {
        let (mut a, mut b) = (TxnTable::new(), TxnTable::new());
        a.insert(key(1), POSTED);
        a.insert(key(2), TxnState::Released);
        b.insert(key(2), TxnState::Released);
        b.insert(key(1), POSTED);
        assert_eq!(a, b);
        b.insert(key(1), TxnState::Reversed);
        assert_ne!(a, b);
    }
}
