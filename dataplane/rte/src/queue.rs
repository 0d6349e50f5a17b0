//! Rx/tx queue handles owned by one lcore, and the drain-timed tx buffer.

use crate::burst::{Burst, BURST_SIZE};
use crate::port::{NotSync, Port};

/// One rx queue of a port, owned by one lcore: `Send`, not `Sync`.
pub struct RxQueue {
    port: Port,
    id: u16,
    queue: u16,
    _owner: NotSync,
}

impl RxQueue {
    pub(crate) fn new(port: Port, queue: u16) -> RxQueue {
        RxQueue {
            id: port.id(),
            port,
            queue,
            _owner: NotSync::default(),
        }
    }

    /// Receives into the free slots of `burst`; returns how many arrived.
    #[inline(always)]
    pub fn rx_burst(&mut self, burst: &mut Burst) -> usize {
        let start = burst.len();
        let room = burst.room();
        // SAFETY: this handle is the only owner of (port, queue); the free
        // slots [start, start+room) lie inside the burst's fixed array and
        // DPDK writes at most `room` owned mbuf pointers there.
        let n = unsafe {
            dpdk_sys::clw_eth_rx_burst(
                self.id,
                self.queue,
                burst.raw_slots_mut().as_mut_ptr().add(start),
                room as u16,
            )
        } as usize;
        // SAFETY: DPDK filled n slots after `start`.
        unsafe { burst.set_len(start + n) };
        n
    }

    /// The port this queue belongs to.
    pub fn port(&self) -> &Port {
        &self.port
    }

    /// Queue index.
    pub fn queue(&self) -> u16 {
        self.queue
    }
}

/// One tx queue of a port, owned by one lcore: `Send`, not `Sync`.
pub struct TxQueue {
    port: Port,
    id: u16,
    queue: u16,
    _owner: NotSync,
}

impl TxQueue {
    pub(crate) fn new(port: Port, queue: u16) -> TxQueue {
        TxQueue {
            id: port.id(),
            port,
            queue,
            _owner: NotSync::default(),
        }
    }

    /// Sends from the front of `burst`; what the NIC did not take stays in
    /// the burst (moved to the front). Returns how many were sent.
    #[inline(always)]
    pub fn tx_burst(&mut self, burst: &mut Burst) -> usize {
        if burst.is_empty() {
            return 0;
        }
        // SAFETY: this handle is the only owner of (port, queue); slots
        // [0, len) are owned mbufs, and DPDK takes ownership of the first n.
        let n = unsafe {
            dpdk_sys::clw_eth_tx_burst(
                self.id,
                self.queue,
                burst.raw_slots_mut().as_mut_ptr(),
                burst.len() as u16,
            )
        } as usize;
        burst.consume_front(n);
        n
    }

    /// The port this queue belongs to.
    pub fn port(&self) -> &Port {
        &self.port
    }

    /// Queue index.
    pub fn queue(&self) -> u16 {
        self.queue
    }
}

/// Buffers outgoing mbufs for one tx queue and sends them when a burst is
/// full or when the drain timer runs out (so a lone packet is not held for
/// long), as l3fwd does. What the NIC refuses after `retries` tries is
/// freed and counted in `dropped`: back-pressure never leaks mbufs.
pub struct TxBuffer {
    queue: TxQueue,
    pending: Burst,
    drain_ticks: u64,
    oldest_tsc: u64,
    retries: u32,
    sent: u64,
    dropped: u64,
}

impl TxBuffer {
    /// A buffer over `queue` that flushes at the latest `drain_ticks` TSC
    /// ticks after its oldest packet was queued.
    pub fn new(queue: TxQueue, drain_ticks: u64) -> TxBuffer {
        TxBuffer {
            queue,
            pending: Burst::new(),
            drain_ticks,
            oldest_tsc: 0,
            retries: 4,
            sent: 0,
            dropped: 0,
        }
    }

    /// Queues one mbuf, sending the burst when it is full.
    #[inline]
    pub fn push(&mut self, m: crate::Mbuf, now_tsc: u64) {
        if self.pending.is_empty() {
            self.oldest_tsc = now_tsc;
        }
        if let Err(m) = self.pending.push(m) {
            // Cannot happen: we flush as soon as the burst fills.
            debug_assert!(false, "tx buffer over {BURST_SIZE}");
            drop(m);
            self.dropped += 1;
        }
        if self.pending.is_full() {
            self.flush();
        }
    }

    /// Sends everything now.
    #[inline]
    pub fn flush(&mut self) {
        let mut tries = 0;
        while !self.pending.is_empty() {
            let n = self.queue.tx_burst(&mut self.pending);
            self.sent += n as u64;
            if n == 0 {
                tries += 1;
                if tries > self.retries {
                    self.dropped += self.pending.len() as u64;
                    self.pending.clear();
                    break;
                }
            }
        }
    }

    /// Flushes if the oldest queued packet has waited `drain_ticks`.
    #[inline]
    pub fn drain_if_due(&mut self, now_tsc: u64) {
        if !self.pending.is_empty() && now_tsc.wrapping_sub(self.oldest_tsc) >= self.drain_ticks {
            self.flush();
        }
    }

    /// Packets handed to the NIC.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Packets freed because the NIC would not take them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Packets waiting.
    pub fn queued(&self) -> usize {
        self.pending.len()
    }

    /// The underlying queue.
    pub fn queue(&self) -> &TxQueue {
        &self.queue
    }
}

impl Drop for TxBuffer {
    fn drop(&mut self) {
        self.flush();
    }
}
