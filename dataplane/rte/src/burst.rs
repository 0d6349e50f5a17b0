//! A fixed array of up to 32 owned mbufs: the unit of every rx/tx call.

use std::ptr::NonNull;

use crate::mbuf::Mbuf;

/// Packets per burst, as in DPDK's examples (l3fwd, testpmd).
pub const BURST_SIZE: usize = 32;

/// Up to [`BURST_SIZE`] owned mbufs in a fixed array (no allocation).
/// Slots `[0, len)` hold valid, owned mbufs; dropping the burst frees them
/// in bulk.
pub struct Burst {
    slots: [*mut dpdk_sys::rte_mbuf; BURST_SIZE],
    len: usize,
}

// SAFETY: the burst owns its mbufs exclusively (see `Mbuf: Send`).
unsafe impl Send for Burst {}

impl Default for Burst {
    fn default() -> Self {
        Self::new()
    }
}

impl Burst {
    /// An empty burst.
    pub const fn new() -> Burst {
        Burst {
            slots: [std::ptr::null_mut(); BURST_SIZE],
            len: 0,
        }
    }

    /// Mbufs held.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no mbuf is held.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Free slots.
    #[inline(always)]
    pub fn room(&self) -> usize {
        BURST_SIZE - self.len
    }

    /// True when every slot is used.
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.len == BURST_SIZE
    }

    /// Appends an mbuf; gives it back when the burst is full.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.is_full() {
            return Err(m);
        }
        self.slots[self.len] = m.into_raw();
        self.len += 1;
        Ok(())
    }

    /// Removes and returns the last mbuf.
    #[inline]
    pub fn pop(&mut self) -> Option<Mbuf> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        let p = self.slots[self.len];
        // SAFETY: slot len was inside [0, len) so it holds an owned mbuf,
        // which now leaves the burst.
        Some(unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) })
    }

    /// The held mbufs as a slice.
    #[inline(always)]
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: Mbuf is repr(transparent) over a non-null pointer and
        // slots [0, len) are valid owned mbufs.
        unsafe { std::slice::from_raw_parts(self.slots.as_ptr() as *const Mbuf, self.len) }
    }

    /// The held mbufs as a mutable slice (for in-place rewrites).
    #[inline(always)]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: as in `as_slice`; &mut self makes it exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.slots.as_mut_ptr() as *mut Mbuf, self.len) }
    }

    /// Takes every mbuf out, in order, leaving the burst empty.
    pub fn drain(&mut self) -> Drain<'_> {
        let len = self.len;
        self.len = 0;
        Drain {
            burst: self,
            next: 0,
            end: len,
        }
    }

    /// Removes the first `n` mbufs without freeing them (they were handed
    /// to DPDK, which now owns them) and moves the rest to the front.
    pub(crate) fn consume_front(&mut self, n: usize) {
        debug_assert!(n <= self.len);
        self.slots.copy_within(n..self.len, 0);
        self.len -= n;
    }

    /// Frees every held mbuf in one bulk call.
    pub fn clear(&mut self) {
        if self.len > 0 {
            // SAFETY: slots [0, len) are owned mbufs, freed once here, and
            // len is reset so they are never seen again.
            unsafe { dpdk_sys::clw_pktmbuf_free_bulk(self.slots.as_mut_ptr(), self.len as u32) };
            self.len = 0;
        }
    }

    pub(crate) fn raw_slots_mut(&mut self) -> &mut [*mut dpdk_sys::rte_mbuf; BURST_SIZE] {
        &mut self.slots
    }

    /// # Safety
    /// Slots `[0, len)` must hold valid mbufs owned by this burst.
    pub(crate) unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= BURST_SIZE);
        self.len = len;
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Iterator returned by [`Burst::drain`]; mbufs not taken are freed.
pub struct Drain<'a> {
    burst: &'a mut Burst,
    next: usize,
    end: usize,
}

impl Iterator for Drain<'_> {
    type Item = Mbuf;

    #[inline]
    fn next(&mut self) -> Option<Mbuf> {
        if self.next == self.end {
            return None;
        }
        let p = self.burst.slots[self.next];
        self.next += 1;
        // SAFETY: slots below `end` were owned by the burst when draining
        // started; each is handed out once.
        Some(unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) })
    }
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        for m in self.by_ref() {
            drop(m);
        }
    }
}
