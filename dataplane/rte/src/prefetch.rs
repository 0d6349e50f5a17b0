//! Cache prefetch hints, DPDK's `rte_prefetch0`, inlined here: an
//! out-of-line call through the C shim would cost about what the hint saves.
//!
//! Used to overlap a burst's cache misses: the switch asks for each
//! message's table lines as soon as the message is decoded, ahead of
//! handling any of the burst, so the misses are in flight together instead
//! of queueing one after another.

/// Asks the CPU to bring the cache line holding `at` into every cache
/// level ahead of use. A hint only: the address is never dereferenced, so
/// any pointer is fine; nothing changes, and it is a no-op off x86_64.
#[inline(always)]
pub fn prefetch0<T>(at: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 never faults or writes, whatever the address, and
    // SSE is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(at.cast())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

#[cfg(test)]
mod tests {
    /// The contract the signature promises: any address, mapped or not,
    /// is only a hint (a faulting prefetch would kill the test process).
    #[test]
    fn any_address_is_only_a_hint() {
        super::prefetch0(std::ptr::null::<u64>());
        super::prefetch0(usize::MAX as *const u8);
        let freed = Box::into_raw(Box::new([0u8; 4096]));
        // SAFETY: the box came from Box::into_raw just above.
        drop(unsafe { Box::from_raw(freed) });
        super::prefetch0(freed);
        let v = vec![7u64; 1024];
        v.iter().for_each(|x| super::prefetch0(x));
        assert!(v.iter().all(|&x| x == 7), "and it writes nothing");
    }
}
