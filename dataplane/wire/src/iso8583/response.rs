//! In-place message edits, and the response a switch builds from a request.
//!
//! The switch answers inside the packet buffer it received: the request's bytes become
//! the response's. [`apply_edits`] changes the MTI, sets or replaces fields and drops
//! fields. When no field appears or disappears and every replaced value keeps its wire
//! length (the usual case for 39 and 38, which are fixed) it only overwrites bytes in
//! place; otherwise it rebuilds the layout inside the same buffer by moving runs of kept
//! fields with `copy_within`: runs that move left go first in ascending order, runs that
//! move right go last in descending order, so no run overwrites bytes still to be moved.
//! Every value is checked before the first byte changes, so an error leaves the buffer as
//! it was.

use super::decode::FieldIndex;
use super::encode::is_data_field;
use super::error::{Error, ErrorKind};
use super::field_set::FieldSet;
use super::primitives::{
    check_mti, check_value, write_bitmap, write_mti, write_prefix, write_value,
};
use super::spec::{FieldSpec, MtiEncoding, Spec};

/// Most fields one [`Edits`] may set; a response sets two (39, 38).
pub const MAX_SETS: usize = 8;

/// Changes to make to a decoded message in place.
#[derive(Debug, Clone)]
pub struct Edits<'v> {
    mti: Option<[u8; 4]>,
    sets: [(u8, &'v [u8]); MAX_SETS],
    set_count: usize,
    drop: FieldSet,
}

impl Default for Edits<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'v> Edits<'v> {
    pub const fn new() -> Self {
        Self {
            mti: None,
            sets: [(0, &[]); MAX_SETS],
            set_count: 0,
            drop: FieldSet::EMPTY,
        }
    }

    /// Replaces the MTI (four ASCII digits; checked when the edits are applied).
    pub fn set_mti(&mut self, mti: [u8; 4]) -> &mut Self {
        self.mti = Some(mti);
        self
    }

    /// Sets or replaces data field `n` with `value` (text, raw bytes, or BCD digits).
    pub fn set(&mut self, n: u8, value: &'v [u8]) -> Result<&mut Self, Error> {
        if !is_data_field(n) {
            return Err(Error::new(ErrorKind::BadFieldNumber, n, 0));
        }
        self.drop.remove(n);
        if let Some(slot) = self.sets[..self.set_count]
            .iter_mut()
            .find(|(m, _)| *m == n)
        {
            slot.1 = value;
            return Ok(self);
        }
        let slot =
            self.sets
                .get_mut(self.set_count)
                .ok_or(Error::new(ErrorKind::TooManyEdits, n, 0))?;
        *slot = (n, value);
        self.set_count += 1;
        Ok(self)
    }

    /// Removes field `n` if the message carries it; cancels an earlier `set` of `n`.
    pub fn drop_field(&mut self, n: u8) -> &mut Self {
        self.drop_fields(FieldSet::of(&[n]))
    }

    /// Removes every field of `fields` the message carries and cancels earlier `set`s of
    /// them; a later `set` brings a field back.
    pub fn drop_fields(&mut self, fields: FieldSet) -> &mut Self {
        let mut dropped = fields;
        dropped.remove(1);
        dropped.remove(65);
        self.drop = self.drop.union(dropped);
        let mut i = 0;
        while i < self.set_count {
            if dropped.contains(self.sets[i].0) {
                self.sets[i] = self.sets[self.set_count - 1];
                self.set_count -= 1;
            } else {
                i += 1;
            }
        }
        self
    }

    fn value_of(&self, n: u8) -> Option<&'v [u8]> {
        self.sets[..self.set_count]
            .iter()
            .find(|(m, _)| *m == n)
            .map(|&(_, v)| v)
    }

    fn set_fields(&self) -> FieldSet {
        let mut set = FieldSet::EMPTY;
        for &(n, _) in &self.sets[..self.set_count] {
            set.insert(n);
        }
        set
    }
}

/// A byte run of kept fields that moves from `from` to `to` during a rebuild.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    from: u16,
    to: u16,
    len: u16,
}

/// Most runs a rebuild can have: one before each touched (set or dropped) field, plus the
/// tail. At most 126 data fields can be touched.
const MAX_RUNS: usize = 127;

