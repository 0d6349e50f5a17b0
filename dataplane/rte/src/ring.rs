//! Typed DPDK rings for hand-off between lcores.

use std::ffi::{c_void, CString};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::burst::Burst;
use crate::eal::{object_created, object_released, Eal};
use crate::error::{Error, Result};
use crate::mbuf::Mbuf;
use crate::port::NotSync;

mod sealed {
    pub trait Sealed {}
}

/// Something that travels through a ring as one pointer-sized word.
/// Sealed: implemented for [`Mbuf`] and `Box<T>`.
pub trait RingItem: sealed::Sealed + Send + Sized {
    #[doc(hidden)]
    fn into_word(self) -> *mut c_void;
    #[doc(hidden)]
    fn from_word(word: NonNull<c_void>, _seal: Seal) -> Self;
}

/// Proof that only this module turns words back into items.
#[doc(hidden)]
pub struct Seal(());

impl sealed::Sealed for Mbuf {}
impl RingItem for Mbuf {
    fn into_word(self) -> *mut c_void {
        self.into_raw() as *mut c_void
    }
    fn from_word(word: NonNull<c_void>, _seal: Seal) -> Self {
        // SAFETY: only words made by `into_word` on an owned Mbuf enter the
        // ring, and each leaves it once (Seal is private to this module).
        unsafe { Mbuf::from_raw(word.cast()) }
    }
}

impl<T: Send> sealed::Sealed for Box<T> {}
impl<T: Send> RingItem for Box<T> {
    fn into_word(self) -> *mut c_void {
        Box::into_raw(self) as *mut c_void
    }
    fn from_word(word: NonNull<c_void>, _seal: Seal) -> Self {
        // SAFETY: as for Mbuf: the word came from Box::into_raw of a Box<T>.
        unsafe { Box::from_raw(word.as_ptr() as *mut T) }
    }
}

/// Who may enqueue and dequeue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingMode {
    /// One producer lcore, one consumer lcore.
    Spsc,
    /// Many producers, one consumer.
    Mpsc,
}

struct RingInner<T: RingItem> {
    raw: NonNull<dpdk_sys::rte_ring>,
    _items: PhantomData<T>,
}

// SAFETY: rte_ring is a lock-free queue meant for use across lcores; the
// producer/consumer handles enforce the single-producer/consumer rules.
unsafe impl<T: RingItem> Send for RingInner<T> {}
// SAFETY: as above.
unsafe impl<T: RingItem> Sync for RingInner<T> {}

impl<T: RingItem> Drop for RingInner<T> {
    fn drop(&mut self) {
        // Both ends are gone: drain what is left so items are not leaked.
        let mut word: *mut c_void = std::ptr::null_mut();
        // SAFETY: no handle remains, so we are the only user of the ring.
        while unsafe { dpdk_sys::clw_ring_dequeue_burst(self.raw.as_ptr(), &mut word, 1) } == 1 {
            if let Some(w) = NonNull::new(word) {
                drop(T::from_word(w, Seal(())));
            }
        }
        // SAFETY: the ring is empty and unused.
        unsafe { dpdk_sys::rte_ring_free(self.raw.as_ptr()) };
        object_released();
    }
}

/// Constructor namespace for typed rings.
pub struct Ring;

impl Ring {
    /// Creates a ring of `capacity` items (rounded up to a power of two
    /// internally, usable capacity exactly `capacity`) and returns its two
    /// ends.
    pub fn create<T: RingItem>(
        _eal: &Eal,
        name: &str,
        capacity: u32,
        mode: RingMode,
    ) -> Result<(Producer<T>, Consumer<T>)> {
        let cname = CString::new(name).map_err(|_| Error::BadArgument(name.into()))?;
        let flags = dpdk_sys::RING_F_EXACT_SZ
            | dpdk_sys::RING_F_SC_DEQ
            | if mode == RingMode::Spsc {
                dpdk_sys::RING_F_SP_ENQ
            } else {
                0
            };
        // SAFETY: EAL initialised; DPDK copies the name.
        let raw = unsafe { dpdk_sys::rte_ring_create(cname.as_ptr(), capacity, -1, flags) };
        let raw = NonNull::new(raw).ok_or_else(|| Error::from_rte_errno("rte_ring_create"))?;
        object_created();
        let inner = Arc::new(RingInner {
            raw,
            _items: PhantomData,
        });
        Ok((
            Producer {
                inner: inner.clone(),
                mode,
                _owner: NotSync::default(),
            },
            Consumer {
                inner,
                _owner: NotSync::default(),
            },
        ))
    }
}

