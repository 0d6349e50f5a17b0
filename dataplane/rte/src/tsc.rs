//! The time-stamp counter: the dataplane's clock.

/// Reads the TSC (a few cycles; no syscall).
#[inline(always)]
pub fn now() -> u64 {
    // rte_rdtsc is a plain RDTSC: inlined here rather than called through
    // the shim, since the dataplane reads it several times per burst.
    #[cfg(target_arch = "x86_64")]
    // SAFETY: RDTSC has no preconditions and touches no memory.
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: rdtsc has no preconditions.
    unsafe {
        dpdk_sys::clw_rdtsc()
    }
}

/// Converts a duration in microseconds to TSC ticks at `hz`.
pub fn micros_to_ticks(us: u64, hz: u64) -> u64 {
    ((us as u128 * hz as u128) / 1_000_000) as u64
}

/// Spin-wait hint for busy loops.
#[inline(always)]
pub fn pause() {
    // SAFETY: the pause instruction has no preconditions.
    unsafe { dpdk_sys::clw_pause() }
}
