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
use super::spec::{Check, Encoding, Layout, LengthType, MtiEncoding, Spec};

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
            Ok((end, _)) => {
                let kind = ErrorKind::TrailingBytes {
                    count: buf.len() - end,
                };
                let e = Error::new(kind, 0, end);
                return Err(self.first_error(buf, spec, present, 129, e));
            }
            Err(e) => return Err(self.first_error(buf, spec, present, e.field, e)),
        }
        self.present = present;
        self.len = pos as u16;
        Ok(())
    }

    /// Walks the data fields from `pos`, recording each span. Returns where the last field
    /// ends and whether every field's content was valid; a structural error (undefined
    /// field, bad prefix, truncation) stops the walk. Kept apart from the error reporting so
    /// the loop carries as little state as possible.
    ///
    /// Contents are checked per run of neighbouring fields, not per field: most of a
    /// message is fields of one kind side by side, and one check over a long slice costs
    /// far less than a dozen over short ones. A run of digit fields is checked for digits
    /// as one slice, their ASCII length prefixes included (the prefix parse accepted only
    /// digits there). Everything between two binary (or BCD) fields is checked for ASCII
    /// as one slice: text fields, digit fields and ASCII prefixes alike. Binary fields and
    /// the fields the general code handles (BCD, BCD prefixes) end both runs, and their
    /// bytes are never in one. Only a bad message pays for finding which byte of which
    /// field was first to be wrong, in [`Self::first_error`].
    #[inline(always)]
    fn walk(
        &mut self,
        buf: &[u8],
        spec: &Spec,
        data_fields: FieldSet,
        mut pos: usize,
    ) -> Result<(usize, bool), Error> {
        let mut contents_ok = true;
        // Where the current runs of digit fields and of ASCII bytes began.
        let mut digits_from = pos;
        let mut ascii_from = pos;
        for n in data_fields {
            let layout = spec.layouts[n as usize];
            let field_start = pos;
            let (start, len) = match layout.prefix_len {
                0 => (pos, layout.len as usize),
                Layout::SLOW => {
                    let (start, len, ok) = general_field(buf, spec, n, pos)?;
                    contents_ok &= ok;
                    (start, len)
                }
                prefix_len => {
                    let prefix_len = prefix_len as usize;
                    let Some(units) = ascii_prefix(take(buf, pos, prefix_len, n)?) else {
                        return Err(Error::new(ErrorKind::BadLengthPrefix, n, pos));
                    };
                    if units > layout.len as usize {
                        let kind = ErrorKind::TooLong {
                            len: units,
                            max: layout.len,
                        };
                        return Err(Error::new(kind, n, pos));
                    }
                    (pos + prefix_len, units)
                }
            };
            let end = start + len;
            if end > buf.len() {
                return Err(truncated(buf, start, len, n));
            }
            // end <= buf.len() <= u16::MAX, so both fit.
            self.spans[n as usize] = Span {
                start: start as u16,
                len: len as u16,
            };
            pos = end;
            if layout.check != Check::Digits {
                if digits_from < field_start {
                    contents_ok &= buf.get(digits_from..field_start).is_some_and(all_digits);
                }
                digits_from = end;
                if layout.check == Check::Binary {
                    if ascii_from < field_start {
                        contents_ok &= buf.get(ascii_from..field_start).is_some_and(all_ascii);
                    }
                    ascii_from = end;
                }
            }
        }
        if digits_from < pos {
            contents_ok &= buf.get(digits_from..pos).is_some_and(all_digits);
        }
        if ascii_from < pos {
            contents_ok &= buf.get(ascii_from..pos).is_some_and(all_ascii);
        }
        Ok((pos, contents_ok))
    }

    /// The error to report when `structural` stopped the walk at field `stop` (129: the
    /// walk ended, but with trailing bytes or a bad content): a content error in an
    /// earlier field comes first, as it is earlier in the message.
    #[cold]
    fn first_error(
        &self,
        buf: &[u8],
        spec: &Spec,
        present: FieldSet,
        stop: u8,
        structural: Error,
    ) -> Error {
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
    buf.get(pos..pos + len)
        .ok_or_else(|| truncated(buf, pos, len, field))
}

/// The error for `len` bytes of `field` at `pos` that `buf` does not hold.
#[cold]
fn truncated(buf: &[u8], pos: usize, len: usize, field: u8) -> Error {
    let kind = ErrorKind::Truncated {
        needed: len,
        available: buf.len().saturating_sub(pos),
    };
    Error::new(kind, field, pos)
}

/// A field the decode walk's fast path does not handle (undefined, BCD, or with a BCD
/// length prefix), through its full `FieldSpec`: returns where its value starts, its wire
/// length, and whether its content is valid. Out of line so the walk stays small.
#[inline(never)]
fn general_field(
    buf: &[u8],
    spec: &Spec,
    n: u8,
    pos: usize,
) -> Result<(usize, usize, bool), Error> {
    let Some(field) = spec.field(n) else {
        return Err(Error::new(ErrorKind::UndefinedField, n, pos));
    };
    let (units, start) = match field.length {
        LengthType::Fixed => (field.max_len as usize, pos),
        _ => {
            let prefix_len = field.prefix_len();
            let prefix = take(buf, pos, prefix_len, n)?;
            let units = read_prefix(prefix, field).map_err(|k| Error::new(k, n, pos))?;
            if units > field.max_len as usize {
                let kind = ErrorKind::TooLong {
                    len: units,
                    max: field.max_len,
                };
                return Err(Error::new(kind, n, pos));
            }
            (units, pos + prefix_len)
        }
    };
    let wire_len = field.wire_len(units);
    let value = take(buf, start, wire_len, n)?;
    Ok((
        start,
        wire_len,
        check_wire_value(value, units, field).is_ok(),
    ))
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
