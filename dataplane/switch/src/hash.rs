//! Seeded hashing of fixed-size keys for the per-lcore tables.
//!
//! The tables hash keys that participants choose (STAN, RRN, date/time), so a
//! fixed public hash would let one participant aim many keys at the same probe
//! chain and slow down the lcore for everyone. Each table therefore draws its
//! own seed at construction. The mixing step is the folded 64×64→128-bit
//! multiply used by foldhash/ahash's fallback: a few cycles per word, and with a
//! secret seed collisions cannot be planned from outside.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Odd constants from the digits of pi (as in wyhash/foldhash); any odd
/// constant with well-spread bits would do.
const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x1319_8a2e_0370_7344;

#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// A per-table secret hashing seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seed(u64);

impl Seed {
    /// A fresh seed drawn from the process's random source (done once, at
    /// construction, never on the fast path).
    pub fn random() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(K0);
        Seed(h.finish())
    }

    /// A fixed seed, for tests and benchmarks that must be reproducible.
    pub const fn fixed(value: u64) -> Self {
        Seed(value)
    }

    /// Hashes a short sequence of words. Loop bound: `words.len()`, which
    /// callers keep to a handful (keys are at most 32 bytes).
    #[inline(always)]
    pub fn hash_words(self, words: &[u64]) -> u64 {
        let mut acc = self.0;
        for &w in words {
            acc = folded_multiply(acc ^ w, K0);
        }
        folded_multiply(acc, K1 ^ self.0)
    }

    /// Hashes one word.
    #[inline(always)]
    pub fn hash_u64(self, word: u64) -> u64 {
        self.hash_words(&[word])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_words_give_the_same_hash() {
        let s = Seed::fixed(42);
        assert_eq!(s.hash_words(&[1, 2, 3]), s.hash_words(&[1, 2, 3]));
    }

    #[test]
    fn word_order_and_seed_change_the_hash() {
        let s = Seed::fixed(42);
        assert_ne!(s.hash_words(&[1, 2]), s.hash_words(&[2, 1]));
        assert_ne!(s.hash_u64(7), Seed::fixed(43).hash_u64(7));
    }

    #[test]
    fn sequential_keys_spread_over_the_top_bits() {
        // Tables index with the top bits; 4096 sequential keys must land in
        // most of 256 buckets, not a few.
        let s = Seed::fixed(9);
        let mut seen = [false; 256];
        for k in 0..4096u64 {
            seen[(s.hash_u64(k) >> 56) as usize] = true;
        }
        assert!(seen.iter().filter(|b| **b).count() > 240);
    }
}
