//! The plain C loop the Rust layer is benchmarked against.

use crate::mempool::Mempool;
use crate::queue::{RxQueue, TxQueue};

/// Runs the C baseline (alloc-bulk 32 → tx → rx → free-bulk, `bursts`
/// times) on the queues' port; returns packets received. The queues must
/// belong to the same port and queue index (a ring loopback port).
pub fn c_ring_loop(rx: &mut RxQueue, tx: &mut TxQueue, pool: &Mempool, bursts: u64) -> u64 {
    assert_eq!(rx.port().id(), tx.port().id(), "baseline runs on one port");
    assert_eq!(rx.queue(), tx.queue(), "baseline runs on one queue pair");
    // SAFETY: we hold both queue handles exclusively (&mut), so no other
    // code polls them while the C loop runs; the pool is alive.
    unsafe { dpdk_sys::clw_baseline_ring_loop(rx.port().id(), rx.queue(), pool.as_ptr(), bursts) }
}
