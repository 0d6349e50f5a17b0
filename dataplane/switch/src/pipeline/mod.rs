//! The lcore pipeline: what one switch lcore does with every packet, built
//! on the per-lcore tables of this crate and the DPDK layer (`rte`).
//!
//! A transaction's path (see ARCHITECTURE.md): classify (ARP, ping, UDP to
//! the service port or to this lcore's issuer-facing port) → sender check →
//! frames → ISO 8583 index → requests: format check, duplicate filter,
//! route (field 100, else BIN), reserve check, pending entry + timer,
//! readdress to the issuer; responses: match, readdress to the acquirer;
//! 0800: answered; timers: stand-in 91 and 0420 reversals with back-off.

pub mod admission;
pub mod arp_table;
pub mod config;
pub mod emit;
pub mod handoff;
pub mod hooks;
pub mod lcore;
pub mod rules;
mod stage;

pub use config::SwitchConfig;
pub use hooks::{AlwaysAllow, Commit, Durable, MoneyHooks, MoneyRequest, TxnRef, Verdict};
pub use lcore::{LcoreParts, LcoreQueues, SessionBoard, Shared, SwitchLcore};
