//! The MAC of an ISO 8583 message: where it is, what it covers, how it is
//! written.
//!
//! The MAC is field 64 when the message has no secondary bitmap and field
//! 128 when it has one: in both cases the last field a message can carry.
//! It covers the message's bytes from the MTI up to (not including) the MAC
//! field's data: MTI, bitmaps (with the MAC bit set) and every other field.
//! Because it is the last field, adding it to a message that lacks it is
//! setting one bitmap bit and appending the tag.
//!
//! On the wire the 8-byte tag is the field's raw bytes in a binary spec
//! (`default`: field 64/128 binary, 8 bytes) or 16 upper-case hex digits in
//! an ASCII spec (`default_ascii`: 16 characters). Only upper-case hex is
//! accepted, as for bitmaps: one tag has one encoding, so no bit of a sealed
//! message (not even a letter's case bit) can change without failing.

use crate::key::{Tag, TAG_LEN};
use crate::ring::{KeyRing, KeyUsed};
use thiserror::Error;
use wire::iso8583::{BitmapEncoding, Encoding, FieldIndex, LengthType, Spec};

/// How a spec writes the MAC field's tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagEncoding {
    /// 8 raw bytes.
    Binary,
    /// 16 hex digits.
    Hex,
}

impl TagEncoding {
    pub const fn wire_len(self) -> usize {
        match self {
            Self::Binary => TAG_LEN,
            Self::Hex => 2 * TAG_LEN,
        }
    }
}

/// Why a spec cannot carry MACs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("spec {spec:?}: field {field} must be fixed binary of 8 bytes or fixed text of 16 characters to carry a MAC; fix the spec file")]
    UnsupportedField { spec: String, field: u8 },
}

/// Where a spec puts the MAC and its bitmap bits; computed once per spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacFormat {
    mti_len: u8,
    bitmap: BitmapEncoding,
    field64: TagEncoding,
    field128: TagEncoding,
}

impl MacFormat {
    pub fn of(spec: &Spec) -> Result<Self, FormatError> {
        let tag = |n: u8| {
            let f = spec.field(n).ok_or_else(|| FormatError::UnsupportedField {
                spec: spec.name().to_string(),
                field: n,
            })?;
            match (f.encoding, f.length, f.max_len) {
                (Encoding::Binary, LengthType::Fixed, 8) => Ok(TagEncoding::Binary),
                (Encoding::Ascii, LengthType::Fixed, 16) => Ok(TagEncoding::Hex),
                _ => Err(FormatError::UnsupportedField {
                    spec: spec.name().to_string(),
                    field: n,
                }),
            }
        };
        Ok(Self {
            mti_len: spec.mti_encoding().wire_len() as u8,
            bitmap: spec.bitmap_encoding(),
            field64: tag(64)?,
            field128: tag(128)?,
        })
    }

    /// The tag encoding of MAC field `field` (64 or 128).
    pub const fn encoding(&self, field: u8) -> TagEncoding {
        if field == 128 {
            self.field128
        } else {
            self.field64
        }
    }
}

/// Why a message's MAC was refused or could not be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MacError {
    #[error("field {field} (MAC) is missing: this participant is keyed, so every message it sends must carry one")]
    Missing { field: u8 },
    #[error("field {field} (MAC) at offset {offset} is {len} bytes, expected {expected}")]
    WrongLength {
        field: u8,
        offset: usize,
        len: usize,
        expected: usize,
    },
    #[error("field {field} (MAC) at offset {offset} is not upper-case hex text")]
    NotHex { field: u8, offset: usize },
    #[error("field {field} (MAC) does not match the participant's key; check the key both sides use (clearctl participants show gives its id)")]
    Mismatch { field: u8 },
    #[error(
        "no room to append field {field} (MAC): need {needed} bytes, the buffer has {available}"
    )]
    NoRoom {
        field: u8,
        needed: usize,
        available: usize,
    },
    #[error("field {field} (MAC) is already present; seal it instead of appending")]
    AlreadyPresent { field: u8 },
    #[error("the participant's key is unavailable (its key file changed since it was rotated in); rotate a key in with `clearctl participants rotate-key`")]
    NoKey,
    #[error("message length {given} does not match its index ({indexed} bytes); decode the message again")]
    StaleIndex { given: usize, indexed: usize },
}

/// The MAC field of a message with this index: 128 with a secondary bitmap,
/// else 64.
#[inline]
pub fn mac_field(index: &FieldIndex) -> u8 {
    if index.fields().contains(1) {
        128
    } else {
        64
    }
}

/// Reads the tag from the field's wire bytes.
#[inline]
fn read_tag(wire: &[u8], enc: TagEncoding, field: u8, offset: usize) -> Result<Tag, MacError> {
    let expected = enc.wire_len();
    if wire.len() != expected {
        return Err(MacError::WrongLength {
            field,
            offset,
            len: wire.len(),
            expected,
        });
    }
    let mut tag = [0u8; TAG_LEN];
    match enc {
        TagEncoding::Binary => tag.copy_from_slice(wire),
        TagEncoding::Hex => {
            for (i, out) in tag.iter_mut().enumerate() {
                let (hi, lo) = (upper_nibble(wire[2 * i]), upper_nibble(wire[2 * i + 1]));
                match (hi, lo) {
                    (Some(h), Some(l)) => *out = h << 4 | l,
                    _ => {
                        return Err(MacError::NotHex {
                            field,
                            offset: offset + 2 * i,
                        })
                    }
                }
            }
        }
    }
    Ok(tag)
}

