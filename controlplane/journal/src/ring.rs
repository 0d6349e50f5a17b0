//! A bounded single-producer single-consumer ring of fixed-size record slots.
//!
//! One ring per lcore feeds the writer thread. Slots are arrays of `AtomicU64`
//! words so the ring needs no raw-pointer code: the producer fills a slot's words with
//! relaxed stores and publishes it by a release store of `tail`; the consumer
//! reads `tail` with acquire, reads the words relaxed, and frees the slots by
//! a release store of `head`. On x86 a relaxed atomic store is a plain `mov`,
//! so this costs what a `memcpy` of the used words costs — only the words the
//! payload needs are copied, not the whole slot.
//!
//! Slots are whole 64-byte cache lines. Slot layout, in 64-bit words:
//! ```text
//! word 0  kind (bits 0..16) | payload length (bits 16..48)
//! word 1  clearing epoch (bits 0..32)
//! word 2… payload bytes, little-endian packed, last word zero-padded
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

const META_WORDS: usize = 2;
const LINE_WORDS: usize = 8;

/// One cache line of slot words. Slots are whole lines, so the producer
/// filling slot k+1 never writes a line the consumer is reading in slot k.
#[repr(align(64))]
struct Line([AtomicU64; LINE_WORDS]);

impl Line {
    fn word(lines: &[Line], w: usize) -> &AtomicU64 {
        &lines[w / LINE_WORDS].0[w % LINE_WORDS]
    }
}

/// Keeps the producer's and the consumer's hot counters on separate cache
/// lines so one core's stores do not invalidate the other's reads.
#[repr(align(64))]
#[derive(Default)]
pub(crate) struct Padded(pub(crate) AtomicU64);

/// The ring itself. Indices grow without wrapping (a `u64` does not overflow
/// at any realistic rate); a slot is `index % capacity`.
pub(crate) struct Ring {
    lines: Box<[Line]>,
    /// Lines per slot.
    slot_lines: usize,
    capacity: u64,
    /// Next slot the consumer will read; written only by the writer thread.
    head: Padded,
    /// Next slot the producer will fill; written only by the producer.
    tail: Padded,
    /// Count of this producer's records known durable (fsynced), published
    /// by the writer after each group commit; a record's sequence number is
    /// its 1-based position in the ring, so `seq <= durable` means durable.
    pub(crate) durable: Padded,
}

/// One record as read out of a slot by the consumer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotMeta {
    pub(crate) kind: u16,
    pub(crate) epoch: u32,
    pub(crate) len: usize,
}

impl Ring {
    /// Allocates the ring up front: `capacity` slots of `max_payload` bytes.
    pub(crate) fn new(capacity: usize, max_payload: usize) -> Ring {
        assert!(capacity > 0, "ring capacity must be positive");
        let slot_lines = (META_WORDS + max_payload.div_ceil(8)).div_ceil(LINE_WORDS);
        let lines = (0..capacity * slot_lines)
            .map(|_| Line(Default::default()))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Ring {
            lines,
            slot_lines,
            capacity: capacity as u64,
            head: Padded::default(),
            tail: Padded::default(),
            durable: Padded::default(),
        }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Producer side: copies one record into the slot at `tail` and
    /// publishes it. `cached_head` is the producer's last view of `head`,
    /// refreshed only when the ring looks full (saves a cache-line transfer
    /// per push). Returns false, touching nothing, when the ring is full.
    pub(crate) fn try_push(
        &self,
        tail: u64,
        cached_head: &mut u64,
        kind: u16,
        epoch: u32,
        payload: &[u8],
    ) -> bool {
        debug_assert!(META_WORDS + payload.len().div_ceil(8) <= self.slot_lines * LINE_WORDS);
        if tail - *cached_head >= self.capacity {
            *cached_head = self.head.0.load(Ordering::Acquire);
            if tail - *cached_head >= self.capacity {
                return false;
            }
        }
        let base = (tail % self.capacity) as usize * self.slot_lines;
        let slot = &self.lines[base..base + self.slot_lines];
        Line::word(slot, 0).store(
            u64::from(kind) | ((payload.len() as u64) << 16),
            Ordering::Relaxed,
        );
        Line::word(slot, 1).store(u64::from(epoch), Ordering::Relaxed);
        let mut chunks = payload.chunks_exact(8);
        let mut w = META_WORDS;
        for chunk in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            Line::word(slot, w).store(u64::from_le_bytes(b), Ordering::Relaxed);
            w += 1;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            Line::word(slot, w).store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        self.tail.0.store(tail + 1, Ordering::Release);
        true
    }

    /// Consumer side: the range of filled slots `[head, tail)`.
    pub(crate) fn readable(&self) -> (u64, u64) {
        let head = self.head.0.load(Ordering::Relaxed);
        let tail = self.tail.0.load(Ordering::Acquire);
        (head, tail)
    }

    /// Consumer side: copies the record in slot `index` (which must be in
    /// the readable range) into `out` and returns its metadata.
    pub(crate) fn read(&self, index: u64, out: &mut [u8]) -> SlotMeta {
        let base = (index % self.capacity) as usize * self.slot_lines;
        let slot = &self.lines[base..base + self.slot_lines];
        let w0 = Line::word(slot, 0).load(Ordering::Relaxed);
        let kind = (w0 & 0xFFFF) as u16;
        let len = ((w0 >> 16) & 0xFFFF_FFFF) as usize;
        let epoch = Line::word(slot, 1).load(Ordering::Relaxed) as u32;
        debug_assert!(len <= out.len());
        for (i, chunk) in out[..len].chunks_mut(8).enumerate() {
            let b = Line::word(slot, META_WORDS + i)
                .load(Ordering::Relaxed)
                .to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        SlotMeta { kind, epoch, len }
    }

    /// Consumer side: frees every slot before `new_head`.
    pub(crate) fn release_to(&self, new_head: u64) {
        self.head.0.store(new_head, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_out_in_order_with_their_bytes_and_a_full_ring_refuses() {
        let ring = Ring::new(3, 20);
        let mut head_cache = 0;
        for (i, p) in [&b"a"[..], b"0123456789abcdef", b"xyz0123456789"]
            .iter()
            .enumerate()
        {
            assert!(ring.try_push(i as u64, &mut head_cache, i as u16, 7, p));
        }
        assert!(!ring.try_push(3, &mut head_cache, 9, 7, b"full"));
        let (head, tail) = ring.readable();
        assert_eq!((head, tail), (0, 3));
        let mut out = [0u8; 20];
        let m = ring.read(1, &mut out);
        assert_eq!(
            (m.kind, m.epoch, &out[..m.len]),
            (1, 7, &b"0123456789abcdef"[..])
        );
        ring.release_to(1);
        assert!(ring.try_push(3, &mut head_cache, 3, 8, b"wraps"));
        let m = ring.read(3, &mut out);
        assert_eq!((m.kind, m.epoch, &out[..m.len]), (3, 8, &b"wraps"[..]));
    }
}
