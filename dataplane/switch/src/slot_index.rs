//! `SlotIndex`: a fixed-size open-addressed hash index from keys to slot
//! numbers, shared by the pending table and the duplicate filter.
//!
//! Why this shape: the tables keep their entries in slot arrays whose indices
//! must stay stable (the timer wheel and the FIFO ring refer to them), so the
//! hash part only maps key → slot. Linear probing keeps a probe within one or
//! two cache lines; deletion moves the later entries of the cluster that
//! would be cut off back into the hole (backward-shift deletion, Knuth's
//! algorithm R) instead of leaving tombstones, so probe lengths
//! after ten million insert/remove pairs are those of a freshly filled table.
//! The index has at least twice as many positions as the table has slots, so
//! the load factor never exceeds 50 % and expected probes stay below two.

const EMPTY: u32 = u32::MAX;

/// One position: 32 bits of the key's hash (whose top bits are also its home
/// position) and the slot it points to.
#[derive(Clone, Copy, Debug)]
struct Position {
    tag: u32,
    slot: u32,
}

/// Probe-length figures, for tests and the control plane (O(n) to compute).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeStats {
    /// Entries in the index.
    pub len: usize,
    /// Largest distance of an entry from its home position.
    pub max_displacement: usize,
    /// Mean distance of an entry from its home position.
    pub mean_displacement: f64,
}

#[derive(Debug)]
pub(crate) struct SlotIndex {
    positions: Vec<Position>,
    mask: usize,
    /// 32 - log2(positions): shift from a tag to its home position.
    home_shift: u32,
    len: usize,
}

impl SlotIndex {
    /// An index for up to `slots` entries (at most 2^30).
    pub(crate) fn new(slots: usize) -> Self {
        assert!(slots > 0 && slots <= 1 << 30, "index size out of range");
        let size = (slots * 2).next_power_of_two().max(8);
        Self {
            positions: vec![
                Position {
                    tag: 0,
                    slot: EMPTY
                };
                size
            ],
            mask: size - 1,
            home_shift: 32 - size.trailing_zeros(),
            len: 0,
        }
    }

    #[inline(always)]
    fn tag(hash: u64) -> u32 {
        (hash >> 32) as u32
    }

    #[inline(always)]
    fn home(&self, tag: u32) -> usize {
        (tag >> self.home_shift) as usize
    }

    /// The slot whose key hashes to `hash` and for which `is_key(slot)` holds.
    /// Loop bound: the index size; in practice a few positions, since the
    /// load factor is at most 50 % and a probe stops at the first empty one.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let tag = Self::tag(hash);
        let mut i = self.home(tag);
        for _ in 0..self.positions.len() {
            let p = self.positions[i];
            if p.slot == EMPTY {
                return None;
            }
            if p.tag == tag && is_key(p.slot) {
                return Some(p.slot);
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Asks for the cache line of `hash`'s home position ahead of a lookup
    /// or insert (a hint: changes nothing).
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        rte::prefetch0(&self.positions[self.home(Self::tag(hash))]);
    }

    /// Adds `slot` under `hash`. The caller has checked the key is absent and
    /// that the table is not full.
    #[inline]
    pub(crate) fn insert(&mut self, hash: u64, slot: u32) {
        debug_assert!(slot != EMPTY);
        debug_assert!(self.len < self.positions.len() / 2, "index over 50% load");
        let tag = Self::tag(hash);
        let mut i = self.home(tag);
        for _ in 0..self.positions.len() {
            if self.positions[i].slot == EMPTY {
                self.positions[i] = Position { tag, slot };
                self.len += 1;
                return;
            }
            i = (i + 1) & self.mask;
        }
        unreachable!("slot index has no empty position at 50% load");
    }

    /// Removes the entry for `slot` stored under `hash`; false if absent.
    #[inline]
    pub(crate) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let tag = Self::tag(hash);
        let mut i = self.home(tag);
        let mut found = false;
        for _ in 0..self.positions.len() {
            let p = self.positions[i];
            if p.slot == EMPTY {
                break;
            }
            if p.slot == slot {
                debug_assert_eq!(p.tag, tag);
                found = true;
                break;
            }
            i = (i + 1) & self.mask;
        }
        if !found {
            return false;
        }
        self.len -= 1;
        // Backward shift (Knuth's algorithm R): walk the rest of the cluster;
        // an entry whose home is not cyclically within (hole, its position]
        // would be cut off from its home by the hole, so it moves into the
        // hole and its old position becomes the hole. Stops at the first
        // empty position, at most the cluster length.
        let mut j = i;
        for _ in 0..self.positions.len() {
            j = (j + 1) & self.mask;
            let p = self.positions[j];
            if p.slot == EMPTY {
                break;
            }
            let home = self.home(p.tag);
            let reachable = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !reachable {
                self.positions[i] = p;
                i = j;
            }
        }
        self.positions[i] = Position {
            tag: 0,
            slot: EMPTY,
        };
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.positions.len() * std::mem::size_of::<Position>()
    }

