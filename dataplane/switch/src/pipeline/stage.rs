//! A burst decoded ahead of processing.
//!
//! Why: every request probes two million-entry hash tables (the duplicate
//! filter and the pending table) at positions its keys pick at random,
//! evicts the oldest key of the filter at another, and reads the BIN
//! table's first level at its card's BIN: DRAM misses of ~100 ns each,
//! taken one after another when messages are handled one at a time.
//! The lcore therefore decodes the whole rx burst first; as soon as a
//! message's keys are known their table lines are asked for, so the misses
//! of a burst overlap with the decoding of the rest of it. The decoded
//! index is kept here and handed to the message's handler, so nothing is
//! decoded twice, and the headers parsed for it are the ones classified.
//!
//! Only the common case is staged: a single-frame datagram to one of this
//! lcore's ports that decodes cleanly. Everything else (ARP, several frames,
//! a malformed message) is handled exactly as before, unstaged.

use rte::BURST_SIZE;
use wire::frame::HEADER_LEN as FRAME_HEADER_LEN;
use wire::iso8583::FieldIndex;
use wire::net::headers::Headers;

/// Where a message sits in its mbuf's data: `start..end`.
pub(super) type MessageSpan = (usize, usize);

/// The span of the one message in a single-frame datagram.
#[inline]
pub(super) fn only_message(h: &Headers) -> MessageSpan {
    (h.payload + FRAME_HEADER_LEN, h.end)
}

pub(super) struct Stage {
    /// Decoded index of burst position `i`, valid while `headers[i]` is set.
    indexes: Box<[FieldIndex; BURST_SIZE]>,
    /// The headers of burst position `i` (checksums verified), and so the
    /// span of its message ([`only_message`]).
    headers: [Option<Headers>; BURST_SIZE],
    /// The burst position whose mbuf is being processed, until its handler
    /// takes the index.
    current: Option<usize>,
}

impl Stage {
    pub(super) fn new() -> Self {
        Stage {
            indexes: Box::new([FieldIndex::EMPTY; BURST_SIZE]),
            headers: [None; BURST_SIZE],
            current: None,
        }
    }

    /// The index of burst position `i` to decode into; unset until
    /// [`Stage::keep`].
    #[inline]
    pub(super) fn slot(&mut self, i: usize) -> &mut FieldIndex {
        self.headers[i] = None;
        &mut self.indexes[i]
    }

    /// Position `i` now holds the index of the only message of the datagram
    /// with headers `h`.
    #[inline]
    pub(super) fn keep(&mut self, i: usize, h: Headers) {
        self.headers[i] = Some(h);
    }

    /// The mbuf at burst position `i` is being processed (`None`: an mbuf
    /// that was not staged, e.g. one handed over by another lcore).
    #[inline]
    pub(super) fn begin(&mut self, i: Option<usize>) {
        self.current = i;
    }

    /// The headers of the mbuf being processed, if it was staged.
    #[inline]
    pub(super) fn headers(&self) -> Option<Headers> {
        self.headers[self.current?]
    }

    /// The staged index of the message at `span` in the mbuf being
    /// processed, at most once: a second message handled for the same mbuf
    /// (or one at another span) is decoded by its handler.
    #[inline]
    pub(super) fn take(&mut self, span: MessageSpan) -> Option<&mut FieldIndex> {
        let i = self.current.take()?;
        let staged = self.headers[i].as_ref().map(only_message);
        (staged == Some(span)).then(|| &mut self.indexes[i])
    }
}
