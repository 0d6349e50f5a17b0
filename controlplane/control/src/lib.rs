//! Clearway's control plane: what operators change and watch while the
//! switch runs.
//!
//! * [`ControlPlane`]: participants and BIN routes, validated, journaled
//!   through a [`sources::ChangeLog`], and published to the lcores RCU-style
//!   (`switch::routes::Published`): never a pause, never a half-applied change.
//! * [`api`]: the HTTP/JSON API on a Unix socket (and optionally TCP with a
//!   bearer token) that `clearctl` speaks, including Prometheus `/metrics`.
//! * [`keys`]: participants' MAC keys: key files loaded into the rings the
//!   lcores verify and seal with, rotation deadlines in the lcores' clock;
//!   the API shows key ids, never keys.
//! * [`sources`]: the traits the daemon implements for the API: live status
//!   and counters, the money state (ledger), journal figures.
//! * [`types`] and [`client`]: the API's JSON documents and a blocking
//!   client; with `default-features = false` the crate is only these, so
//!   `clearctl` does not link the switch.
//!
//! What it is not: the lcore pipeline, the ledger, or the journal; it reads
//! them through traits and never runs on an lcore.
#![forbid(unsafe_code)]

pub mod client;
pub mod types;

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "server")]
mod control_plane;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod keys;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod participant;
#[cfg(feature = "server")]
pub mod sources;
#[cfg(feature = "server")]
pub mod testkit;

#[cfg(feature = "server")]
pub use control_plane::{ControlPlane, MAX_ROUTE_PAGE};
#[cfg(feature = "server")]
pub use error::ControlError;
