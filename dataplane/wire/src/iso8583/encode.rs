//! Encode a message from field values into a caller's buffer.
//!
//! Values are what an application means, not wire bytes: text for ASCII fields, raw bytes
//! for binary fields, ASCII digits for BCD fields. The codec writes the MTI, both bitmaps
//! and every length prefix itself. Nothing is allocated; the value table borrows.

use super::error::{Error, ErrorKind};
use super::field_set::FieldSet;
use super::primitives::{
    check_mti, check_value, write_bitmap, write_mti, write_prefix, write_value,
};
use super::spec::{MtiEncoding, Spec};

/// The data fields of a message to encode, by field number.
#[derive(Debug, Clone)]
pub struct FieldValues<'v> {
    present: FieldSet,
    values: [&'v [u8]; 129],
}

impl Default for FieldValues<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'v> FieldValues<'v> {
    pub const fn new() -> Self {
        Self {
            present: FieldSet::EMPTY,
            values: [&[]; 129],
        }
    }

    /// Sets (or replaces) data field `n`, 2..=128 except 65.
    pub fn set(&mut self, n: u8, value: &'v [u8]) -> Result<(), Error> {
        if !is_data_field(n) {
            return Err(Error::new(ErrorKind::BadFieldNumber, n, 0));
        }
        self.present.insert(n);
        self.values[n as usize] = value;
        Ok(())
    }

    pub fn remove(&mut self, n: u8) {
        self.present.remove(n);
    }

    pub fn get(&self, n: u8) -> Option<&'v [u8]> {
        if self.present.contains(n) {
            Some(self.values[n as usize])
        } else {
            None
        }
    }

    /// The data fields set (never 1 or 65).
    pub const fn fields(&self) -> FieldSet {
        self.present
    }
}

/// True for the field numbers that carry data: 2..=128 except 65 (tertiary-bitmap bit).
pub const fn is_data_field(n: u8) -> bool {
    n >= 2 && n <= 128 && n != 65
}

/// Encodes a message with MTI `mti` (four ASCII digits) into `out`; returns its length.
///
/// Every value is checked before the first byte is written, so on error `out` is unchanged.
pub fn encode(
    spec: &Spec,
    mti: &[u8],
    values: &FieldValues<'_>,
    out: &mut [u8],
) -> Result<usize, Error> {
    let needed = encoded_len(spec, mti, values)?;
    if needed > out.len() {
        let kind = ErrorKind::BufferTooSmall {
            needed,
            capacity: out.len(),
        };
        return Err(Error::new(kind, 0, 0));
    }
    let mti: &[u8; 4] = mti
        .try_into()
        .map_err(|_| Error::new(ErrorKind::BadMti, 0, 0))?;
    write_mti(out, mti, spec.mti);
    let mut pos = spec.mti.wire_len();
    let set = values.present;
    write_bitmap(&mut out[pos..], set.primary_bitmap(), spec.bitmap);
    pos += spec.bitmap.wire_len();
    if set.has_secondary() {
        write_bitmap(&mut out[pos..], set.secondary_bitmap(), spec.bitmap);
        pos += spec.bitmap.wire_len();
    }
    for n in set {
        // encoded_len checked every field is defined and every value valid.
        let Some(field) = spec.field(n) else { continue };
        let value = values.values[n as usize];
        write_prefix(&mut out[pos..], value.len(), field);
        pos += field.prefix_len();
        write_value(&mut out[pos..], value, field);
        pos += field.wire_len(value.len());
    }
    debug_assert_eq!(pos, needed);
    Ok(pos)
}

/// Checks the MTI and every value against `spec` and returns the encoded length.
pub fn encoded_len(spec: &Spec, mti: &[u8], values: &FieldValues<'_>) -> Result<usize, Error> {
    if mti.len() != 4 {
        return Err(Error::new(ErrorKind::BadMti, 0, 0));
    }
    check_mti(mti, MtiEncoding::Ascii).map_err(|k| Error::new(k, 0, 0))?;
    let set = values.present;
    let mut len = spec.header_len();
    if set.has_secondary() {
        len += spec.bitmap.wire_len();
    }
    for n in set {
        let field = spec
            .field(n)
            .ok_or(Error::new(ErrorKind::UndefinedField, n, len))?;
        let value = values.values[n as usize];
        let units = check_value(value, field)
            .map_err(|(k, i)| Error::new(k, n, len + field.prefix_len() + i))?;
        len += field.prefix_len() + field.wire_len(units);
    }
    if len > u16::MAX as usize {
        return Err(Error::new(ErrorKind::MessageTooLong { len }, 0, 0));
    }
    Ok(len)
}
