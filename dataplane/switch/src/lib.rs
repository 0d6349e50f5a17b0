//! The switch's per-lcore tables and the routing snapshot the lcore pipeline
//! runs on.
//!
//! What this crate is: pure Rust, DPDK-free data structures, each
//! preallocated for a configured capacity when it is built, with no
//! allocation, lock or unbounded loop on the lookup/insert/remove path:
//!
//! * [`bin_table::BinTable`]: longest-prefix PAN → issuer routing (1 M prefixes).
//! * [`routes::RouteSnapshot`] / [`routes::Published`]: participants, field-100
//!   institution map, sender check and BIN table, published RCU-style.
//! * [`pending::PendingTable`]: forwarded requests awaiting the issuer's answer.
//! * [`timer_wheel::TimerWheel`]: deadlines of pending entries.
//! * [`dedup::DuplicateFilter`]: recently seen requests and their outcomes.
//! * [`counters::LcoreCounters`]: per-lcore counters read without locks.
//!
//! What it is not: the lcore loop itself (rx/tx bursts, mbufs, ISO 8583
//! parsing). That is built on these tables by the pipeline modules.
#![forbid(unsafe_code)]

pub mod bin_table;
pub mod counters;
pub mod dedup;
pub mod hash;
pub mod pending;
pub mod pipeline;
pub mod routes;
pub mod slot_index;
pub mod testkit;
pub mod timer_wheel;

/// Index of a participant in the current [`routes::RouteSnapshot`]
/// (position in its participant list), used by every per-lcore table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantIdx(pub u32);
