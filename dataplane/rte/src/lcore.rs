//! Lcore discovery and launch of closures on worker lcores.

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// A DPDK logical core id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LcoreId(pub u32);

impl LcoreId {
    /// The lcore the calling thread runs on (`u32::MAX` for a non-EAL thread).
    pub fn current() -> LcoreId {
        // SAFETY: reads a thread-local; valid on any thread.
        LcoreId(unsafe { dpdk_sys::clw_lcore_id() })
    }

    /// NUMA socket of this lcore.
    pub fn socket(self) -> u32 {
        // SAFETY: reads the EAL lcore table; out-of-range ids return 0.
        unsafe { dpdk_sys::rte_lcore_to_socket_id(self.0) }
    }
}

impl std::fmt::Display for LcoreId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lcore {}", self.0)
    }
}

type Outcome<T> = Arc<Mutex<Option<std::thread::Result<T>>>>;

struct Job<T> {
    body: Box<dyn FnOnce() -> T + Send>,
    outcome: Outcome<T>,
}

extern "C" fn trampoline<T>(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job<T>> leaked by `launch` for exactly this
    // one call; ownership comes back here.
    let job = unsafe { Box::from_raw(arg as *mut Job<T>) };
    // A panic must not unwind into DPDK's C frames.
    let result = catch_unwind(AssertUnwindSafe(job.body));
    let failed = result.is_err();
    *job.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    if failed {
        -1
    } else {
        0
    }
}

/// A closure running on a worker lcore. `join` waits for it; dropping the
/// handle also waits, so a lcore is never left running unowned.
pub struct LcoreHandle<T> {
    lcore: LcoreId,
    outcome: Outcome<T>,
    joined: bool,
}

/// Runs `f` on worker lcore `lcore`.
pub fn launch<T, F>(lcore: LcoreId, f: F) -> Result<LcoreHandle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let outcome: Outcome<T> = Arc::new(Mutex::new(None));
    let job = Box::new(Job {
        body: Box::new(f),
        outcome: outcome.clone(),
    });
    let arg = Box::into_raw(job) as *mut c_void;
    // SAFETY: trampoline::<T> matches lcore_function_t; `arg` stays valid
    // until the trampoline takes it back. On failure we reclaim it below.
    let rc = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline::<T>), arg, lcore.0) };
    if rc != 0 {
        // SAFETY: DPDK refused the launch, so the trampoline never ran and
        // never will: the box is still ours.
        drop(unsafe { Box::from_raw(arg as *mut Job<T>) });
        return Err(Error::Lcore {
            lcore: lcore.0,
            what: format!(
                "cannot launch: {} (is it a worker lcore in -l and idle?)",
                crate::error::strerror(rc)
            ),
        });
    }
    Ok(LcoreHandle {
        lcore,
        outcome,
        joined: false,
    })
}

impl<T> LcoreHandle<T> {
    /// The lcore the closure runs on.
    pub fn lcore(&self) -> LcoreId {
        self.lcore
    }

    /// Waits for the closure and returns its value; a panic inside it comes
    /// back as an error.
    pub fn join(mut self) -> Result<T> {
        self.wait();
        let taken = self
            .outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match taken {
            Some(Ok(v)) => Ok(v),
            Some(Err(panic)) => Err(Error::Lcore {
                lcore: self.lcore.0,
                what: format!("worker panicked: {}", panic_message(&panic)),
            }),
            None => Err(Error::Lcore {
                lcore: self.lcore.0,
                what: "worker finished without a result".into(),
            }),
        }
    }

    fn wait(&mut self) {
        if !self.joined {
            // SAFETY: waits for the lcore we launched on; no preconditions.
            unsafe {
                dpdk_sys::rte_eal_wait_lcore(self.lcore.0);
            }
            self.joined = true;
        }
    }
}

impl<T> Drop for LcoreHandle<T> {
    fn drop(&mut self) {
        self.wait();
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}