/// Applies `edits` to the message `index` describes, which sits at the start of `buf`;
/// `buf.len()` is the capacity the message may grow to. Returns the new message length.
/// `index` must come from decoding these bytes with this `spec`; it describes the old
/// layout and is stale afterwards: decode again if needed.
///
/// Cost is proportional to the fields the edit touches, not to the fields the message
/// carries: kept fields between two touched ones move as one run.
pub fn apply_edits(
    buf: &mut [u8],
    index: &FieldIndex,
    spec: &Spec,
    edits: &Edits<'_>,
) -> Result<usize, Error> {
    let old_len = index.message_len();
    if old_len > buf.len() {
        let kind = ErrorKind::Truncated {
            needed: old_len,
            available: buf.len(),
        };
        return Err(Error::new(kind, 0, 0));
    }
    if let Some(mti) = &edits.mti {
        check_mti(mti, MtiEncoding::Ascii).map_err(|k| Error::new(k, 0, 0))?;
    }
    let mut old_fields = index.fields();
    old_fields.remove(1);
    let set_fields = edits.set_fields();
    let dropped = old_fields.intersection(edits.drop);
    let new_fields = old_fields.difference(dropped).union(set_fields);

    // Check every value and size the result before touching a byte.
    let bitmap_len = spec.bitmap.wire_len();
    let header_len = |fields: FieldSet| {
        spec.header_len()
            + if fields.has_secondary() {
                bitmap_len
            } else {
                0
            }
    };
    let (old_header, new_header) = (header_len(old_fields), header_len(new_fields));
    // An index from a failed decode is empty (length 0): nothing to edit.
    let body_len = old_len.checked_sub(old_header).ok_or(Error::new(
        ErrorKind::Truncated {
            needed: old_header,
            available: old_len,
        },
        0,
        0,
    ))?;
    let mut new_len = new_header + body_len;
    let mut same_layout = dropped.is_empty() && old_header == new_header;
    for &(n, value) in &edits.sets[..edits.set_count] {
        let field = spec
            .field(n)
            .ok_or(Error::new(ErrorKind::UndefinedField, n, 0))?;
        let units =
            check_value(value, field).map_err(|(k, i)| Error::new(k, n, field.prefix_len() + i))?;
        let new_seg = field.prefix_len() + field.wire_len(units);
        let old_seg = if old_fields.contains(n) {
            old_segment(index, spec, n).len as usize
        } else {
            0
        };
        same_layout &= old_seg == new_seg && old_fields.contains(n);
        new_len = new_len + new_seg - old_seg;
    }
    for n in dropped {
        new_len -= old_segment(index, spec, n).len as usize;
    }
    if new_len > buf.len() || new_len > u16::MAX as usize {
        let capacity = buf.len().min(u16::MAX as usize);
        return Err(Error::new(
            ErrorKind::BufferTooSmall {
                needed: new_len,
                capacity,
            },
            0,
            0,
        ));
    }

    if let Some(mti) = &edits.mti {
        write_mti(buf, mti, spec.mti);
    }
    if same_layout {
        // Fast path: same fields, same lengths; overwrite the replaced values where they are.
        for &(n, value) in &edits.sets[..edits.set_count] {
            if let Some(field) = spec.field(n) {
                let at = old_segment(index, spec, n).from as usize;
                write_field(buf, at, value, field);
            }
        }
        return Ok(old_len);
    }

    // Rebuild path: plan the runs of kept bytes between touched fields, move, then write.
    let mut runs = [Run::default(); MAX_RUNS];
    let mut run_count = 0;
    let mut writes = [(0u8, 0usize); MAX_SETS];
    let mut write_count = 0;
    let (mut cursor, mut to) = (old_header, new_header);
    for t in dropped.union(set_fields) {
        // Where t's bytes are, or where they would be inserted, in the old message.
        let (at, after) = if old_fields.contains(t) {
            let seg = old_segment(index, spec, t);
            (seg.from as usize, (seg.from + seg.len) as usize)
        } else {
            let at = old_fields
                .next_after(t)
                .map_or(old_len, |next| old_segment(index, spec, next).from as usize);
            (at, at)
        };
        if at > cursor {
            // Bounded by MAX_RUNS: one run per touched field. Offsets fit in u16 (checked above).
            runs[run_count] = Run {
                from: cursor as u16,
                to: to as u16,
                len: (at - cursor) as u16,
            };
            run_count += 1;
            to += at - cursor;
        }
        if let (Some(value), Some(field)) = (edits.value_of(t), spec.field(t)) {
            writes[write_count] = (t, to);
            write_count += 1;
            to += field.prefix_len() + field.wire_len(value.len());
        }
        cursor = after;
    }
    if old_len > cursor {
        runs[run_count] = Run {
            from: cursor as u16,
            to: to as u16,
            len: (old_len - cursor) as u16,
        };
        run_count += 1;
        to += old_len - cursor;
    }
    debug_assert_eq!(to, new_len);

    let runs = &runs[..run_count];
    let span = |r: &Run| r.from as usize..(r.from + r.len) as usize;
    for run in runs.iter().filter(|r| r.to < r.from) {
        buf.copy_within(span(run), run.to as usize);
    }
    for run in runs.iter().rev().filter(|r| r.to > r.from) {
        buf.copy_within(span(run), run.to as usize);
    }

    let mut at = spec.mti.wire_len();
    write_bitmap(&mut buf[at..], new_fields.primary_bitmap(), spec.bitmap);
    at += bitmap_len;
    if new_fields.has_secondary() {
        write_bitmap(&mut buf[at..], new_fields.secondary_bitmap(), spec.bitmap);
    }
    for &(n, at) in &writes[..write_count] {
        if let (Some(value), Some(field)) = (edits.value_of(n), spec.field(n)) {
            write_field(buf, at, value, field);
        }
    }
    Ok(new_len)
}

