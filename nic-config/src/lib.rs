//! Host and NIC model, checks and lcore/queue planning for Clearway, and the `clearway-nic` tool.
//!
//! - [`layout`]: the `[dataplane]` table of `clearway.toml` (ports, queues, EAL options, mempool).
//! - [`host`]: what the host offers (CPUs, NUMA, hugepages, IOMMU, drivers), read via a root path.
//! - [`plan`]: layout + host → lcore/queue map, mempool size, EAL argv; `clearwayd` runs this plan.
//! - [`check`]: the pass/warn/fail host table with one fix per line.
//! - [`bind`]: PCI driver binding via `driver_override` (what dpdk-devbind does), with an in-use guard.
//! - [`service`]: the systemd unit for `clearwayd`, derived from the same plan.
//! - [`config`], [`sysfs`], [`usage`]: reading `clearway.toml`, the root-relative `/proc` and
//!   `/sys`, and whether a kernel interface carries routes or addresses.
//!
//! This crate does not touch DPDK: it prepares and checks; `rte` and `clearwayd` run.
#![forbid(unsafe_code)]

pub mod bind;
pub mod check;
pub mod config;
pub mod host;
pub mod layout;
pub mod plan;
pub mod service;
pub mod sysfs;
pub mod usage;

pub use host::HostModel;
pub use layout::{Layout, LayoutError, PortSpec};
pub use plan::{plan, Plan, PlanError};
