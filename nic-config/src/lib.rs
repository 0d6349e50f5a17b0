//! Host and NIC model, checks and lcore/queue planning for Clearway, and the `clearway-nic` tool.
//!
//! - [`layout`]: the `[dataplane]` table of `clearway.toml` (ports, queues, EAL options, mempool).
//! - [`host`]: what the host offers (CPUs, NUMA, hugepages, IOMMU, drivers), read via a root path.
//! - [`plan`]: layout + host → lcore/queue map, mempool size, EAL argv; `clearwayd` runs this plan.
//!
//! This crate does not touch DPDK: it prepares and checks; `rte` and `clearwayd` run.
#![forbid(unsafe_code)]

pub mod config;
pub mod host;
pub mod layout;
pub mod plan;
pub mod sysfs;

pub use host::HostModel;
pub use layout::{Layout, LayoutError, PortSpec};
pub use plan::{plan, Plan, PlanError};