/// Writes prefix and value of an already-checked field at `at`.
fn write_field(buf: &mut [u8], at: usize, value: &[u8], field: &FieldSpec) {
    write_prefix(&mut buf[at..], value.len(), field);
    write_value(&mut buf[at + field.prefix_len()..], value, field);
}

/// Where field `n` (prefix included) lies in the old message; `n` must be present.
#[inline]
fn old_segment(index: &FieldIndex, spec: &Spec, n: u8) -> Run {
    let prefix = spec.field(n).map_or(0, |f| f.prefix_len()) as u16;
    let span = index.get(n).unwrap_or_default();
    let from = span.start.saturating_sub(prefix);
    Run {
        from,
        to: from,
        len: prefix + span.len,
    }
}

/// The response MTI of a request or advice: function digit 0 → 1 (request → response),
/// 2 → 3 (advice → advice response); a repeat origin (1, 3, 5) becomes the first
/// transmission's (0, 2, 4), so 0201 → 0210 and 0421 → 0430.
pub fn response_mti(mti: [u8; 4]) -> Result<[u8; 4], ErrorKind> {
    check_mti(&mti, MtiEncoding::Ascii)?;
    let function = match mti[2] {
        b'0' => b'1',
        b'2' => b'3',
        _ => return Err(ErrorKind::NotARequest),
    };
    let origin = match mti[3] {
        b'1' | b'3' | b'5' => mti[3] - 1,
        other => other,
    };
    Ok([mti[0], mti[1], function, origin])
}

/// Which request fields a switch-built response leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePolicy {
    drop: FieldSet,
}

impl ResponsePolicy {
    /// Left out by default, and why:
    /// - 35, 36, 45 track 2/3/1 data and 52 PIN block: card secrets; PCI DSS forbids
    ///   sending them back, and no response carries them.
    /// - 53 security control information: describes the dropped PIN block.
    /// - 55 ICC data: the request's is the card's cryptogram (ARQC); a response carries
    ///   the issuer's (ARPC) or none, so the request's must not be echoed.
    /// - 64, 128 MAC: computed over the request's bytes, so wrong for the response; the
    ///   MAC stage adds a fresh one after the response is built.
    pub const DEFAULT_DROPPED: [u8; 8] = [35, 36, 45, 52, 53, 55, 64, 128];

    pub fn new(dropped: FieldSet) -> Self {
        Self { drop: dropped }
    }

    pub const fn dropped(&self) -> FieldSet {
        self.drop
    }
}

impl Default for ResponsePolicy {
    fn default() -> Self {
        Self::new(FieldSet::of(&Self::DEFAULT_DROPPED))
    }
}

/// Turns the decoded request at the start of `buf` into its response, in place: response
/// MTI, field 39 set to `response_code`, field 38 set to `auth_id` when given, and the
/// policy's fields removed. `buf.len()` is the capacity. Returns the response length.
pub fn build_response(
    buf: &mut [u8],
    index: &FieldIndex,
    spec: &Spec,
    response_code: &[u8; 2],
    auth_id: Option<&[u8]>,
    policy: &ResponsePolicy,
) -> Result<usize, Error> {
    let mti_span = index.mti();
    let wire = buf
        .get(mti_span.range())
        .ok_or(Error::new(ErrorKind::BadMti, 0, 0))?;
    let mti = match (spec.mti, wire) {
        (MtiEncoding::Ascii, &[a, b, c, d]) => [a, b, c, d],
        (MtiEncoding::Bcd, &[x, y]) => [
            b'0' + (x >> 4),
            b'0' + (x & 0xF),
            b'0' + (y >> 4),
            b'0' + (y & 0xF),
        ],
        _ => return Err(Error::new(ErrorKind::BadMti, 0, 0)),
    };
    let response = response_mti(mti).map_err(|k| Error::new(k, 0, 0))?;
    let mut edits = Edits::new();
    edits.drop_fields(policy.drop);
    edits.set_mti(response);
    edits.set(39, response_code)?;
    if let Some(auth_id) = auth_id {
        edits.set(38, auth_id)?;
    }
    apply_edits(buf, index, spec, &edits)
}
