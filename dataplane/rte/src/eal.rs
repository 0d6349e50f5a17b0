//! The Environment Abstraction Layer: initialised once per process.

use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::lcore::LcoreId;

/// Set by the first `Eal::init`, successful or not: DPDK refuses a second
/// `rte_eal_init` in the same process either way.
static INIT_ATTEMPTED: AtomicBool = AtomicBool::new(false);

/// DPDK objects (mempools, rings, ports) still alive. `rte_eal_cleanup`
/// releases the memory they live in, so it only runs when this is zero.
static LIVE_OBJECTS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn object_created() {
    LIVE_OBJECTS.fetch_add(1, Ordering::AcqRel);
}

pub(crate) fn object_released() {
    let before = LIVE_OBJECTS.fetch_sub(1, Ordering::AcqRel);
    debug_assert!(before > 0, "DPDK object count underflow");
}

/// The initialised EAL. Dropping it calls `rte_eal_cleanup` once every
/// mempool, ring and port made through this crate is gone.
#[derive(Debug)]
pub struct Eal {
    tsc_hz: u64,
}

impl Eal {
    /// Initialises DPDK with `args` (without the program name). A second
    /// call in the same process is [`Error::AlreadyInitialized`].
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal> {
        if INIT_ATTEMPTED.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyInitialized);
        }
        let mut owned = Vec::with_capacity(args.len() + 1);
        owned.push(CString::new("clearway").expect("literal has no NUL"));
        for a in args {
            let a = a.as_ref();
            owned.push(CString::new(a).map_err(|_| Error::BadArgument(a.to_owned()))?);
        }
        // DPDK may keep pointers into argv for the life of the process, so
        // the strings are leaked on purpose (once per process).
        let owned: &'static [CString] = Box::leak(owned.into_boxed_slice());
        let mut argv: Vec<*mut c_char> = owned.iter().map(|s| s.as_ptr() as *mut c_char).collect();
        let argv: &'static mut [*mut c_char] = Box::leak(argv.split_off(0).into_boxed_slice());
        // SAFETY: argv holds argc valid NUL-terminated strings that live for
        // the rest of the process; INIT_ATTEMPTED guarantees one call.
        let rc = unsafe { dpdk_sys::rte_eal_init(argv.len() as c_int, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(Error::from_rte_errno("rte_eal_init"));
        }
        // SAFETY: the EAL is initialised; rte_get_tsc_hz only reads its config.
        let tsc_hz = unsafe { dpdk_sys::rte_get_tsc_hz() };
        Ok(Eal { tsc_hz })
    }

    /// TSC ticks per second, measured by the EAL at start.
    pub fn tsc_hz(&self) -> u64 {
        self.tsc_hz
    }

    /// The lcore this process's main thread runs on.
    pub fn main_lcore(&self) -> LcoreId {
        // SAFETY: EAL initialised; reads its configuration.
        LcoreId(unsafe { dpdk_sys::rte_get_main_lcore() })
    }

    /// Worker lcores (every enabled lcore except the main one), in order.
    pub fn worker_lcores(&self) -> Vec<LcoreId> {
        let mut out = Vec::new();
        let mut i = u32::MAX; // rte_get_next_lcore(-1, ...) starts at lcore 0
        loop {
            // SAFETY: EAL initialised; the call only reads the lcore table.
            i = unsafe { dpdk_sys::rte_get_next_lcore(i, 1, 0) };
            if i >= dpdk_sys::RTE_MAX_LCORE {
                return out;
            }
            out.push(LcoreId(i));
        }
    }

    /// Number of ethdev ports the EAL probed (PCI devices and vdevs).
    pub fn port_count(&self) -> u16 {
        // SAFETY: EAL initialised.
        unsafe { dpdk_sys::rte_eth_dev_count_avail() }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        if LIVE_OBJECTS.load(Ordering::Acquire) != 0 {
            // Cleaning up would free memory that live objects point into.
            return;
        }
        // SAFETY: no DPDK object made through this crate is alive, and the
        // Eal value is unique per process.
        unsafe {
            dpdk_sys::rte_eal_cleanup();
        }
    }
}
