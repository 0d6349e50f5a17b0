//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! All values are in host order: a checksum read with `u16::from_be_bytes`
//! goes in, one to write with `to_be_bytes` comes out.
//!
//! One's complement arithmetic has two zeros, `0x0000` and `0xffff`. The
//! sum of data that holds any non-zero byte is never `0x0000` after the
//! end-around carry, so [`data`] and [`update16`] agree bit for bit with a
//! full recomputation as long as the covered data is not all zero (true of
//! every IPv4 header, whose version byte is 0x45 or more).

use std::net::Ipv4Addr;

/// Folds a wide accumulator into 16 bits with end-around carry. Branch
/// free: after the 32-bit fold the value is below 2^33, and three 16-bit
/// folds bring any such value to at most 0xffff.
#[inline]
const fn fold(sum: u64) -> u16 {
    let sum = (sum & 0xffff_ffff) + (sum >> 32);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// One's complement sum of `data` as big-endian 16-bit words, an odd last
/// byte padded with zero. Not inverted: combine partial sums with
/// [`combine`] and invert once at the end.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    // Words are read in native byte order and the folded sum is swapped
    // once at the end: the one's complement sum commutes with byte
    // swapping (RFC 1071 section 2.B), which saves a swap per word.
    // Sixteen bytes per step into two accumulators, each 8-byte word added
    // as two 32-bit halves: a step adds less than 2^34 to each, so neither
    // can overflow for buffers under 2^30 * 16 bytes. Folding 32-bit
    // halves gives the 16-bit sum because 2^16 = 1 (mod 0xffff).
    let mut even: u64 = 0;
    let mut odd: u64 = 0;
    let mut chunks = data.chunks_exact(16);
    for chunk in &mut chunks {
        let (a, b) = chunk.split_at(8);
        let a = u64::from_ne_bytes(a.try_into().unwrap_or([0; 8]));
        let b = u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
        even += (a >> 32) + (a & 0xffff_ffff);
        odd += (b >> 32) + (b & 0xffff_ffff);
    }
    let mut pairs = chunks.remainder().chunks_exact(2);
    for pair in &mut pairs {
        even += u64::from(u16::from_ne_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        // Zero padding goes after the byte in wire (big-endian) order.
        odd += u64::from(u16::from_be_bytes([*last, 0]).to_be());
    }
    let native = fold(even + odd);
    u16::from_be(native)
}

/// One's complement sum of several partial sums.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    let mut acc: u64 = 0;
    for &sum in sums {
        acc += u64::from(sum);
    }
    fold(acc)
}

/// One's complement sum of the IPv4 pseudo-header used by UDP (and TCP):
/// source, destination, zero + protocol, and the upper-layer length.
#[inline]
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let src = u32::from(src);
    let dst = u32::from(dst);
    let acc = u64::from(src >> 16)
        + u64::from(src & 0xffff)
        + u64::from(dst >> 16)
        + u64::from(dst & 0xffff)
        + u64::from(protocol)
        + u64::from(length);
    fold(acc)
}

/// The checksum of data whose one's complement sum is `sum`: its inverse.
#[inline]
pub const fn finish(sum: u16) -> u16 {
    !sum
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word covered by
/// checksum `hc` changed from `old` to `new`, HC' = ~(~HC + ~m + m').
#[inline]
pub const fn update16(hc: u16, old: u16, new: u16) -> u16 {
    let sum = (!hc) as u64 + (!old) as u64 + new as u64;
    !fold(sum)
}

/// RFC 1624 for a 32-bit field (an IPv4 address): both halves in one step.
#[inline]
pub const fn update32(hc: u16, old: u32, new: u32) -> u16 {
    let sum = (!hc) as u64
        + (!(old >> 16) as u16) as u64
        + (!(old as u16)) as u64
        + (new >> 16) as u64
        + (new & 0xffff) as u64;
    !fold(sum)
}

/// The one's complement change from `old` to `new` of a 16-bit field
/// (~m + m' in RFC 1624 terms), to apply with [`apply_delta`]. Deltas of
/// several fields add with [`combine`], so one update covers them all.
#[inline]
pub const fn delta16(old: u16, new: u16) -> u16 {
    fold((!old) as u64 + new as u64)
}

/// [`delta16`] for a 32-bit field (an IPv4 address).
#[inline]
pub const fn delta32(old: u32, new: u32) -> u16 {
    fold(
        (!(old >> 16) as u16) as u64
            + (!(old as u16)) as u64
            + (new >> 16) as u64
            + (new & 0xffff) as u64,
    )
}

/// Applies a field delta to checksum `hc`: HC' = ~(~HC + delta).
#[inline]
pub const fn apply_delta(hc: u16, delta: u16) -> u16 {
    !fold((!hc) as u64 + delta as u64)
}

/// UDP transmits a computed checksum of zero as `0xffff`, because zero on
/// the wire means "no checksum" (RFC 768).
#[inline]
pub const fn udp_on_wire(checksum: u16) -> u16 {
    if checksum == 0 {
        0xffff
    } else {
        checksum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Word-by-word reference, written the slow obvious way.
    fn reference_sum(bytes: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            acc += u32::from(word);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example_sums_to_ddf2() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
        assert_eq!(finish(data(&bytes)), 0x220d);
    }

    #[test]
    fn fast_sum_matches_word_by_word_sum_at_every_length_and_alignment() {
        let bytes: Vec<u8> = (0..300u32).map(|i| (i * 97 + 13) as u8).collect();
        for start in 0..8 {
            for end in start..bytes.len() {
                assert_eq!(
                    data(&bytes[start..end]),
                    reference_sum(&bytes[start..end]),
                    "{start}..{end}"
                );
            }
        }
        assert_eq!(data(&[0xff; 64]), 0xffff);
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn well_known_ipv4_header_checksum_is_b861() {
        // The header in the Wikipedia IPv4 checksum example.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(finish(data(&header)), 0xb861);
    }

    #[test]
    fn rfc1624_example_gives_the_corrected_result() {
        // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285;
        // the correct new checksum is 0x0000 (eqn. 2 would give 0xffff).
        assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn update32_equals_two_update16() {
        let (hc, old, new) = (0x1234, 0xc0a8_0001, 0x0a00_00fe);
        let step = update16(hc, (old >> 16) as u16, (new >> 16) as u16);
        let step = update16(step, old as u16, new as u16);
        assert_eq!(update32(hc, old, new), step);
    }

    #[test]
    fn combined_deltas_equal_successive_updates() {
        let hc = 0x8836;
        let (src, new_src) = (0xc0a8_0a01, 0x0a14_0001);
        let (dst, new_dst) = (0xc0a8_0afe, 0x0a1e_0007);
        let stepwise = update32(update32(hc, src, new_src), dst, new_dst);
        let delta = combine(&[delta32(src, new_src), delta32(dst, new_dst)]);
        assert_eq!(apply_delta(hc, delta), stepwise);
        assert_eq!(apply_delta(0xdd2f, delta16(0x5555, 0x3285)), 0x0000);
    }

    #[test]
    fn pseudo_header_is_the_sum_of_its_bytes() {
        let src = Ipv4Addr::new(192, 168, 0, 1);
        let dst = Ipv4Addr::new(10, 1, 2, 3);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&[0, 17, 0x01, 0x2c]);
        assert_eq!(pseudo_header(src, dst, 17, 300), reference_sum(&bytes));
    }

    #[test]
    fn zero_udp_checksum_goes_on_the_wire_as_ffff() {
        assert_eq!(udp_on_wire(0), 0xffff);
        assert_eq!(udp_on_wire(0x1234), 0x1234);
    }
}
