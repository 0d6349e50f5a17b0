//! Zero-copy decode: one pass over the message builds a fixed index of field byte ranges.
//!
//! Nothing is copied or allocated; the index is 129 `(u16, u16)` spans plus the field
//! set, about 530 bytes, so a switch core can keep one per packet in flight. A message is
//! accepted only if it is the one canonical encoding of its values: re-encoding the
//! decoded values gives back the same bytes, which is what lets the interop and mutation
//! tests prove "no wrong success".

use super::error::{Error, ErrorKind};
use super::field_set::FieldSet;
use super::primitives::{
    all_ascii, all_digits, ascii_prefix, check_mti, check_wire_value, read_bitmap, read_prefix,
};
use super::spec::{Check, Encoding, LengthType, MtiEncoding, Spec};

/// Byte range of one field's value (after its length prefix) in the message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u16,
    pub len: u16,
}

impl Span {
    #[inline]
    pub const fn range(self) -> core::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }

    #[inline]
    pub const fn end(self) -> usize {
        self.start as usize + self.len as usize
    }
}

/// Where each field of a decoded message lies in its buffer.
///
/// Slot 0 is the MTI, slot 1 the secondary bitmap (when present), slots 2..=128 the data
/// fields. Only slots of fields in [`FieldIndex::fields`] are meaningful.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIndex {
    present: FieldSet,
    len: u16,
    spans: [Span; 129],
}

impl Default for FieldIndex {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Slot of the MTI in the span table.
const MTI: usize = 0;
/// Slot of the secondary bitmap in the span table.
const SECONDARY_BITMAP: usize = 1;

impl FieldIndex {
    pub const EMPTY: Self = Self {
        present: FieldSet::EMPTY,
        len: 0,
        spans: [Span { start: 0, len: 0 }; 129],
    };

    /// Decodes `buf` (one whole message, no frame header) against `spec`.
    pub fn decode(buf: &[u8], spec: &Spec) -> Result<Self, Error> {
        let mut index = Self::EMPTY;
        index.decode_into(buf, spec)?;
        Ok(index)
    }

    /// Decodes into an index the caller keeps preallocated. On error the index is
    /// emptied, so a stale index can never be mistaken for the new message's.
    pub fn decode_into(&mut self, buf: &[u8], spec: &Spec) -> Result<(), Error> {
        let result = self.parse(buf, spec);
        if result.is_err() {
            self.present = FieldSet::EMPTY;
            self.len = 0;
        }
        result
    }

    fn parse(&mut self, buf: &[u8], spec: &Spec) -> Result<(), Error> {
        if buf.len() > u16::MAX as usize {
            return Err(Error::new(
                ErrorKind::MessageTooLong { len: buf.len() },
                0,
                0,
            ));
        }
        let mti_len = spec.mti.wire_len();
        let mti = take(buf, 0, mti_len, 0)?;
        check_mti(mti, spec.mti).map_err(|k| Error::new(k, 0, 0))?;
        self.spans[MTI] = Span {
            start: 0,
            len: mti_len as u16,
        };

        let bitmap_len = spec.bitmap.wire_len();
        let mut pos = mti_len;
        let primary = read_bitmap(take(buf, pos, bitmap_len, 0)?, spec.bitmap)
            .map_err(|k| Error::new(k, 0, mti_len))?;
        pos += bitmap_len;
        let mut secondary = 0;
        if primary & 1 << 63 != 0 {
            secondary = read_bitmap(take(buf, pos, bitmap_len, 1)?, spec.bitmap)
                .map_err(|k| Error::new(k, 1, pos))?;
            if secondary == 0 {
                return Err(Error::new(ErrorKind::EmptySecondaryBitmap, 1, pos));
            }
            self.spans[SECONDARY_BITMAP] = Span {
                start: pos as u16,
                len: bitmap_len as u16,
            };
            pos += bitmap_len;
        }
        if secondary & 1 << 63 != 0 {
            return Err(Error::new(
                ErrorKind::TertiaryBitmap,
                65,
                mti_len + bitmap_len,
            ));
        }
        let present = FieldSet::from_bitmaps(primary, secondary);

        let mut data_fields = present;
        data_fields.remove(1);
        match self.walk(buf, spec, data_fields, pos) {
            Ok((end, true)) if end == buf.len() => pos = end,
            Ok((end, contents_ok)) => {
                let kind = ErrorKind::TrailingBytes {
                    count: buf.len() - end,
                };
                let e = Error::new(kind, 0, end);
                return Err(self.first_error(buf, spec, present, 129, contents_ok, e));
            }
            Err((e, contents_ok)) => {
                return Err(self.first_error(buf, spec, present, e.field, contents_ok, e))
            }
        }
        self.present = present;
        self.len = pos as u16;
        Ok(())
    }