/// An upper-case hex digit's value.
#[inline]
fn upper_nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

#[inline]
fn write_tag(out: &mut [u8], tag: &Tag, enc: TagEncoding) {
    match enc {
        TagEncoding::Binary => out.copy_from_slice(tag),
        TagEncoding::Hex => {
            for (i, b) in tag.iter().enumerate() {
                out[2 * i] = HEX_UPPER[(b >> 4) as usize];
                out[2 * i + 1] = HEX_UPPER[(b & 0xF) as usize];
            }
        }
    }
}

/// Verifies the MAC of `msg` (one whole message, decoded into `index`)
/// against `ring` at time `now`. Returns which key matched.
#[inline]
pub fn verify(
    format: &MacFormat,
    msg: &[u8],
    index: &FieldIndex,
    ring: &KeyRing,
    now: u64,
) -> Result<KeyUsed, MacError> {
    let field = mac_field(index);
    let span = index.get(field).ok_or(MacError::Missing { field })?;
    let offset = span.start as usize;
    let wire = msg.get(span.range()).unwrap_or(&[]);
    let tag = read_tag(wire, format.encoding(field), field, offset)?;
    let covered = msg
        .get(index.mti().start as usize..offset)
        .ok_or(MacError::Missing { field })?;
    ring.verify(covered, &tag, now)
        .map_err(|_| MacError::Mismatch { field })
}

/// Overwrites the MAC field of `msg` (present, decoded into `index`) with
/// the current key's tag.
#[inline]
pub fn seal(
    format: &MacFormat,
    msg: &mut [u8],
    index: &FieldIndex,
    ring: &KeyRing,
) -> Result<(), MacError> {
    let field = mac_field(index);
    let span = index.get(field).ok_or(MacError::Missing { field })?;
    let enc = format.encoding(field);
    let offset = span.start as usize;
    if span.len as usize != enc.wire_len() || span.end() > msg.len() {
        return Err(MacError::WrongLength {
            field,
            offset,
            len: span.len as usize,
            expected: enc.wire_len(),
        });
    }
    let tag = ring
        .sign(&msg[index.mti().start as usize..offset])
        .ok_or(MacError::NoKey)?;
    write_tag(&mut msg[span.range()], &tag, enc);
    Ok(())
}

/// Adds the MAC field to a message that lacks it: sets its bitmap bit and
/// appends the current key's tag after the last field. `buf[..msg_len]` is
/// the message decoded into `index`; the rest of `buf` is room to grow.
/// Returns the new message length (the index is then stale).
pub fn append(
    format: &MacFormat,
    buf: &mut [u8],
    msg_len: usize,
    index: &FieldIndex,
    ring: &KeyRing,
) -> Result<usize, MacError> {
    let field = mac_field(index);
    if index.fields().contains(field) {
        return Err(MacError::AlreadyPresent { field });
    }
    if index.message_len() != msg_len || msg_len > buf.len() {
        return Err(MacError::StaleIndex {
            given: msg_len,
            indexed: index.message_len(),
        });
    }
    if ring.current().is_none() {
        return Err(MacError::NoKey);
    }
    let enc = format.encoding(field);
    let needed = msg_len + enc.wire_len();
    if needed > buf.len() || needed > u16::MAX as usize {
        return Err(MacError::NoRoom {
            field,
            needed,
            available: buf.len(),
        });
    }
    // The MAC's bit is the last of its bitmap (bit 64 of the primary, bit
    // 128 of the secondary): the lowest bit of its last byte or hex digit.
    let bitmap_at = if field == 128 {
        index.get(1).map_or(0, |s| s.start as usize)
    } else {
        format.mti_len as usize
    };
    let last = bitmap_at + format.bitmap.wire_len() - 1;
    match format.bitmap {
        BitmapEncoding::Binary => buf[last] |= 1,
        BitmapEncoding::AsciiHex => {
            // Decode accepted this bitmap, so it is an upper-case hex digit.
            let v = upper_nibble(buf[last]).unwrap_or(0) | 1;
            buf[last] = HEX_UPPER[v as usize];
        }
    }
    let tag = ring
        .sign(&buf[index.mti().start as usize..msg_len])
        .ok_or(MacError::NoKey)?;
    write_tag(&mut buf[msg_len..needed], &tag, enc);
    Ok(needed)
}

/// [`seal`] when the MAC field is present, else [`append`]. Returns the
/// message length (unchanged after a seal).
#[inline]
pub fn seal_or_append(
    format: &MacFormat,
    buf: &mut [u8],
    msg_len: usize,
    index: &FieldIndex,
    ring: &KeyRing,
) -> Result<usize, MacError> {
    if index.fields().contains(mac_field(index)) {
        seal(format, &mut buf[..msg_len], index, ring)?;
        Ok(msg_len)
    } else {
        append(format, buf, msg_len, index, ring)
    }
}
