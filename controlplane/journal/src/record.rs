//! The on-disk record: a fixed 32-byte header followed by the payload bytes.
//!
//! ```text
//! offset size field
//!      0    4 magic            b"CWJR"
//!      4    2 version          FORMAT_VERSION, little-endian like every field
//!      6    2 kind             record kind (see `money::RecordKind`)
//!      8    4 payload length   bytes after the header, <= MAX_PAYLOAD
//!     12    8 LSN              log sequence number, 1-based, consecutive
//!     20    4 clearing epoch   the window the producing lcore stamped
//!     24    2 source lcore     the producer that appended the record
//!     26    2 reserved         zero; a non-zero value is corruption
//!     28    4 CRC32C           over bytes 0..28 of the header and the payload
//! ```
//!
//! The CRC covers the header too, so a flipped LSN or length is caught, not
//! only a flipped amount. The layer is kind-agnostic: it moves `(kind,
//! payload)` pairs; the money encodings live in `money`.

use thiserror::Error;

/// Byte ranges of the header fields (smoltcp style: no magic numbers below).
pub mod field {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const VERSION: Range<usize> = 4..6;
    pub const KIND: Range<usize> = 6..8;
    pub const LEN: Range<usize> = 8..12;
    pub const LSN: Range<usize> = 12..20;
    pub const EPOCH: Range<usize> = 20..24;
    pub const LCORE: Range<usize> = 24..26;
    pub const RESERVED: Range<usize> = 26..28;
    pub const CRC: Range<usize> = 28..32;
    /// The header bytes the CRC covers (everything but the CRC itself).
    pub const CRC_COVERED: Range<usize> = 0..28;
}

/// First four bytes of every record.
pub const MAGIC: [u8; 4] = *b"CWJR";
/// Version of this layout; a reader refuses other versions rather than guess.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 32;
/// Hard upper bound of a payload. Ring slots are sized from the configured
/// maximum, which may be lower but never higher than this.
pub const MAX_PAYLOAD: usize = 1024;
/// Largest encoded record.
pub const MAX_RECORD_LEN: usize = HEADER_LEN + MAX_PAYLOAD;

/// The header values of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub kind: u16,
    pub payload_len: u32,
    pub lsn: u64,
    pub epoch: u32,
    pub lcore: u16,
}

/// One decoded record borrowing its payload from the segment buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub header: RecordHeader,
    pub payload: &'a [u8],
}

impl RecordView<'_> {
    /// Total bytes the record occupies on disk.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
}

/// Why bytes could not be encoded as a record.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("record payload is {len} bytes, more than the maximum of {max}; split the change or raise `max_payload` (at most {MAX_PAYLOAD})")]
    PayloadTooLarge { len: usize, max: usize },
    #[error("output buffer has {available} bytes free but the record needs {needed}")]
    BufferTooSmall { needed: usize, available: usize },
}

/// Why bytes at `offset` are not a valid record. Offsets are relative to the
/// start of the buffer handed to [`decode`] (the segment file start when the
/// recovery code calls it).
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum DecodeError {
    #[error(
        "record header at byte {offset} is cut short: {available} of {HEADER_LEN} bytes present"
    )]
    TruncatedHeader { offset: u64, available: usize },
    #[error("bad magic {found:02x?} at byte {offset} (expected {MAGIC:02x?}): not the start of a record")]
    BadMagic { offset: u64, found: [u8; 4] },
    #[error("record at byte {offset} has format version {found}, this build reads {FORMAT_VERSION}; recover with a matching clearwayd")]
    UnsupportedVersion { offset: u64, found: u16 },
    #[error("record at byte {offset} declares a {len}-byte payload, more than the maximum of {MAX_PAYLOAD}")]
    PayloadTooLarge { offset: u64, len: u32 },
    #[error("record at byte {offset} has non-zero reserved bits {found:#06x}")]
    ReservedNotZero { offset: u64, found: u16 },
    #[error("record payload at byte {offset} is cut short: {available} of {len} bytes present")]
    TruncatedPayload {
        offset: u64,
        len: u32,
        available: usize,
    },
    #[error("CRC32C mismatch for record at byte {offset}: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        offset: u64,
        stored: u32,
        computed: u32,
    },
}

impl DecodeError {
    /// Byte offset of the record that failed to decode.
    pub fn offset(&self) -> u64 {
        match *self {
            DecodeError::TruncatedHeader { offset, .. }
            | DecodeError::BadMagic { offset, .. }
            | DecodeError::UnsupportedVersion { offset, .. }
            | DecodeError::PayloadTooLarge { offset, .. }
            | DecodeError::ReservedNotZero { offset, .. }
            | DecodeError::TruncatedPayload { offset, .. }
            | DecodeError::CrcMismatch { offset, .. } => offset,
        }
    }
}