    /// Walks the data fields from `pos`, recording each span. Returns where the last field
    /// ends and whether every field's content was valid; a structural error (undefined
    /// field, bad prefix, truncation) stops the walk. Kept apart from the error reporting so
    /// the loop carries as little state as possible.
    #[inline(always)]
    fn walk(
        &mut self,
        buf: &[u8],
        spec: &Spec,
        data_fields: FieldSet,
        mut pos: usize,
    ) -> Result<(usize, bool), (Error, bool)> {
        // Field contents are checked branch-free and folded into one flag; only a bad
        // message pays for finding which byte of which field was first to be wrong.
        let mut contents_ok = true;
        for n in data_fields {
            let layout = spec.layouts[n as usize];
            let (units, start) = if layout.prefix_len == 0 {
                if layout.check == Check::Undefined {
                    let e = Error::new(ErrorKind::UndefinedField, n, pos);
                    return Err((e, contents_ok));
                }
                (layout.len as usize, pos)
            } else {
                let prefix_len = layout.prefix_len as usize;
                let units = match take(buf, pos, prefix_len, n) {
                    Ok(prefix) if !layout.prefix_bcd => ascii_prefix(prefix),
                    Ok(prefix) => spec.field(n).and_then(|f| read_prefix(prefix, f).ok()),
                    Err(e) => return Err((e, contents_ok)),
                };
                match units {
                    Some(units) if units <= layout.len as usize => (units, pos + prefix_len),
                    Some(units) => {
                        let kind = ErrorKind::TooLong {
                            len: units,
                            max: layout.len,
                        };
                        return Err((Error::new(kind, n, pos), contents_ok));
                    }
                    None => {
                        let e = Error::new(ErrorKind::BadLengthPrefix, n, pos);
                        return Err((e, contents_ok));
                    }
                }
            };
            let wire_len = if layout.check == Check::Bcd {
                units.div_ceil(2)
            } else {
                units
            };
            let value = match take(buf, start, wire_len, n) {
                Ok(value) => value,
                Err(e) => return Err((e, contents_ok)),
            };
            // If-chain, most common first: cheaper than a jump table for four cases.
            contents_ok &= if layout.check == Check::Digits {
                all_digits(value)
            } else if layout.check == Check::Text {
                all_ascii(value)
            } else if layout.check == Check::Binary {
                true
            } else {
                spec.field(n)
                    .is_some_and(|f| check_wire_value(value, units, f).is_ok())
            };
            // start + wire_len <= buf.len() <= u16::MAX, so both fit.
            self.spans[n as usize] = Span {
                start: start as u16,
                len: wire_len as u16,
            };
            pos = start + wire_len;
        }
        Ok((pos, contents_ok))
    }

    /// The error to report when `structural` stopped the walk at field `stop`: a content
    /// error in an earlier field comes first, as it is earlier in the message.
    #[cold]
    fn first_error(
        &self,
        buf: &[u8],
        spec: &Spec,
        present: FieldSet,
        stop: u8,
        contents_ok: bool,
        structural: Error,
    ) -> Error {
        if contents_ok {
            return structural;
        }
        for n in present.iter().filter(|&n| n > 1 && n < stop) {
            let (Some(field), span) = (spec.field(n), self.spans[n as usize]) else {
                continue;
            };
            let Some(value) = buf.get(span.range()) else {
                continue;
            };
            let units = match field.length {
                LengthType::Fixed => field.max_len as usize,
                _ => {
                    let prefix =
                        buf.get(span.start as usize - field.prefix_len()..span.start as usize);
                    prefix.and_then(|p| read_prefix(p, field).ok()).unwrap_or(0)
                }
            };
            if let Err((kind, i)) = check_wire_value(value, units, field) {
                return Error::new(kind, n, span.start as usize + i);
            }
        }
        structural
    }

