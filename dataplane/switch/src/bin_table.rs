//! `BinTable`: longest-prefix routing on the card number (PAN, field 2).
//!
//! # Design (why not one hash per prefix length)
//! A hash per prefix length probed longest first costs one dependent cache
//! miss per length present, and with lengths 2–19 in use a miss (no route)
//! walks all eighteen: far over the 100 ns budget once the table (1 M
//! prefixes) is out of cache. Instead:
//!
//! * The 19-digit key space is cut into 10⁶ buckets by the first 6 digits
//!   (the classic BIN). `first[bucket]` is one `u32`: either the final answer
//!   (no prefix longer than 6 digits starts in this bucket — the common case,
//!   one memory access), or a range into `tails`.
//! * Every prefix is an interval of 19-digit numbers, and prefix intervals
//!   nest (they never partly overlap). At build time the nested intervals are
//!   flattened into disjoint segments, each carrying its innermost (longest)
//!   prefix. Within a bucket the segments are sorted by their start, so the
//!   longest match is a binary search over a few consecutive 8-byte entries
//!   (start, length and target packed; usually one cache line).
//! * A PAN shorter than the matched prefix cannot match it (a 17-digit prefix
//!   never matches a 16-digit PAN): the lookup then climbs the prefix's
//!   `parent` links to the longest enclosing prefix that fits, at most 17
//!   steps and only when such long prefixes exist.
//!
//! Lookup is therefore two dependent memory accesses in the common case and a
//! bounded binary search otherwise, independent of how many lengths are used.
//! The table is immutable once built: the control plane builds a new one and
//! publishes it with the route snapshot (see `routes`). Memory: 8 MB for the
//! first level (small enough to stay in a 32 MB L3 under load), plus 12 bytes
//! per tail segment and 12 bytes per prefix. The packing limits BIN targets
//! to participant indices up to [`MAX_TARGET`] (32,766).

use crate::ParticipantIdx;
use thiserror::Error;

/// Shortest prefix accepted (a 2-digit scheme range such as "51").
pub const MIN_PREFIX_LEN: usize = 2;
/// Longest prefix accepted (a full 19-digit PAN).
pub const MAX_PREFIX_LEN: usize = 19;
/// Shortest PAN looked up (ISO/IEC 7812 allows 8, but card PANs in the
/// network are 12–19 digits; shorter ones are a format error upstream).
pub const MIN_PAN_LEN: usize = 12;
/// Longest PAN looked up.
pub const MAX_PAN_LEN: usize = 19;
/// Upper bound on prefixes, so every index fits in 32 bits with room to spare.
pub const MAX_PREFIXES: usize = 1 << 26;

const HEAD_DIGITS: usize = 6;
const BUCKETS: usize = 1_000_000;
const TAIL_SPAN: u64 = 10_000_000_000_000; // 10^13
/// Node index meaning "no prefix".
const NONE: u32 = u32::MAX;
/// Largest participant index a BIN prefix may route to: targets are packed
/// into 15 bits of a tail entry, the all-ones value meaning "no route".
pub const MAX_TARGET: u32 = (1 << 15) - 2;
const NO_TARGET: u32 = (1 << 15) - 1;
/// First-level flag: the entry is the answer, not a range into `tails`.
const DIRECT: u32 = 1 << 31;
// A tail entry is one u64: start within the bucket (13 digits < 2^44),
// innermost prefix length (5 bits), target (15 bits).
const TAIL_START_BITS: u32 = 44;
const TAIL_START_MASK: u64 = (1 << TAIL_START_BITS) - 1;
const TAIL_LEN_SHIFT: u32 = TAIL_START_BITS;
const TAIL_TARGET_SHIFT: u32 = TAIL_START_BITS + 5;

/// Why a prefix was refused while building a table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BinTableError {
    #[error("BIN prefix row {row}: byte {byte:#04x} at offset {offset} is not an ASCII digit; prefixes are 2-19 digits 0-9")]
    NonDigit { row: usize, offset: usize, byte: u8 },
    #[error(
        "BIN prefix row {row}: {len} digits is outside 2..=19; shorten or lengthen the prefix"
    )]
    Length { row: usize, len: usize },
    #[error("BIN prefix row {row}: participant index {target} is above {max}, the most a BIN table can route to", max = MAX_TARGET)]
    TargetTooLarge { row: usize, target: u32 },
    #[error("BIN prefix {prefix} is listed twice, routed to participant {first} and to {second}; keep one row")]
    Conflict {
        prefix: String,
        first: u32,
        second: u32,
    },
    #[error("BIN table holds at most {max} prefixes; split the import or raise MAX_PREFIXES", max = MAX_PREFIXES)]
    TooMany,
}