/// Writes the header for `header` (its `payload_len` must equal
/// `payload.len()`) and the payload into `out`, computing the CRC.
/// Returns the number of bytes written. Never allocates.
pub fn encode_into(
    header: &RecordHeader,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(EncodeError::PayloadTooLarge {
            len: payload.len(),
            max: MAX_PAYLOAD,
        });
    }
    debug_assert_eq!(header.payload_len as usize, payload.len());
    let needed = HEADER_LEN + payload.len();
    if out.len() < needed {
        return Err(EncodeError::BufferTooSmall {
            needed,
            available: out.len(),
        });
    }
    let (head, rest) = out.split_at_mut(HEADER_LEN);
    write_header(header, payload.len() as u32, head);
    rest[..payload.len()].copy_from_slice(payload);
    let crc = crc32c::crc32c_append(crc32c::crc32c(&head[field::CRC_COVERED]), payload);
    head[field::CRC].copy_from_slice(&crc.to_le_bytes());
    Ok(needed)
}

/// Appends an encoded record to `out` (used by the writer's batch buffer,
/// whose capacity is reserved at start so this does not reallocate).
pub fn encode_append(
    header: &RecordHeader,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    let start = out.len();
    out.resize(start + HEADER_LEN + payload.len(), 0);
    match encode_into(header, payload, &mut out[start..]) {
        Ok(n) => Ok(n),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

fn write_header(header: &RecordHeader, payload_len: u32, head: &mut [u8]) {
    head[field::MAGIC].copy_from_slice(&MAGIC);
    head[field::VERSION].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    head[field::KIND].copy_from_slice(&header.kind.to_le_bytes());
    head[field::LEN].copy_from_slice(&payload_len.to_le_bytes());
    head[field::LSN].copy_from_slice(&header.lsn.to_le_bytes());
    head[field::EPOCH].copy_from_slice(&header.epoch.to_le_bytes());
    head[field::LCORE].copy_from_slice(&header.lcore.to_le_bytes());
    head[field::RESERVED].copy_from_slice(&0u16.to_le_bytes());
}

fn u16_at(buf: &[u8], r: std::ops::Range<usize>) -> u16 {
    let mut b = [0u8; 2];
    b.copy_from_slice(&buf[r]);
    u16::from_le_bytes(b)
}

fn u32_at(buf: &[u8], r: std::ops::Range<usize>) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[r]);
    u32::from_le_bytes(b)
}

fn u64_at(buf: &[u8], r: std::ops::Range<usize>) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[r]);
    u64::from_le_bytes(b)
}

/// Decodes the record starting at `buf[0]`. `base_offset` is added to every
/// offset reported in errors, so callers can pass a sub-slice of a segment
/// and still get segment-relative offsets.
pub fn decode(buf: &[u8], base_offset: u64) -> Result<RecordView<'_>, DecodeError> {
    decode_with(buf, base_offset, CrcCheck::Compute)
}

/// Whether [`decode_with`] computes the CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrcCheck {
    Compute,
    /// Another pass over the same bytes already decoded this record with
    /// its CRC (recovery's read-ahead thread, see [`valid_prefix`]).
    AlreadyVerified,
}

/// The length of the longest run of records at the start of `buf` that
/// [`decode`] accepts, CRCs included: every record that starts below it
/// decodes, and the one starting at it (if any) does not.
pub(crate) fn valid_prefix(buf: &[u8]) -> usize {
    let mut offset = 0usize;
    while offset < buf.len() {
        match decode(&buf[offset..], offset as u64) {
            Ok(view) => offset += view.encoded_len(),
            Err(_) => break,
        }
    }
    offset
}

