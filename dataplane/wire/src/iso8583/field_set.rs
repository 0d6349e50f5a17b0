//! A set of ISO 8583 field numbers 1..=128, stored as the two bitmaps themselves.

/// Field numbers 1..=128 as one `u128`: the most significant bit is field 1, exactly as
/// the primary bitmap (high 64 bits) and the secondary bitmap (low 64 bits) sit on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u128);

impl FieldSet {
    pub const EMPTY: Self = Self(0);

    /// The set whose wire bitmaps are `primary` and `secondary`.
    pub const fn from_bitmaps(primary: u64, secondary: u64) -> Self {
        Self(((primary as u128) << 64) | secondary as u128)
    }

    /// The set of the listed fields; numbers outside 1..=128 are ignored.
    pub fn of(fields: &[u8]) -> Self {
        let mut set = Self::EMPTY;
        for &n in fields {
            set.insert(n);
        }
        set
    }

    /// Field `n`'s bit, 0 for numbers outside 1..=128. Built from a 64-bit shift of the
    /// right half: a variable shift of a `u128` costs a dozen instructions.
    #[inline]
    const fn bit(n: u8) -> u128 {
        match n {
            1..=64 => ((1u64 << (64 - n)) as u128) << 64,
            65..=128 => (1u64 << (128 - n)) as u128,
            _ => 0,
        }
    }

    #[inline]
    pub const fn contains(self, n: u8) -> bool {
        match n {
            1..=64 => (self.0 >> 64) as u64 >> (64 - n) & 1 != 0,
            65..=128 => self.0 as u64 >> (128 - n) & 1 != 0,
            _ => false,
        }
    }

    #[inline]
    pub fn insert(&mut self, n: u8) {
        self.0 |= Self::bit(n);
    }

    #[inline]
    pub fn remove(&mut self, n: u8) {
        self.0 &= !Self::bit(n);
    }

    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The smallest field number in the set greater than `n`.
    #[inline]
    pub const fn next_after(self, n: u8) -> Option<u8> {
        // Fields above n sit in the bits below n's bit.
        let below = if n == 0 {
            u128::MAX
        } else {
            Self::bit(n).wrapping_sub(1)
        };
        let rest = self.0 & below;
        if rest == 0 || n >= 128 {
            None
        } else {
            Some(rest.leading_zeros() as u8 + 1)
        }
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// True when any of fields 65..=128 is present, which is what bit 1 must say.
    pub const fn has_secondary(self) -> bool {
        self.0 as u64 != 0
    }

    /// The primary bitmap as sent: fields 1..=64, with bit 1 set iff a secondary field is present.
    pub const fn primary_bitmap(self) -> u64 {
        let primary = (self.0 >> 64) as u64 & !(1u64 << 63);
        if self.has_secondary() {
            primary | 1u64 << 63
        } else {
            primary
        }
    }

    /// The secondary bitmap as sent: fields 65..=128.
    pub const fn secondary_bitmap(self) -> u64 {
        self.0 as u64
    }

    /// Field numbers in ascending order.
    pub const fn iter(self) -> FieldNumbers {
        // Bit-reversed, field 1 becomes bit 0: each step is then "lowest set bit, clear it",
        // which costs three instructions instead of a shift by a variable amount.
        FieldNumbers {
            primary: ((self.0 >> 64) as u64).reverse_bits(),
            secondary: (self.0 as u64).reverse_bits(),
        }
    }
}

impl IntoIterator for FieldSet {
    type Item = u8;
    type IntoIter = FieldNumbers;
    fn into_iter(self) -> FieldNumbers {
        self.iter()
    }
}

/// Ascending field numbers of a [`FieldSet`]; at most 128 steps.
#[derive(Debug, Clone)]
pub struct FieldNumbers {
    /// Fields 1..=64, field 1 in bit 0.
    primary: u64,
    /// Fields 65..=128, field 65 in bit 0.
    secondary: u64,
}

impl Iterator for FieldNumbers {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        if self.primary != 0 {
            let bit = self.primary.trailing_zeros();
            self.primary &= self.primary - 1;
            // bit < 64, so the field number 1..=64 fits in u8.
            Some(bit as u8 + 1)
        } else if self.secondary != 0 {
            let bit = self.secondary.trailing_zeros();
            self.secondary &= self.secondary - 1;
            Some(bit as u8 + 65)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmaps_put_field_one_in_the_most_significant_bit() {
        let set = FieldSet::of(&[2, 3, 64, 65, 128]);
        assert_eq!(set.primary_bitmap(), 0xE000_0000_0000_0001);
        assert_eq!(set.secondary_bitmap(), 0x8000_0000_0000_0001);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![2, 3, 64, 65, 128]);
    }

    #[test]
    fn bit_one_is_set_only_when_a_secondary_field_is_present() {
        assert_eq!(FieldSet::of(&[2]).primary_bitmap(), 0x4000_0000_0000_0000);
        assert!(!FieldSet::of(&[2, 64]).has_secondary());
        assert!(FieldSet::of(&[100]).has_secondary());
        assert!(FieldSet::of(&[65]).has_secondary());
    }

    #[test]
    fn next_after_finds_the_following_field() {
        let set = FieldSet::of(&[2, 39, 64, 65, 128]);
        assert_eq!(set.next_after(0), Some(2));
        assert_eq!(set.next_after(2), Some(39));
        assert_eq!(set.next_after(38), Some(39));
        assert_eq!(set.next_after(64), Some(65));
        assert_eq!(set.next_after(127), Some(128));
        assert_eq!(set.next_after(128), None);
        assert_eq!(FieldSet::of(&[5]).next_after(5), None);
    }

    #[test]
    fn round_trips_through_wire_bitmaps() {
        let set = FieldSet::of(&[1, 7, 39, 70, 127]);
        let back = FieldSet::from_bitmaps((set.0 >> 64) as u64, set.secondary_bitmap());
        assert_eq!(back, set);
        assert_eq!(set.len(), 5);
        assert!(!FieldSet::of(&[0, 129]).contains(0));
        assert!(FieldSet::of(&[0, 129]).is_empty());
    }
}
