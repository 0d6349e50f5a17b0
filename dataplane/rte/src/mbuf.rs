//! An owned packet buffer.

use std::ptr::NonNull;

use crate::error::{Error, Result};

/// One single-segment packet buffer, owned: dropping it returns it to its
/// pool. The same size as a pointer, so bursts of them are plain arrays.
#[repr(transparent)]
pub struct Mbuf {
    raw: NonNull<dpdk_sys::rte_mbuf>,
}

// SAFETY: an owned mbuf may move to another lcore (ring hand-off); nothing
// else references it while we own it.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Wraps a raw mbuf.
    ///
    /// # Safety
    /// `raw` must be a valid mbuf that nobody else owns or frees.
    #[inline(always)]
    pub(crate) unsafe fn from_raw(raw: NonNull<dpdk_sys::rte_mbuf>) -> Mbuf {
        Mbuf { raw }
    }

    /// Gives up ownership without freeing.
    #[inline(always)]
    pub(crate) fn into_raw(self) -> *mut dpdk_sys::rte_mbuf {
        let p = self.raw.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Bytes of packet data in this (first) segment.
    #[inline(always)]
    pub fn len(&self) -> usize {
        // SAFETY: we own a valid mbuf; data_len is a plain field whose
        // offset is checked against C by `mbuf_layout_matches_c`.
        unsafe { (*self.raw.as_ptr()).data_len as usize }
    }

    #[inline(always)]
    fn data_ptr(&self) -> *mut u8 {
        // SAFETY: as in `len`: buf_addr + data_off is rte_pktmbuf_mtod.
        unsafe {
            let m = self.raw.as_ptr();
            ((*m).buf_addr as *mut u8).add((*m).data_off as usize)
        }
    }

    /// True when the buffer holds no data.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the packet spans more than one segment (we only read the first).
    pub fn is_chained(&self) -> bool {
        // SAFETY: we own a valid mbuf; nb_segs is a plain field.
        unsafe { (*self.raw.as_ptr()).nb_segs > 1 }
    }

    /// The packet data.
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        // SAFETY: data pointer and data_len describe initialised bytes of
        // the buffer we own; the borrow ties them to &self.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), self.len()) }
    }

    /// The packet data, writable.
    #[inline(always)]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and &mut self makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), self.len()) }
    }

    /// Free bytes before the data.
    #[inline(always)]
    pub fn headroom(&self) -> usize {
        // SAFETY: we own a valid mbuf; data_off is a plain field.
        unsafe { (*self.raw.as_ptr()).data_off as usize }
    }

    /// Free bytes after the data.
    #[inline(always)]
    pub fn tailroom(&self) -> usize {
        // SAFETY: we own a valid mbuf; plain fields (rte_pktmbuf_tailroom).
        unsafe {
            let m = self.raw.as_ptr();
            (*m).buf_len as usize - (*m).data_off as usize - (*m).data_len as usize
        }
    }

    /// Grows the data at the front by `n` bytes (taken from headroom).
    pub fn prepend(&mut self, n: u16) -> Result<()> {
        // SAFETY: DPDK checks the headroom and returns NULL if too small.
        let p = unsafe { dpdk_sys::clw_pktmbuf_prepend(self.raw.as_ptr(), n) };
        if p.is_null() {
            return Err(Error::NoRoom {
                what: "prepend beyond headroom",
            });
        }
        Ok(())
    }

    /// Grows the data at the end by `n` bytes (taken from tailroom); the new
    /// bytes keep whatever the buffer held.
    pub fn append(&mut self, n: u16) -> Result<()> {
        // SAFETY: DPDK checks the tailroom and returns NULL if too small.
        let p = unsafe { dpdk_sys::clw_pktmbuf_append(self.raw.as_ptr(), n) };
        if p.is_null() {
            return Err(Error::NoRoom {
                what: "append beyond tailroom",
            });
        }
        Ok(())
    }

    /// Removes `n` bytes from the front.
    pub fn adj(&mut self, n: u16) -> Result<()> {
        // SAFETY: DPDK checks n against the data length.
        let p = unsafe { dpdk_sys::clw_pktmbuf_adj(self.raw.as_ptr(), n) };
        if p.is_null() {
            return Err(Error::NoRoom {
                what: "adj beyond data length",
            });
        }
        Ok(())
    }

    /// Removes `n` bytes from the end.
    pub fn trim(&mut self, n: u16) -> Result<()> {
        // SAFETY: DPDK checks n against the data length.
        let rc = unsafe { dpdk_sys::clw_pktmbuf_trim(self.raw.as_ptr(), n) };
        if rc != 0 {
            return Err(Error::NoRoom {
                what: "trim beyond data length",
            });
        }
        Ok(())
    }

    /// Sets the data length to `len` bytes from the current start, growing
    /// into tailroom (new bytes keep what the buffer held) or trimming.
    /// Single-segment mbufs only, which is all the dataplane makes.
    #[inline(always)]
    pub fn set_len(&mut self, len: usize) -> Result<()> {
        let m = self.raw.as_ptr();
        // SAFETY: we own a valid mbuf; plain fields. The check keeps the
        // data inside the buffer (len <= buf_len - data_off) and the mbuf
        // single-segment, so data_len = pkt_len = len is a valid state.
        unsafe {
            let room = (*m).buf_len as usize - (*m).data_off as usize;
            if len > room || (*m).nb_segs != 1 {
                return Err(Error::NoRoom {
                    what: "set_len beyond the buffer or on a chained mbuf",
                });
            }
            (*m).data_len = len as u16;
            (*m).pkt_len = len as u32;
        }
        Ok(())
    }

    /// Empties the buffer and restores the default headroom.
    pub fn reset(&mut self) {
        // SAFETY: we own a valid mbuf.
        unsafe { dpdk_sys::clw_pktmbuf_reset(self.raw.as_ptr()) }
    }

    /// The RSS hash the NIC stamped (0 where the driver does not).
    #[inline(always)]
    pub fn rss_hash(&self) -> u32 {
        // SAFETY: we own a valid mbuf.
        unsafe { dpdk_sys::clw_pktmbuf_rss_hash(self.raw.as_ptr()) }
    }

    /// Hints the CPU to fetch the packet data into cache.
    #[inline(always)]
    pub fn prefetch(&self) {
        crate::prefetch0(self.data_ptr());
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf; it is freed exactly once here.
        unsafe { dpdk_sys::clw_pktmbuf_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf").field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    /// The fast accessors read rte_mbuf fields from Rust: their offsets must
    /// be the C compiler's.
    #[test]
    fn mbuf_layout_matches_c() {
        let mut off = [0u32; 6];
        // SAFETY: writes six u32 into our array.
        unsafe { dpdk_sys::clw_mbuf_field_offsets(off.as_mut_ptr()) };
        assert_eq!(
            off,
            [
                offset_of!(dpdk_sys::rte_mbuf, buf_addr) as u32,
                offset_of!(dpdk_sys::rte_mbuf, data_off) as u32,
                offset_of!(dpdk_sys::rte_mbuf, nb_segs) as u32,
                offset_of!(dpdk_sys::rte_mbuf, pkt_len) as u32,
                offset_of!(dpdk_sys::rte_mbuf, data_len) as u32,
                offset_of!(dpdk_sys::rte_mbuf, buf_len) as u32,
            ]
        );
    }
}