pub(crate) fn decode_with(
    buf: &[u8],
    base_offset: u64,
    crc: CrcCheck,
) -> Result<RecordView<'_>, DecodeError> {
    let offset = base_offset;
    if buf.len() < HEADER_LEN {
        // A short buffer that does not even start with the magic is reported
        // as such: it is more useful to the operator than "truncated".
        let n = buf.len().min(MAGIC.len());
        if buf[..n] != MAGIC[..n] {
            let mut found = [0u8; 4];
            found[..n].copy_from_slice(&buf[..n]);
            return Err(DecodeError::BadMagic { offset, found });
        }
        return Err(DecodeError::TruncatedHeader {
            offset,
            available: buf.len(),
        });
    }
    let head = &buf[..HEADER_LEN];
    if head[field::MAGIC] != MAGIC {
        let mut found = [0u8; 4];
        found.copy_from_slice(&head[field::MAGIC]);
        return Err(DecodeError::BadMagic { offset, found });
    }
    let version = u16_at(head, field::VERSION);
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            offset,
            found: version,
        });
    }
    let len = u32_at(head, field::LEN);
    if len as usize > MAX_PAYLOAD {
        return Err(DecodeError::PayloadTooLarge { offset, len });
    }
    let reserved = u16_at(head, field::RESERVED);
    if reserved != 0 {
        return Err(DecodeError::ReservedNotZero {
            offset,
            found: reserved,
        });
    }
    let available = buf.len() - HEADER_LEN;
    if available < len as usize {
        return Err(DecodeError::TruncatedPayload {
            offset,
            len,
            available,
        });
    }
    let payload = &buf[HEADER_LEN..HEADER_LEN + len as usize];
    let stored = u32_at(head, field::CRC);
    let computed = match crc {
        CrcCheck::Compute => {
            crc32c::crc32c_append(crc32c::crc32c(&head[field::CRC_COVERED]), payload)
        }
        CrcCheck::AlreadyVerified => stored,
    };
    if stored != computed {
        return Err(DecodeError::CrcMismatch {
            offset,
            stored,
            computed,
        });
    }
    Ok(RecordView {
        header: RecordHeader {
            kind: u16_at(head, field::KIND),
            payload_len: len,
            lsn: u64_at(head, field::LSN),
            epoch: u32_at(head, field::EPOCH),
            lcore: u16_at(head, field::LCORE),
        },
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(lsn: u64, len: usize) -> RecordHeader {
        RecordHeader {
            kind: 7,
            payload_len: len as u32,
            lsn,
            epoch: 3,
            lcore: 2,
        }
    }

    #[test]
    fn a_record_decodes_to_the_values_it_was_encoded_from() {
        let payload = b"deposit 100.00 EUR";
        let mut buf = [0u8; 128];
        let n = encode_into(&header(42, payload.len()), payload, &mut buf).unwrap();
        assert_eq!(n, HEADER_LEN + payload.len());
        let view = decode(&buf[..n], 0).unwrap();
        assert_eq!(view.header, header(42, payload.len()));
        assert_eq!(view.payload, payload);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let payload = [0xA5u8; 40];
        let mut buf = [0u8; 128];
        let n = encode_into(&header(9, payload.len()), &payload, &mut buf).unwrap();
        for byte in 0..n {
            for bit in 0..8 {
                let mut copy = buf;
                copy[byte] ^= 1 << bit;
                assert!(
                    decode(&copy[..n], 0).is_err(),
                    "flip of bit {bit} in byte {byte} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn a_payload_over_the_maximum_is_refused_with_its_size() {
        let payload = vec![0u8; MAX_PAYLOAD + 1];
        let mut buf = vec![0u8; MAX_RECORD_LEN + 8];
        let err = encode_into(&header(1, payload.len()), &payload, &mut buf).unwrap_err();
        assert_eq!(
            err,
            EncodeError::PayloadTooLarge {
                len: MAX_PAYLOAD + 1,
                max: MAX_PAYLOAD
            }
        );
    }

    #[test]
    fn the_valid_prefix_ends_at_the_first_bad_record() {
        let mut buf = vec![0u8; 512];
        let mut at = 0;
        for lsn in 1..=3 {
            at += encode_into(&header(lsn, 8), b"payload!", &mut buf[at..]).unwrap();
        }
        let one = HEADER_LEN + 8;
        assert_eq!(valid_prefix(&buf[..at]), at);
        let mut flipped = buf[..at].to_vec();
        flipped[one + HEADER_LEN + 2] ^= 1; // second record's payload
        assert_eq!(valid_prefix(&flipped), one);
        assert_eq!(valid_prefix(&buf[..at - 1]), 2 * one, "a torn last record");
        assert_eq!(valid_prefix(&[]), 0);
    }

    #[test]
    fn errors_carry_the_offset_of_the_bad_record() {
        let mut buf = [0u8; 64];
        let n = encode_into(&header(1, 4), b"abcd", &mut buf).unwrap();
        let err = decode(&buf[..n - 1], 4096).unwrap_err();
        assert_eq!(
            err,
            DecodeError::TruncatedPayload {
                offset: 4096,
                len: 4,
                available: 3
            }
        );
        assert_eq!(err.offset(), 4096);
        let err = decode(&[0u8; 10], 77).unwrap_err();
        assert!(matches!(err, DecodeError::BadMagic { offset: 77, .. }));
        let err = decode(&MAGIC[..3], 5).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::TruncatedHeader {
                offset: 5,
                available: 3
            }
        ));
    }
}
