//! The first-cut lcore loop: frames received on a port leave on its peer.
//! This is the slot where the switch pipeline goes; it already has the
//! pipeline's shape (l3fwd-style per-lcore context built before launch,
//! rx burst → process → per-port tx buffers drained on a timer).
//!
//! Budget: at 2 GHz and 10 Mpps per lcore a packet has 200 cycles; here it
//! needs a pointer move and a counter, the rest is DPDK's rx/tx.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rte::{Burst, RxQueue, TxBuffer};

/// Per-port counters one lcore writes and the main thread reads. Single
/// writer, so plain load + store (no read-modify-write) is enough.
#[derive(Default)]
pub struct PortCounters {
    pub rx: AtomicU64,
    pub tx: AtomicU64,
    pub dropped: AtomicU64,
}

/// Counters of one lcore, one entry per port of the layout.
pub struct LcoreCounters {
    pub ports: Vec<PortCounters>,
}

impl LcoreCounters {
    pub fn new(ports: usize) -> Arc<LcoreCounters> {
        Arc::new(LcoreCounters {
            ports: (0..ports).map(|_| PortCounters::default()).collect(),
        })
    }
}

fn bump(c: &AtomicU64, by: u64) {
    c.store(c.load(Ordering::Relaxed) + by, Ordering::Relaxed);
}

/// Everything one lcore touches, built before launch.
pub struct ForwardLcore {
    /// (rx queue, index of the port it belongs to, index of the peer port).
    pub rx: Vec<(RxQueue, usize, Option<usize>)>,
    /// This lcore's tx buffer on every port, by port index.
    pub tx: Vec<TxBuffer>,
    pub counters: Arc<LcoreCounters>,
    pub stop: Arc<AtomicBool>,
}

impl ForwardLcore {
    /// Runs until `stop` is set, then flushes what is queued.
    pub fn run(mut self) {
        let mut burst = Burst::new();
        let mut reported: Vec<(u64, u64)> = vec![(0, 0); self.tx.len()];
        while !self.stop.load(Ordering::Relaxed) {
            let now = rte::tsc::now();
            for (rxq, port, peer) in &mut self.rx {
                let n = rxq.rx_burst(&mut burst);
                if n == 0 {
                    continue;
                }
                bump(&self.counters.ports[*port].rx, n as u64);
                match peer {
                    Some(p) => {
                        let out = &mut self.tx[*p];
                        for m in burst.drain() {
                            out.push(m, now);
                        }
                    }
                    None => {
                        // A port without a peer: nothing to forward to.
                        bump(&self.counters.ports[*port].dropped, n as u64);
                        burst.clear();
                    }
                }
            }
            for (i, out) in self.tx.iter_mut().enumerate() {
                out.drain_if_due(now);
                publish(&self.counters.ports[i], out, &mut reported[i]);
            }
        }
        for (i, out) in self.tx.iter_mut().enumerate() {
            out.flush();
            publish(&self.counters.ports[i], out, &mut reported[i]);
        }
    }
}

/// Moves what a tx buffer sent or dropped since the last call into the
/// lcore's counters.
fn publish(c: &PortCounters, out: &TxBuffer, reported: &mut (u64, u64)) {
    {
        if out.sent() != reported.0 {
            bump(&c.tx, out.sent() - reported.0);
            reported.0 = out.sent();
        }
        if out.dropped() != reported.1 {
            bump(&c.dropped, out.dropped() - reported.1);
            reported.1 = out.dropped();
        }
    }
}