    pub(crate) fn probe_stats(&self) -> ProbeStats {
        let mut max = 0;
        let mut total = 0usize;
        for (i, p) in self.positions.iter().enumerate() {
            if p.slot != EMPTY {
                let d = i.wrapping_sub(self.home(p.tag)) & self.mask;
                max = max.max(d);
                total += d;
            }
        }
        ProbeStats {
            len: self.len,
            max_displacement: max,
            mean_displacement: if self.len == 0 {
                0.0
            } else {
                total as f64 / self.len as f64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes whose top bits all point to position 0 collide on purpose.
    fn colliding(k: u64) -> u64 {
        k << 8
    }

    #[test]
    fn colliding_keys_are_all_found_and_removal_closes_the_gap() {
        let mut idx = SlotIndex::new(8);
        for s in 0..5u32 {
            idx.insert(colliding(u64::from(s)), s);
        }
        assert!(idx.remove(colliding(1), 1));
        assert!(!idx.remove(colliding(1), 1));
        for s in [0u32, 2, 3, 4] {
            assert_eq!(idx.find(colliding(u64::from(s)), |x| x == s), Some(s));
        }
        assert_eq!(idx.find(colliding(1), |x| x == 1), None);
        // The three entries behind the removed one each moved one step home.
        assert_eq!(idx.probe_stats().max_displacement, 3);
        assert_eq!(idx.len(), 4);
    }

    #[test]
    fn entries_wrapping_past_the_end_are_shifted_back_across_it() {
        let mut idx = SlotIndex::new(4); // 8 positions, home = top 3 bits
        let last_home = 7u64 << 61;
        for s in 0..3u32 {
            idx.insert(last_home | u64::from(s) << 32, s);
        }
        assert!(idx.remove(last_home, 0));
        assert_eq!(idx.find(last_home | 2 << 32, |x| x == 2), Some(2));
        assert_eq!(idx.probe_stats().max_displacement, 1);
    }

    /// Random inserts and removals in a small index, checked against the
    /// list of live entries after every removal.
    #[test]
    fn every_live_entry_stays_reachable_through_random_removals() {
        let mut idx = SlotIndex::new(4);
        let mut live: Vec<(u64, u32)> = vec![];
        let mut x = 12345u64;
        for step in 0..20_000u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if live.len() == 4 || (!live.is_empty() && (x >> 20) & 3 == 0) {
                let (h, s) = live.remove((x >> 40) as usize % live.len());
                assert!(idx.remove(h, s));
                assert_eq!(idx.find(h, |q| q == s), None);
                for &(h2, s2) in &live {
                    assert_eq!(idx.find(h2, |q| q == s2), Some(s2), "step {step}");
                }
                assert_eq!(idx.len(), live.len());
            } else {
                let h = x;
                idx.insert(h, step);
                live.push((h, step));
            }
        }
    }
}
