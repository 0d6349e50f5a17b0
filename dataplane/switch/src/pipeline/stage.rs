//! A burst decoded ahead of processing.
//!
//! Why: every request probes two million-entry hash tables (the duplicate
//! filter and the pending table) at positions its keys pick at random, and
//! evicts the oldest key of the filter at another: DRAM misses of ~100 ns
//! each, taken one after another when messages are handled one at a time.
//! The lcore therefore decodes the whole rx burst first; as soon as a
//! message's keys are known their table lines are asked for, so the misses
//! of a burst overlap with the decoding of the rest of it. The decoded
//! index is kept here and handed to the message's handler, so nothing is
//! decoded twice.
//!
//! Only the common case is staged: a single-frame datagram to one of this
//! lcore's ports that decodes cleanly. Everything else (ARP, several frames,
//! a malformed message) is handled exactly as before, unstaged.

use rte::BURST_SIZE;
use wire::iso8583::FieldIndex;

/// Where a message sits in its mbuf's data: `start..end`.
pub(super) type MessageSpan = (usize, usize);

pub(super) struct Stage {
    /// Decoded index of burst position `i`, valid while `spans[i]` is set.
    indexes: Box<[FieldIndex; BURST_SIZE]>,
    spans: [Option<MessageSpan>; BURST_SIZE],
    /// The burst position whose mbuf is being processed, until its handler
    /// takes the index.
    current: Option<usize>,
}

impl Stage {
    pub(super) fn new() -> Self {
        Stage {
            indexes: Box::new([FieldIndex::EMPTY; BURST_SIZE]),
            spans: [None; BURST_SIZE],
            current: None,
        }
    }

    /// The index of burst position `i` to decode into; unset until
    /// [`Stage::keep`].
    #[inline]
    pub(super) fn slot(&mut self, i: usize) -> &mut FieldIndex {
        self.spans[i] = None;
        &mut self.indexes[i]
    }

    /// Position `i` now holds the index of the message at `span`.
    #[inline]
    pub(super) fn keep(&mut self, i: usize, span: MessageSpan) {
        self.spans[i] = Some(span);
    }

    /// The mbuf at burst position `i` is being processed (`None`: an mbuf
    /// that was not staged, e.g. one handed over by another lcore).
    #[inline]
    pub(super) fn begin(&mut self, i: Option<usize>) {
        self.current = i;
    }

    /// The staged index of the message at `span` in the mbuf being
    /// processed, at most once: a second message handled for the same mbuf
    /// (or one at another span) is decoded by its handler.
    #[inline]
    pub(super) fn take(&mut self, span: MessageSpan) -> Option<&mut FieldIndex> {
        let i = self.current.take()?;
        (self.spans[i] == Some(span)).then(|| &mut self.indexes[i])
    }
}
