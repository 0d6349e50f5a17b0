//! DPDK failures as typed values.

use std::ffi::CStr;

/// What went wrong in a DPDK call, with DPDK's own words for it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A DPDK function returned an error code.
    #[error("{op} failed: {message} (errno {code})")]
    Dpdk {
        op: &'static str,
        code: i32,
        message: String,
    },
    /// `Eal::init` was called a second time in this process.
    #[error("the DPDK EAL is already initialised in this process (it can be initialised once per process; run each DPDK test in its own process)")]
    AlreadyInitialized,
    /// An EAL argument cannot be passed to C (it contains a NUL byte).
    #[error("EAL argument {0:?} contains a NUL byte")]
    BadArgument(String),
    /// No ethdev port is registered under this name.
    #[error("no DPDK port named {name:?} (is the device in the EAL arguments? PCI ports need `-a ADDR`, virtual ones `--vdev NAME,...`)")]
    NoSuchPort { name: String },
    /// The driver cannot give what the configuration asks for.
    #[error("port {port}: {what}")]
    Unsupported { port: String, what: String },
    /// The queue was already handed to another owner.
    #[error("port {port} {dir} queue {queue} is already owned by another handle")]
    QueueTaken {
        port: u16,
        dir: &'static str,
        queue: u16,
    },
    /// The mempool has no free mbuf left.
    #[error("mempool {pool:?} is exhausted")]
    PoolExhausted { pool: String },
    /// A packet operation asked for more room than the mbuf has.
    #[error("mbuf has no room: {what}")]
    NoRoom { what: &'static str },
    /// A lcore cannot run the closure (not a worker, or busy).
    #[error("lcore {lcore}: {what}")]
    Lcore { lcore: u32, what: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Builds an error from a DPDK return code (negative errno or rte_errno).
    pub(crate) fn dpdk(op: &'static str, code: i32) -> Self {
        let code = code.abs();
        Error::Dpdk {
            op,
            code,
            message: strerror(code),
        }
    }

    /// Builds an error from the calling thread's `rte_errno`.
    pub(crate) fn from_rte_errno(op: &'static str) -> Self {
        // SAFETY: reads the per-thread rte_errno; no preconditions.
        let code = unsafe { dpdk_sys::clw_errno() };
        Self::dpdk(op, code)
    }
}

/// DPDK's message for an errno value (covers DPDK's own codes too).
pub(crate) fn strerror(code: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local
    // NUL-terminated string that stays valid until the next call on this
    // thread; we copy it out at once.
    unsafe {
        let p = dpdk_sys::rte_strerror(code);
        if p.is_null() {
            return format!("error {code}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}
