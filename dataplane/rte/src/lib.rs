//! The safe layer over DPDK that the Clearway dataplane is written against.
//!
//! What it is: [`Eal`] (once per process), [`Mempool`], owned [`Mbuf`]s,
//! [`Port`] bring-up with RSS, queue handles owned by one lcore
//! ([`RxQueue`], [`TxQueue`], [`TxBuffer`]) working on fixed [`Burst`]s of
//! up to 32 mbufs, typed [`Ring`]s, lcore discovery and launch, the TSC,
//! and [`FlowRule`]s that steer UDP destination ports to rx queues where
//! the driver has rte_flow.
//! DPDK failures become [`Error`] values carrying DPDK's own message.
//!
//! What it is not: a general DPDK binding. It covers what the switch, the
//! perf harness and the tests use, and nothing else.
//!
//! Every `unsafe` block in Clearway lives here or in `dpdk-sys`, each with a
//! `// SAFETY:` line saying why it holds.

pub mod baseline;
mod burst;
mod eal;
mod error;
mod flow;
mod lcore;
mod mbuf;
mod mempool;
mod port;
mod prefetch;
mod queue;
mod ring;
pub mod tsc;

/// EAL arguments for tests and demos: no hugepages, no PCI, 512 MiB, a
/// file prefix unique to this process (`tag` + pid) and no shared config,
/// as one process runs alone.
pub fn test_eal_args(tag: &str) -> Vec<String> {
    vec![
        "--no-huge".into(),
        "-m".into(),
        "512".into(),
        "--no-pci".into(),
        "--no-shconf".into(),
        format!("--file-prefix=clw-{tag}-{}", std::process::id()),
        "--log-level=lib.eal:warning".into(),
        "--no-telemetry".into(),
    ]
}

pub use burst::{Burst, BURST_SIZE};
pub use eal::Eal;
pub use error::{Error, Result};
pub use flow::{Flow, FlowError, FlowErrorKind, FlowRule};
pub use lcore::{launch, LcoreHandle, LcoreId};
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use port::{LinkStatus, Port, PortConfig, PortId, PortStats, RingPairPort};
pub use prefetch::prefetch0;
pub use queue::{RxQueue, TxBuffer, TxQueue};
pub use ring::{Consumer, Producer, Ring, RingItem, RingMode};