/// Why a PAN could not be looked up. The switch answers such a request with
/// a format error (39=30); it is not "no route".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PanError {
    #[error("PAN has {len} digits; field 2 must hold 12-19 digits")]
    Length { len: usize },
    #[error("PAN byte at offset {offset} is not an ASCII digit")]
    NonDigit { offset: usize },
}

#[derive(Clone, Copy, Debug)]
struct Row {
    /// First 19-digit number covered by the prefix.
    lo: u64,
    len: u8,
    target: u32,
}

impl Row {
    /// One past the last 19-digit number covered (may equal 10^19).
    fn hi(&self) -> u64 {
        self.lo + pow10(MAX_PREFIX_LEN - usize::from(self.len))
    }
}

fn pow10(exp: usize) -> u64 {
    debug_assert!(exp <= 19);
    10u64.pow(exp as u32)
}

/// Collects prefixes, validates each, and builds an immutable [`BinTable`].
#[derive(Debug, Default)]
pub struct BinTableBuilder {
    rows: Vec<Row>,
}

impl BinTableBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` prefixes without reallocating while inserting.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            rows: Vec::with_capacity(n),
        }
    }

    /// Number of prefixes accepted so far (duplicates included).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds `prefix` (ASCII digits) routed to `target`. The same prefix may
    /// be given twice with the same target; with different targets
    /// [`BinTableBuilder::build`] refuses the table.
    pub fn insert(&mut self, prefix: &[u8], target: ParticipantIdx) -> Result<(), BinTableError> {
        let row = self.rows.len();
        if row >= MAX_PREFIXES {
            return Err(BinTableError::TooMany);
        }
        if !(MIN_PREFIX_LEN..=MAX_PREFIX_LEN).contains(&prefix.len()) {
            return Err(BinTableError::Length {
                row,
                len: prefix.len(),
            });
        }
        if target.0 > MAX_TARGET {
            return Err(BinTableError::TargetTooLarge {
                row,
                target: target.0,
            });
        }
        let mut value = 0u64;
        for (offset, &byte) in prefix.iter().enumerate() {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                return Err(BinTableError::NonDigit { row, offset, byte });
            }
            value = value * 10 + u64::from(digit);
        }
        self.rows.push(Row {
            lo: value * pow10(MAX_PREFIX_LEN - prefix.len()),
            len: prefix.len() as u8,
            target: target.0,
        });
        Ok(())
    }

    /// Builds the table: O(n log n) sort plus one pass over the 10⁶ buckets.
    pub fn build(mut self) -> Result<BinTable, BinTableError> {
        // Enclosing prefixes sort before the prefixes they contain: same
        // start, shorter first.
        self.rows.sort_unstable_by_key(|r| (r.lo, r.len));
        let rows = dedup_rows(self.rows)?;
        let (nodes, segments) = flatten(&rows);
        let (first, tails, tail_nodes) = split_into_buckets(&nodes, &segments);
        let max_prefix_len = rows.iter().map(|r| r.len).max().unwrap_or(0);
        Ok(BinTable {
            first,
            tails,
            tail_nodes,
            nodes,
            max_prefix_len,
        })
    }
}

/// Drops repeated identical rows; refuses a prefix given two targets.
fn dedup_rows(rows: Vec<Row>) -> Result<Vec<Row>, BinTableError> {
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    for row in rows {
        match out.last() {
            Some(prev) if prev.lo == row.lo && prev.len == row.len => {
                if prev.target != row.target {
                    let digits = format!("{:019}", row.lo);
                    return Err(BinTableError::Conflict {
                        prefix: digits[..usize::from(row.len)].to_string(),
                        first: prev.target,
                        second: row.target,
                    });
                }
            }
            _ => out.push(row),
        }
    }
    Ok(out)
}

/// One prefix, kept for the parent climb of PANs shorter than their match.
#[derive(Clone, Copy, Debug)]
struct Node {
    target: u32,
    parent: u32,
    len: u8,
}

/// Turns sorted, nested prefix intervals into disjoint segments
/// `(start, innermost node)`, ordered by start, covering 0..10^19.
fn flatten(rows: &[Row]) -> (Vec<Node>, Vec<(u64, u32)>) {
    let mut nodes = Vec::with_capacity(rows.len());
    let mut segments: Vec<(u64, u32)> = Vec::with_capacity(2 * rows.len() + 1);
    segments.push((0, NONE));
    // Open intervals, outermost first. Nested prefixes have strictly
    // increasing lengths within 2..=19, so the depth is at most 18.
    let mut open: Vec<(u32, u64)> = Vec::with_capacity(MAX_PREFIX_LEN);
    for (i, row) in rows.iter().enumerate() {
        close_until(&mut open, &mut segments, row.lo);
        let parent = open.last().map_or(NONE, |&(n, _)| n);
        nodes.push(Node {
            target: row.target,
            parent,
            len: row.len,
        });
        open.push((i as u32, row.hi()));
        debug_assert!(open.len() <= MAX_PREFIX_LEN - MIN_PREFIX_LEN + 1);
        emit(&mut segments, row.lo, i as u32);
    }
    close_until(&mut open, &mut segments, u64::MAX);
    debug_assert!(segments.windows(2).all(|w| w[0].0 < w[1].0));
    (nodes, segments)
}

fn close_until(open: &mut Vec<(u32, u64)>, segments: &mut Vec<(u64, u32)>, pos: u64) {
    while let Some(&(_, hi)) = open.last() {
        if hi > pos {
            break;
        }
        open.pop();
        let covering = open.last().map_or(NONE, |&(n, _)| n);
        emit(segments, hi, covering);
    }
}

/// Appends a segment; a later segment at the same start replaces the earlier
/// one, and a segment equal to its predecessor is merged into it.
fn emit(segments: &mut Vec<(u64, u32)>, start: u64, node: u32) {
    let last = segments.len() - 1;
    if segments[last].0 == start {
        segments[last].1 = node;
        if last > 0 && segments[last - 1].1 == node {
            segments.pop();
        }
    } else if segments[last].1 != node {
        debug_assert!(segments[last].0 < start);
        segments.push((start, node));
    }
}

/// A segment inside one bucket, packed into one `u64`: its start within the
/// bucket (the 13 digits after the first 6), the innermost prefix's length
/// and target. 8 bytes, so a bucket's segments usually share a cache line.
#[inline(always)]
fn tail_start(t: u64) -> u64 {
    t & TAIL_START_MASK
}
#[inline(always)]
fn tail_len(t: u64) -> usize {
    ((t >> TAIL_LEN_SHIFT) & 0x1f) as usize
}
#[inline(always)]
fn tail_target(t: u64) -> u32 {
    (t >> TAIL_TARGET_SHIFT) as u32
}

/// The first level (one `u32` per bucket), the tails (a count header then
/// the segments, per bucket with long prefixes) and, beside each tail, the
/// node of its innermost prefix for the parent climb.
fn split_into_buckets(nodes: &[Node], segments: &[(u64, u32)]) -> (Vec<u32>, Vec<u64>, Vec<u32>) {
    let target_of = |n: u32| {
        if n == NONE {
            NO_TARGET
        } else {
            nodes[n as usize].target
        }
    };
    let len_of = |n: u32| if n == NONE { 0 } else { nodes[n as usize].len };
    let mut first = vec![0u32; BUCKETS];
    let mut tails = Vec::with_capacity(2 * segments.len());
    let mut tail_nodes = Vec::with_capacity(2 * segments.len());
    let mut s = 0usize; // segment covering the current bucket's start
    for (bucket, entry) in first.iter_mut().enumerate() {
        let lo = bucket as u64 * TAIL_SPAN;
        let hi = lo + TAIL_SPAN;
        while s + 1 < segments.len() && segments[s + 1].0 <= lo {
            s += 1;
        }
        let mut end = s + 1;
        while end < segments.len() && segments[end].0 < hi {
            end += 1;
        }
        if end == s + 1 {
            // One prefix (of at most 6 digits) or none covers the bucket.
            debug_assert!(len_of(segments[s].1) as usize <= HEAD_DIGITS);
            *entry = DIRECT | target_of(segments[s].1);
        } else {
            let start = tails.len();
            assert!(start < DIRECT as usize, "BIN tails exceed 2^31 entries");
            *entry = start as u32;
            tails.push((end - s) as u64); // header: segment count
            tail_nodes.push(NONE);
            for (k, &(seg_start, node)) in segments[s..end].iter().enumerate() {
                let offset = if k == 0 { 0 } else { seg_start - lo };
                debug_assert!(offset < TAIL_SPAN);
                tails.push(
                    offset
                        | (u64::from(len_of(node)) << TAIL_LEN_SHIFT)
                        | (u64::from(target_of(node)) << TAIL_TARGET_SHIFT),
                );
                tail_nodes.push(node);
            }
            s = end - 1;
        }
    }
    tails.shrink_to_fit();
    tail_nodes.shrink_to_fit();
    (first, tails, tail_nodes)
}

/// Immutable longest-prefix map from PAN to issuer participant.
#[derive(Debug)]
pub struct BinTable {
    first: Vec<u32>,
    tails: Vec<u64>,
    tail_nodes: Vec<u32>,
    nodes: Vec<Node>,
    max_prefix_len: u8,
}

/// A PAN split into its bucket and the following 13 digits (zero padded).
#[derive(Clone, Copy, Debug, Default)]
struct PanKey {
    head: u32,
    tail: u64,
    len: u8,
}

/// Parses 8 ASCII digits (little-endian word) into their value, branch-free
/// (the SWAR method: pairs, then quads, then the 8-digit number).
#[inline(always)]
fn parse8(chunk: u64) -> u64 {
    let v = chunk.wrapping_sub(0x3030_3030_3030_3030);
    let v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff
}

/// True when all 8 bytes are ASCII '0'..='9'.
#[inline(always)]
fn all_digits(chunk: u64) -> bool {
    // Below '0': the subtraction borrows into the top bit of some byte;
    // above '9': adding 0x46 (0x7f - 0x39) sets it.
    let below = chunk.wrapping_sub(0x3030_3030_3030_3030);
    let above = chunk.wrapping_add(0x4646_4646_4646_4646);
    (below | above | chunk) & 0x8080_8080_8080_8080 == 0
}

#[inline(always)]
fn parse_pan(pan: &[u8]) -> Result<PanKey, PanError> {
    let len = pan.len();
    if !(MIN_PAN_LEN..=MAX_PAN_LEN).contains(&len) {
        return Err(PanError::Length { len });
    }
    // Right-pad with '0' to 24 bytes: the padded 19-digit number is the
    // PAN's position in the prefix key space.
    let mut buf = [b'0'; 24];
    buf[..len].copy_from_slice(pan);
    let word = |i: usize| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let (w0, w1, w2) = (word(0), word(1), word(2));
    if !(all_digits(w0) && all_digits(w1) && all_digits(w2)) {
        let offset = pan.iter().position(|b| !b.is_ascii_digit()).unwrap_or(0);
        return Err(PanError::NonDigit { offset });
    }
    let (d0, d1, d2) = (parse8(w0), parse8(w1), parse8(w2));
    // d0 = digits 1-8, d1 = 9-16, d2 = 17-24 (17-19 plus five padding zeros).
    Ok(PanKey {
        head: (d0 / 100) as u32,
        tail: (d0 % 100) * 100_000_000_000 + d1 * 1_000 + d2 / 100_000,
        len: len as u8,
    })
}

/// Lookups resolved per call of [`BinTable::lookup_burst`]'s inner stage:
/// the burst size of the lcore loop.
pub const BURST: usize = 32;

impl BinTable {
    /// The issuer for the longest prefix of `pan`, `None` if no prefix matches.
    #[inline]
    pub fn lookup(&self, pan: &[u8]) -> Result<Option<ParticipantIdx>, PanError> {
        let key = parse_pan(pan)?;
        let entry = self.first[key.head as usize];
        Ok(self.resolve(entry, key))
    }

    /// Asks for the first-level entry `pan` will read, ahead of its
    /// [`BinTable::lookup`]: the lcore calls it for every request of a burst
    /// before handling any, so the burst's first-level misses overlap (the
    /// tail range, when there is one, depends on that entry and is read
    /// cold). A PAN that does not parse is ignored. Changes nothing.
    #[inline]
    pub fn warm(&self, pan: &[u8]) {
        if let Ok(key) = parse_pan(pan) {
            rte::prefetch0(&self.first[key.head as usize]);
        }
    }

    /// Looks up many PANs; `out[i]` receives the answer for `pans[i]`.
    /// Extra `out` slots are left untouched; extra `pans` are ignored.
    ///
    /// Why: a table of 1 M prefixes lives in DRAM, and one cold access costs
    /// more than the 100 ns budget on its own. Working in stages over a burst
    /// (parse all, load all first-level entries, touch all tail ranges, then
    /// resolve) issues the cache misses of 32 lookups side by side instead of
    /// one after another.
    pub fn lookup_burst(
        &self,
        pans: &[&[u8]],
        out: &mut [Result<Option<ParticipantIdx>, PanError>],
    ) {
        let n = pans.len().min(out.len());
        for start in (0..n).step_by(BURST) {
            let m = (n - start).min(BURST);
            let (pans, out) = (&pans[start..start + m], &mut out[start..start + m]);
            let mut keys = [PanKey::default(); BURST];
            for i in 0..m {
                match parse_pan(pans[i]) {
                    Ok(key) => keys[i] = key,
                    Err(e) => out[i] = Err(e),
                }
            }
            let mut entries = [DIRECT | NO_TARGET; BURST];
            for i in 0..m {
                if keys[i].len != 0 {
                    entries[i] = self.first[keys[i].head as usize];
                }
            }
            let mut touch = 0u64;
            for &entry in &entries[..m] {
                if entry & DIRECT == 0 {
                    touch ^= self.tails[entry as usize + 1];
                }
            }
            std::hint::black_box(touch);
            for i in 0..m {
                if keys[i].len != 0 {
                    out[i] = Ok(self.resolve(entries[i], keys[i]));
                }
            }
        }
    }

    #[inline(always)]
    fn resolve(&self, entry: u32, key: PanKey) -> Option<ParticipantIdx> {
        if entry & DIRECT != 0 {
            return target(entry & !DIRECT);
        }
        let start = entry as usize + 1;
        let count = self.tails[entry as usize] as usize;
        let segs = &self.tails[start..start + count];
        debug_assert!(count >= 2 && tail_start(segs[0]) == 0);
        // segs[0] starts at 0, so at least one segment starts at or before
        // the key and the index below is never negative.
        let i = segs.partition_point(|&t| tail_start(t) <= key.tail) - 1;
        let seg = segs[i];
        if tail_len(seg) <= usize::from(key.len) {
            return target(tail_target(seg));
        }
        Some(ParticipantIdx(
            self.climb(self.tail_nodes[start + i], key.len)?,
        ))
    }

    /// The target of the longest ancestor of `node` no longer than `len`.
    /// Bounded: each step is a strictly shorter prefix, at most 18 steps.
    fn climb(&self, node: u32, len: u8) -> Option<u32> {
        let mut n = node;
        for _ in 0..=MAX_PREFIX_LEN {
            if n == NONE {
                return None;
            }
            let node = self.nodes[n as usize];
            if node.len <= len {
                return Some(node.target);
            }
            n = node.parent;
        }
        debug_assert!(false, "prefix parent chain longer than 19");
        None
    }

    /// Number of distinct prefixes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Longest prefix in the table (0 when empty).
    pub fn max_prefix_len(&self) -> usize {
        usize::from(self.max_prefix_len)
    }

    /// The target of every prefix (one per prefix, unordered, repeats
    /// included); for checks when a snapshot is assembled, not for the lcore.
    pub fn targets(&self) -> impl Iterator<Item = ParticipantIdx> + '_ {
        self.nodes.iter().map(|n| ParticipantIdx(n.target))
    }

    /// Bytes held by the table's arrays.
    pub fn memory_bytes(&self) -> usize {
        self.first.len() * std::mem::size_of::<u32>()
            + self.tails.len() * std::mem::size_of::<u64>()
            + self.tail_nodes.len() * std::mem::size_of::<u32>()
            + self.nodes.len() * std::mem::size_of::<Node>()
    }
}

#[inline(always)]
fn target(raw: u32) -> Option<ParticipantIdx> {
    (raw != NO_TARGET).then_some(ParticipantIdx(raw))
}
