//! Packet-buffer pools.

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::burst::Burst;
use crate::eal::{object_created, object_released, Eal};
use crate::error::{Error, Result};
use crate::mbuf::Mbuf;

struct PoolInner {
    raw: NonNull<dpdk_sys::rte_mempool>,
    name: String,
    capacity: u32,
}

// SAFETY: rte_mempool is designed for concurrent use from many lcores
// (per-lcore caches plus a lock-free common pool).
unsafe impl Send for PoolInner {}
// SAFETY: as above; every method we call on it is MT-safe.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        // An mbuf still out would point into freed memory: leak the pool
        // instead (it dies with the process) and keep the EAL from cleaning
        // up underneath it.
        if in_use(self.raw) != 0 {
            return;
        }
        // SAFETY: the last handle is going away and no mbuf is outstanding.
        unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) };
        object_released();
    }
}

fn in_use(raw: NonNull<dpdk_sys::rte_mempool>) -> u32 {
    // SAFETY: the pool is alive while `raw` is held by a PoolInner.
    unsafe { dpdk_sys::rte_mempool_in_use_count(raw.as_ptr()) }
}

/// A pool of packet buffers. Cloning shares the same pool.
#[derive(Clone)]
pub struct Mempool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.inner.name)
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

impl Mempool {
    /// Creates a packet mbuf pool of `count` buffers (2^n - 1 is the most
    /// memory-efficient), with a per-lcore cache of `cache` and a data room
    /// of `data_room` bytes (including headroom), on NUMA `socket` (-1: any).
    pub fn create(
        _eal: &Eal,
        name: &str,
        count: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool> {
        let cname = CString::new(name).map_err(|_| Error::BadArgument(name.into()))?;
        // SAFETY: EAL initialised (we hold &Eal); the name is NUL-terminated
        // and copied by DPDK.
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(cname.as_ptr(), count, cache, 0, data_room, socket)
        };
        let raw =
            NonNull::new(raw).ok_or_else(|| Error::from_rte_errno("rte_pktmbuf_pool_create"))?;
        object_created();
        Ok(Mempool {
            inner: Arc::new(PoolInner {
                raw,
                name: name.to_owned(),
                capacity: count,
            }),
        })
    }

    /// Takes one mbuf (reset, empty).
    #[inline]
    pub fn alloc(&self) -> Result<Mbuf> {
        // SAFETY: the pool is alive; the returned mbuf is exclusively ours.
        let m = unsafe { dpdk_sys::clw_pktmbuf_alloc(self.inner.raw.as_ptr()) };
        match NonNull::new(m) {
            // SAFETY: a freshly allocated mbuf is owned by nobody else.
            Some(m) => Ok(unsafe { Mbuf::from_raw(m) }),
            None => Err(Error::PoolExhausted {
                pool: self.inner.name.clone(),
            }),
        }
    }

    /// Fills `burst` up to `n` mbufs in one go: all or nothing.
    #[inline]
    pub fn alloc_bulk(&self, burst: &mut Burst, n: usize) -> Result<()> {
        let start = burst.len();
        let n = n.min(burst.room());
        // SAFETY: the slots [start, start+n) are inside the burst's array and
        // unused; on success DPDK wrote n valid, owned mbuf pointers there.
        let rc = unsafe {
            dpdk_sys::clw_pktmbuf_alloc_bulk(
                self.inner.raw.as_ptr(),
                burst.raw_slots_mut().as_mut_ptr().add(start),
                n as u32,
            )
        };
        if rc != 0 {
            return Err(Error::PoolExhausted {
                pool: self.inner.name.clone(),
            });
        }
        // SAFETY: DPDK filled exactly those n slots with owned mbufs.
        unsafe { burst.set_len(start + n) };
        Ok(())
    }

    /// Buffers free in the pool (including per-lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is alive.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.inner.raw.as_ptr()) }
    }

    /// Buffers currently taken.
    pub fn in_use(&self) -> u32 {
        in_use(self.inner.raw)
    }

    /// Total buffers in the pool.
    pub fn capacity(&self) -> u32 {
        self.inner.capacity
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub(crate) fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.inner.raw.as_ptr()
    }
}
