//! Cache prefetch hints, DPDK's `rte_prefetch0`, inlined here: an
//! out-of-line call through the C shim would cost about what the hint saves.
//!
//! Used to overlap a burst's cache misses: the switch hashes the keys of all
//! 32 messages first and asks for the table lines they will touch, so the
//! misses are in flight together instead of queueing one after another.

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
    #[test]
    fn prefetching_changes_nothing() {
        let v = vec![7u64; 1024];
        for x in &v {
            super::prefetch0(x);
        }
        assert!(v.iter().all(|&x| x == 7));
    }
}