    /// The fields present, including 1 when the secondary bitmap is.
    #[inline]
    pub const fn fields(&self) -> FieldSet {
        self.present
    }

    /// Length of the decoded message in bytes.
    #[inline]
    pub const fn message_len(&self) -> usize {
        self.len as usize
    }

    /// The MTI's span (always bytes 0..4 for ASCII, 0..2 for BCD).
    #[inline]
    pub const fn mti(&self) -> Span {
        self.spans[MTI]
    }

    /// Field `n`'s wire bytes in `msg`, the buffer this index was decoded from; for a
    /// caller that keeps the index and the packet buffer apart.
    #[inline]
    pub fn field<'m>(&self, msg: &'m [u8], n: u8) -> Option<&'m [u8]> {
        self.get(n).and_then(|span| msg.get(span.range()))
    }

    /// Span of field `n`'s value, or `None` when the message does not carry it.
    #[inline]
    pub fn get(&self, n: u8) -> Option<Span> {
        if self.present.contains(n) {
            Some(self.spans[n as usize])
        } else {
            None
        }
    }
}

/// `buf[pos..pos + len]`, or a `Truncated` error naming `field`.
#[inline]
fn take(buf: &[u8], pos: usize, len: usize, field: u8) -> Result<&[u8], Error> {
    buf.get(pos..pos + len).ok_or_else(|| {
        let kind = ErrorKind::Truncated {
            needed: len,
            available: buf.len().saturating_sub(pos),
        };
        Error::new(kind, field, pos)
    })
}

/// A decoded message: the original bytes plus their field index.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    buf: &'a [u8],
    spec: &'a Spec,
    index: FieldIndex,
}

impl<'a> Message<'a> {
    /// Decodes `buf` (one whole message, no frame header) against `spec`.
    pub fn decode(buf: &'a [u8], spec: &'a Spec) -> Result<Self, Error> {
        let index = FieldIndex::decode(buf, spec)?;
        Ok(Self { buf, spec, index })
    }

    /// The MTI's wire bytes (four ASCII digits, or two BCD bytes).
    #[inline]
    pub fn mti(&self) -> &'a [u8] {
        &self.buf[self.index.mti().range()]
    }

    /// The MTI as four ASCII digits, whatever its wire encoding.
    pub fn mti_digits(&self) -> [u8; 4] {
        let w = self.mti();
        match self.spec.mti {
            MtiEncoding::Ascii => [w[0], w[1], w[2], w[3]],
            MtiEncoding::Bcd => [
                b'0' + (w[0] >> 4),
                b'0' + (w[0] & 0xF),
                b'0' + (w[1] >> 4),
                b'0' + (w[1] & 0xF),
            ],
        }
    }

    /// Field `n`'s value as it is on the wire (without its length prefix).
    #[inline]
    pub fn field(&self, n: u8) -> Option<&'a [u8]> {
        self.index.get(n).map(|span| &self.buf[span.range()])
    }

    /// Field `n` as text, for ASCII-encoded fields.
    pub fn field_str(&self, n: u8) -> Option<&'a str> {
        let field = self.spec.field(n)?;
        if field.encoding != Encoding::Ascii {
            return None;
        }
        // Decode checked every byte is ASCII, so this never fails.
        self.field(n).and_then(|b| core::str::from_utf8(b).ok())
    }

    /// Number of digits of a BCD field (its wire bytes may include a pad nibble).
    pub fn bcd_digits(&self, n: u8) -> Option<usize> {
        let field = self.spec.field(n)?;
        let span = self.index.get(n)?;
        if field.encoding != Encoding::Bcd {
            return None;
        }
        match field.length {
            LengthType::Fixed => Some(field.max_len as usize),
            _ => {
                let start = span.start as usize - field.prefix_len();
                read_prefix(&self.buf[start..span.start as usize], field).ok()
            }
        }
    }

    /// Data fields present (2..=128), ascending; bitmaps are not listed.
    pub fn data_fields(&self) -> impl Iterator<Item = (u8, &'a [u8])> + '_ {
        let mut set = self.index.fields();
        set.remove(1);
        set.iter()
            .filter_map(move |n| self.field(n).map(|v| (n, v)))
    }

    pub const fn index(&self) -> &FieldIndex {
        &self.index
    }

    pub const fn spec(&self) -> &'a Spec {
        self.spec
    }

    pub const fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
}
