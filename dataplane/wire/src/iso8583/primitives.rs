//! Byte-level pieces shared by decode, encode and in-place editing: MTI, bitmaps,
//! length prefixes, and the content rules of each field encoding.
//!
//! Everything here works on slices the caller has already bounds-checked, so no function
//! can index out of range; each returns the offending byte's index so errors can carry
//! an exact offset.

use super::error::ErrorKind;
use super::spec::{BitmapEncoding, Encoding, FieldSpec, LengthType, MtiEncoding, PrefixEncoding};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
pub(crate) const fn is_digit(b: u8) -> bool {
    b.wrapping_sub(b'0') < 10
}

/// Index of the first byte that is not `'0'..='9'`.
#[inline]
pub(crate) fn first_non_digit(bytes: &[u8]) -> Option<usize> {
    // Eight bytes per step; only a bad field pays for the byte-wise `position`.
    if all_digits(bytes) {
        None
    } else {
        bytes.iter().position(|&b| !is_digit(b))
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Zero when all eight bytes are ASCII digits, else some bits set: every high nibble must
/// be 3, and adding 6 must not carry out of any low nibble (which it does for 0xA..=0xF).
/// A byte whose add carries into its neighbour (0xFA..) already fails the first test, so
/// the result is zero exactly when every byte is a digit. Returning bits rather than a
/// bool lets a loop OR words together and test once at the end.
#[inline(always)]
const fn non_digit_bits(word: u64) -> u64 {
    const HIGH: u64 = 0xF0 * ONES;
    const DIGIT_HIGH: u64 = 0x30 * ONES;
    const SIX: u64 = 0x06 * ONES;
    ((word & HIGH) ^ DIGIT_HIGH) | ((word.wrapping_add(SIX) & HIGH) ^ DIGIT_HIGH)
}

/// Index of the first byte above 0x7F (pyiso8583 decodes ASCII fields strictly too).
#[inline]
pub(crate) fn first_non_ascii(bytes: &[u8]) -> Option<usize> {
    if bytes.is_ascii() {
        None
    } else {
        bytes.iter().position(|b| !b.is_ascii())
    }
}

/// Checks the MTI's wire bytes (`bytes.len() == enc.wire_len()`).
pub(crate) fn check_mti(bytes: &[u8], enc: MtiEncoding) -> Result<(), ErrorKind> {
    let ok = match enc {
        MtiEncoding::Ascii => first_non_digit(bytes).is_none(),
        MtiEncoding::Bcd => bytes.iter().all(|&b| b >> 4 < 10 && b & 0x0F < 10),
    };
    if ok {
        Ok(())
    } else {
        Err(ErrorKind::BadMti)
    }
}

/// Turns four ASCII digits into the MTI's wire bytes.
pub(crate) fn write_mti(out: &mut [u8], mti: &[u8; 4], enc: MtiEncoding) {
    match enc {
        MtiEncoding::Ascii => out[..4].copy_from_slice(mti),
        MtiEncoding::Bcd => {
            out[0] = (mti[0] - b'0') << 4 | (mti[1] - b'0');
            out[1] = (mti[2] - b'0') << 4 | (mti[3] - b'0');
        }
    }
}

/// Reads one bitmap (`bytes.len() == enc.wire_len()`).
#[inline(always)]
pub(crate) fn read_bitmap(bytes: &[u8], enc: BitmapEncoding) -> Result<u64, ErrorKind> {
    match enc {
        BitmapEncoding::Binary => {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[..8]);
            Ok(u64::from_be_bytes(raw))
        }
        // Eight digits per step instead of sixteen byte-wise matches.
        BitmapEncoding::AsciiHex => match (hex_word(load8(bytes)), hex_word(load8(&bytes[8..]))) {
            (Some(hi), Some(lo)) => Ok(u64::from(hi) << 32 | u64::from(lo)),
            _ => Err(ErrorKind::BadBitmap),
        },
    }
}

/// Eight upper-case hex digits (loaded little-endian, so the first digit is the low byte)
/// as the 32-bit value they spell, or `None` if any byte is not `0-9` or `A-F`.
///
/// Upper case only: pyiso8583 writes upper case, and accepting lower case would let a
/// message decode that does not re-encode to the same bytes.
#[inline(always)]
const fn hex_word(word: u64) -> Option<u32> {
    const HIGH_BITS: u64 = 0x80 * ONES;
    // For bytes below 0x80, bit 7 of `byte + (0x80 - n)` says `byte >= n`; no byte carries
    // into its neighbour. A byte of 0x80 or more fails the first test, whatever the rest.
    const fn at_least(word: u64, n: u64) -> u64 {
        word.wrapping_add((0x80 - n) * ONES) & HIGH_BITS
    }
    let digit = at_least(word, 0x30) & !at_least(word, 0x3A);
    let letter = at_least(word, 0x41) & !at_least(word, 0x47);
    if word & HIGH_BITS != 0 || (digit | letter) != HIGH_BITS {
        return None;
    }
    // Low nibble of the byte, plus 9 for A-F ('A' = 0x41 -> 1 + 9).
    let nibbles = (word & (0x0F * ONES)) + (letter >> 7) * 9;
    // First digit is the low byte: reverse the byte order, then pack nibble pairs.
    let v = nibbles.swap_bytes();
    let v = (v | v >> 4) & 0x00FF_00FF_00FF_00FF;
    let v = (v | v >> 8) & 0x0000_FFFF_0000_FFFF;
    Some((v | v >> 16) as u32)
}

pub(crate) fn write_bitmap(out: &mut [u8], value: u64, enc: BitmapEncoding) {
    match enc {
        BitmapEncoding::Binary => out[..8].copy_from_slice(&value.to_be_bytes()),
        BitmapEncoding::AsciiHex => {
            for (i, slot) in out[..16].iter_mut().enumerate() {
                *slot = HEX_UPPER[(value >> (60 - 4 * i) & 0xF) as usize];
            }
        }
    }
}

/// Reads a length prefix (`bytes.len() == spec.prefix_len()`); returns the stated length.
#[inline]
pub(crate) fn read_prefix(bytes: &[u8], spec: &FieldSpec) -> Result<usize, ErrorKind> {
    let mut value = 0usize;
    match spec.prefix {
        PrefixEncoding::Ascii => {
            for &b in bytes {
                if !is_digit(b) {
                    return Err(ErrorKind::BadLengthPrefix);
                }
                value = value * 10 + (b - b'0') as usize;
            }
        }
        PrefixEncoding::Bcd => {
            // An odd digit count (LLL) leaves a leading pad nibble, which must be 0 so the
            // prefix has exactly one encoding.
            let pad = spec.length.digits() % 2 == 1;
            for (i, &b) in bytes.iter().enumerate() {
                let (hi, lo) = (b >> 4, b & 0x0F);
                if hi > 9 || lo > 9 || (pad && i == 0 && hi != 0) {
                    return Err(ErrorKind::BadLengthPrefix);
                }
                value = value * 100 + (hi * 10 + lo) as usize;
            }
        }
    }
    Ok(value)
}

/// Writes the prefix for `units` (`out.len() >= spec.prefix_len()`, `units <= 9999`).
pub(crate) fn write_prefix(out: &mut [u8], units: usize, spec: &FieldSpec) {
    let digits = spec.length.digits();
    match spec.prefix {
        PrefixEncoding::Ascii => {
            let mut rest = units;
            for slot in out[..digits].iter_mut().rev() {
                *slot = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
        }
        PrefixEncoding::Bcd => {
            let mut rest = units;
            for slot in out[..digits.div_ceil(2)].iter_mut().rev() {
                let two = rest % 100;
                *slot = (((two / 10) << 4) | (two % 10)) as u8;
                rest /= 100;
            }
        }
    }
}

/// Checks a field's wire bytes against its encoding; `Err` carries the offending index.
#[inline]
pub(crate) fn check_wire_value(
    wire: &[u8],
    units: usize,
    spec: &FieldSpec,
) -> Result<(), (ErrorKind, usize)> {
    match spec.encoding {
        Encoding::Binary => Ok(()),
        Encoding::Ascii if spec.numeric => match first_non_digit(wire) {
            None => Ok(()),
            Some(i) => Err((ErrorKind::NotNumeric { byte: wire[i] }, i)),
        },
        Encoding::Ascii => match first_non_ascii(wire) {
            None => Ok(()),
            Some(i) => Err((ErrorKind::NotAscii { byte: wire[i] }, i)),
        },
        Encoding::Bcd => {
            let padded = units % 2 == 1;
            for (i, &b) in wire.iter().enumerate() {
                if b >> 4 > 9 || b & 0x0F > 9 || (padded && i == 0 && b >> 4 != 0) {
                    return Err((ErrorKind::BadBcd, i));
                }
            }
            Ok(())
        }
    }
}

/// Fast check that every byte is a decimal digit; decode folds it into one flag and
/// calls the precise [`check_wire_value`] only when a message fails.
#[inline(always)]
pub(crate) fn all_digits(bytes: &[u8]) -> bool {
    fold_words(bytes, b'0', non_digit_bits) == 0
}

/// Fast check that every byte is 7-bit ASCII.
#[inline(always)]
pub(crate) fn all_ascii(bytes: &[u8]) -> bool {
    fold_words(bytes, 0, |word| word & (0x80 * ONES)) == 0
}

/// Value of an ASCII length prefix, `None` unless every byte is a digit. LL and LLL,
/// nearly every prefix on the wire, get straight-line code.
#[inline(always)]
pub(crate) fn ascii_prefix(bytes: &[u8]) -> Option<usize> {
    let digit = |b: u8| b.wrapping_sub(b'0') as usize;
    let ok = |b: u8| digit(b) < 10;
    match *bytes {
        [a, b] if ok(a) & ok(b) => Some(digit(a) * 10 + digit(b)),
        [a, b, c] if ok(a) & ok(b) & ok(c) => Some(digit(a) * 100 + digit(b) * 10 + digit(c)),
        [_, _] | [_, _, _] => None,
        _ => {
            let mut value = 0usize;
            for &b in bytes {
                if digit(b) > 9 {
                    return None;
                }
                value = value * 10 + digit(b);
            }
            Some(value)
        }
    }
}

/// OR of `errors` over the 8-byte words of `bytes`: zero when every byte passes.
/// The last word overlaps the one before it where the length is not a multiple of 8,
/// and short values are padded with `pad` (which must pass): the tests are per byte, so
/// reading a byte twice is harmless. No early exit: a loop without branches runs faster
/// over the valid messages that are nearly all of the traffic.
#[inline(always)]
fn fold_words(bytes: &[u8], pad: u8, errors: impl Fn(u64) -> u64) -> u64 {
    let len = bytes.len();
    if len < 8 {
        return errors(load_short(bytes, pad));
    }
    let mut acc = errors(load8(&bytes[len - 8..]));
    for chunk in bytes.chunks_exact(8) {
        acc |= errors(load8(chunk));
    }
    acc
}

#[inline(always)]
fn load8(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&chunk[..8]);
    u64::from_le_bytes(word)
}

/// Loads fewer than 8 bytes as a word without a variable-length copy: two overlapping
/// 4-byte reads for 4..=7 bytes; first, middle and last byte for 1..=3 (which is all of them).
#[inline(always)]
fn load_short(bytes: &[u8], pad: u8) -> u64 {
    let len = bytes.len();
    match len {
        0 => u64::from_le_bytes([pad; 8]),
        1..=3 => u64::from_le_bytes([
            bytes[0],
            bytes[len / 2],
            bytes[len - 1],
            pad,
            pad,
            pad,
            pad,
            pad,
        ]),
        _ => {
            let (mut lo, mut hi) = ([0u8; 4], [0u8; 4]);
            lo.copy_from_slice(&bytes[..4]);
            hi.copy_from_slice(&bytes[len - 4..]);
            u32::from_le_bytes(lo) as u64 | (u32::from_le_bytes(hi) as u64) << 32
        }
    }
}

/// Checks a value as an application supplies it (text, raw bytes, or BCD digits as ASCII)
/// against its field spec, and returns its length in units.
pub(crate) fn check_value(value: &[u8], spec: &FieldSpec) -> Result<usize, (ErrorKind, usize)> {
    let units = value.len();
    match spec.length {
        LengthType::Fixed if units != spec.max_len as usize => {
            return Err((
                ErrorKind::WrongLength {
                    expected: spec.max_len,
                    actual: units,
                },
                0,
            ))
        }
        _ if units > spec.max_len as usize => {
            return Err((
                ErrorKind::TooLong {
                    len: units,
                    max: spec.max_len,
                },
                0,
            ))
        }
        _ => {}
    }
    match spec.encoding {
        Encoding::Bcd => match first_non_digit(value) {
            None => Ok(units),
            Some(i) => Err((ErrorKind::NotNumeric { byte: value[i] }, i)),
        },
        Encoding::Ascii | Encoding::Binary => check_wire_value(value, units, spec).map(|()| units),
    }
}

/// Writes an already-checked value's wire bytes (`out.len() >= spec.wire_len(value.len())`).
pub(crate) fn write_value(out: &mut [u8], value: &[u8], spec: &FieldSpec) {
    match spec.encoding {
        Encoding::Ascii | Encoding::Binary => out[..value.len()].copy_from_slice(value),
        Encoding::Bcd => pack_bcd(out, value),
    }
}

/// Packs ASCII digits two per byte, left-padding an odd count with a 0 nibble.
fn pack_bcd(out: &mut [u8], digits: &[u8]) {
    let odd = digits.len() % 2;
    let bytes = digits.len().div_ceil(2);
    for (i, slot) in out[..bytes].iter_mut().enumerate() {
        // Digit index of this byte's high nibble, counting the pad as index -1.
        let hi = (2 * i).checked_sub(odd).map_or(0, |d| digits[d] - b'0');
        let lo = digits[2 * i + 1 - odd] - b'0';
        *slot = hi << 4 | lo;
    }
}

/// Unpacks `digits` BCD digits from `wire` into ASCII in `out`; returns the digits written.
///
/// `wire` must hold `digits.div_ceil(2)` bytes and `out` at least `digits` bytes.
pub fn unpack_bcd<'o>(wire: &[u8], digits: usize, out: &'o mut [u8]) -> &'o [u8] {
    let odd = digits % 2;
    for (d, slot) in out[..digits].iter_mut().enumerate() {
        let nibble_index = d + odd;
        let byte = wire[nibble_index / 2];
        let nibble = if nibble_index & 1 == 0 {
            byte >> 4
        } else {
            byte & 0x0F
        };
        *slot = b'0' + nibble;
    }
    &out[..digits]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bcd_field(length: LengthType) -> FieldSpec {
        FieldSpec {
            encoding: Encoding::Bcd,
            length,
            prefix: PrefixEncoding::Bcd,
            max_len: 999,
            numeric: false,
        }
    }

    #[test]
    fn ascii_hex_bitmap_round_trips_and_rejects_lower_case() {
        let mut out = [0u8; 16];
        write_bitmap(&mut out, 0x7234_0541_28C1_8A06, BitmapEncoding::AsciiHex);
        assert_eq!(&out, b"7234054128C18A06");
        assert_eq!(
            read_bitmap(&out, BitmapEncoding::AsciiHex),
            Ok(0x7234_0541_28C1_8A06)
        );
        assert_eq!(
            read_bitmap(b"7234054128c18a06", BitmapEncoding::AsciiHex),
            Err(ErrorKind::BadBitmap)
        );
    }

    #[test]
    fn ascii_hex_bitmap_accepts_exactly_upper_case_hex_in_every_position() {
        // Byte-wise reference: what the word-at-a-time reader must agree with.
        fn reference(text: &[u8]) -> Result<u64, ErrorKind> {
            let mut value = 0u64;
            for &b in text {
                let nibble = match b {
                    b'0'..=b'9' => b - b'0',
                    b'A'..=b'F' => b - b'A' + 10,
                    _ => return Err(ErrorKind::BadBitmap),
                };
                value = value << 4 | u64::from(nibble);
            }
            Ok(value)
        }
        let valid = *b"0123456789ABCDEF";
        for position in 0..16 {
            for byte in 0..=255u8 {
                let mut text = valid;
                text[position] = byte;
                assert_eq!(
                    read_bitmap(&text, BitmapEncoding::AsciiHex),
                    reference(&text),
                    "byte {byte:#04x} at {position}"
                );
            }
        }
    }

    #[test]
    fn word_checks_flag_exactly_the_bad_bytes_at_any_length_and_position() {
        for len in 0..=40usize {
            for position in 0..len {
                for byte in 0..=255u8 {
                    let mut digits = vec![b'7'; len];
                    digits[position] = byte;
                    assert_eq!(all_digits(&digits), is_digit(byte), "{digits:?}");
                    let mut text = vec![b'x'; len];
                    text[position] = byte;
                    assert_eq!(all_ascii(&text), byte.is_ascii(), "{text:?}");
                }
            }
        }
        assert!(all_digits(b"") && all_ascii(b""));
    }

    #[test]
    fn ascii_prefix_is_zero_padded_and_digits_only() {
        let pan = FieldSpec {
            encoding: Encoding::Ascii,
            length: LengthType::LLL,
            prefix: PrefixEncoding::Ascii,
            max_len: 999,
            numeric: false,
        };
        let mut out = [0u8; 3];
        write_prefix(&mut out, 7, &pan);
        assert_eq!(&out, b"007");
        assert_eq!(read_prefix(b"007", &pan), Ok(7));
        assert_eq!(read_prefix(b"0+7", &pan), Err(ErrorKind::BadLengthPrefix));
    }

    #[test]
    fn ascii_prefix_accepts_exactly_the_digit_strings() {
        for width in 1..=4usize {
            for value in 0..10usize.pow(width as u32) {
                let text = format!("{value:0width$}");
                assert_eq!(ascii_prefix(text.as_bytes()), Some(value));
            }
        }
        for bad in [&b"9:"[..], b"/0", b"0A", b"1 2", b"99\xff", b"\x00\x00"] {
            assert_eq!(ascii_prefix(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bcd_prefix_of_lll_takes_two_bytes_with_a_zero_pad_nibble() {
        let f = bcd_field(LengthType::LLL);
        let mut out = [0u8; 2];
        write_prefix(&mut out, 123, &f);
        assert_eq!(out, [0x01, 0x23]);
        assert_eq!(read_prefix(&out, &f), Ok(123));
        assert_eq!(
            read_prefix(&[0x11, 0x23], &f),
            Err(ErrorKind::BadLengthPrefix)
        );
        assert_eq!(
            read_prefix(&[0x0A, 0x23], &f),
            Err(ErrorKind::BadLengthPrefix)
        );
    }

    #[test]
    fn bcd_values_pack_odd_digit_counts_with_a_leading_zero_nibble() {
        let f = bcd_field(LengthType::LL);
        let mut wire = [0u8; 3];
        pack_bcd(&mut wire, b"12345");
        assert_eq!(wire, [0x01, 0x23, 0x45]);
        assert_eq!(check_wire_value(&wire, 5, &f), Ok(()));
        assert_eq!(
            check_wire_value(&[0x11, 0x23, 0x45], 5, &f),
            Err((ErrorKind::BadBcd, 0))
        );
        let mut digits = [0u8; 5];
        assert_eq!(unpack_bcd(&wire, 5, &mut digits), b"12345");
        pack_bcd(&mut wire[..2], b"9876");
        assert_eq!(&wire[..2], &[0x98, 0x76]);
    }

    #[test]
    fn values_are_checked_against_length_and_content_rules() {
        let amount = FieldSpec {
            encoding: Encoding::Ascii,
            length: LengthType::Fixed,
            prefix: PrefixEncoding::Ascii,
            max_len: 12,
            numeric: true,
        };
        assert_eq!(check_value(b"000000001000", &amount), Ok(12));
        assert_eq!(
            check_value(b"1000", &amount),
            Err((
                ErrorKind::WrongLength {
                    expected: 12,
                    actual: 4
                },
                0
            ))
        );
        assert_eq!(
            check_value(b"00000000100A", &amount),
            Err((ErrorKind::NotNumeric { byte: b'A' }, 11))
        );
        assert_eq!(first_non_ascii(b"ok\x80"), Some(2));
    }

    #[test]
    fn digit_check_finds_every_non_digit_at_every_position() {
        for len in 0..20 {
            let digits = vec![b'7'; len];
            assert_eq!(first_non_digit(&digits), None);
            for at in 0..len {
                for bad in [b'/', b':', b'A', b' ', 0x00, 0xB0, 0x3A, 0x3F, 0xFF] {
                    let mut field = digits.clone();
                    field[at] = bad;
                    assert_eq!(
                        first_non_digit(&field),
                        Some(at),
                        "len {len} at {at} byte {bad:#x}"
                    );
                }
            }
        }
    }
}