/// The enqueue end. `Send`, not `Sync`; clonable only for [`RingMode::Mpsc`].
pub struct Producer<T: RingItem> {
    inner: Arc<RingInner<T>>,
    mode: RingMode,
    _owner: NotSync,
}

impl<T: RingItem> Producer<T> {
    pub(crate) fn raw(&self) -> *mut dpdk_sys::rte_ring {
        self.inner.raw.as_ptr()
    }

    /// Another producer handle for a multi-producer ring (None for SPSC).
    pub fn try_clone(&self) -> Option<Producer<T>> {
        (self.mode == RingMode::Mpsc).then(|| Producer {
            inner: self.inner.clone(),
            mode: self.mode,
            _owner: NotSync::default(),
        })
    }

    /// Enqueues one item; gives it back when the ring is full.
    #[inline]
    pub fn enqueue(&mut self, item: T) -> std::result::Result<(), T> {
        let word = item.into_word();
        // SAFETY: we are the (or a, for MPSC) producer; the word is an owned
        // item that the ring now holds.
        let n = unsafe { dpdk_sys::clw_ring_enqueue_burst(self.inner.raw.as_ptr(), &word, 1) };
        if n == 1 {
            Ok(())
        } else {
            // SAFETY: not enqueued, so the word is still ours.
            Err(T::from_word(
                unsafe { NonNull::new_unchecked(word) },
                Seal(()),
            ))
        }
    }

    /// Items in the ring now.
    pub fn len(&self) -> usize {
        // SAFETY: reading the counters of a live ring.
        unsafe { dpdk_sys::clw_ring_count(self.inner.raw.as_ptr()) as usize }
    }

    /// True when the ring holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Producer<Mbuf> {
    /// Enqueues from the front of `burst`; what did not fit stays there.
    #[inline]
    pub fn enqueue_burst(&mut self, burst: &mut Burst) -> usize {
        // SAFETY: slots [0, len) are owned mbufs; the ring takes the first n
        // and `consume_front` forgets exactly those.
        let n = unsafe {
            dpdk_sys::clw_ring_enqueue_burst(
                self.inner.raw.as_ptr(),
                burst.raw_slots_mut().as_ptr() as *const *mut c_void,
                burst.len() as u32,
            )
        } as usize;
        burst.consume_front(n);
        n
    }
}

/// The dequeue end. `Send`, not `Sync`, not clonable.
pub struct Consumer<T: RingItem> {
    inner: Arc<RingInner<T>>,
    _owner: NotSync,
}

impl<T: RingItem> Consumer<T> {
    /// Dequeues one item.
    #[inline]
    pub fn dequeue(&mut self) -> Option<T> {
        let mut word: *mut c_void = std::ptr::null_mut();
        // SAFETY: we are the only consumer; one slot of out-space.
        let n = unsafe { dpdk_sys::clw_ring_dequeue_burst(self.inner.raw.as_ptr(), &mut word, 1) };
        if n == 1 {
            NonNull::new(word).map(|w| T::from_word(w, Seal(())))
        } else {
            None
        }
    }

    /// Items in the ring now.
    pub fn len(&self) -> usize {
        // SAFETY: reading the counters of a live ring.
        unsafe { dpdk_sys::clw_ring_count(self.inner.raw.as_ptr()) as usize }
    }

    /// True when the ring holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Consumer<Mbuf> {
    /// Dequeues into the free slots of `burst`.
    #[inline]
    pub fn dequeue_burst(&mut self, burst: &mut Burst) -> usize {
        let start = burst.len();
        // SAFETY: we are the only consumer; at most `room` words are written
        // into the free slots, each an owned mbuf enqueued by a producer.
        let n = unsafe {
            dpdk_sys::clw_ring_dequeue_burst(
                self.inner.raw.as_ptr(),
                burst.raw_slots_mut().as_mut_ptr().add(start) as *mut *mut c_void,
                burst.room() as u32,
            )
        } as usize;
        // SAFETY: n slots after start now hold owned mbufs.
        unsafe { burst.set_len(start + n) };
        n
    }
}
