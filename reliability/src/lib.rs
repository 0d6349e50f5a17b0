//! The reliability test group's record of what each fault-injection
//! scenario did: one JSON row per scenario (faults injected, kill -9
//! restarts, transactions sent / answered / recovered, money before and
//! after, the verdict), written by the scenario tests into
//! `<target>/reliability/`, and the summary table built from all rows,
//! which fails when a scenario's row is missing or shows a loss.
//!
//! What this crate is not: the scenarios themselves (they live beside what
//! they drive: `dataplane/clearwayd/tests/reliability_*.rs` against a real
//! clearwayd, `dataplane/switch/tests/backpressure.rs` on a DPDK ring pair).
#![forbid(unsafe_code)]

pub mod inputs;
pub mod row;
pub mod table;

pub use inputs::{DecoderCount, InputCounter};
pub use row::{rows_dir, Row, RowError, Verdict, DECODER_COUNTS_FILE};
pub use table::{check, render, Summary, EXPECTED_SCENARIOS};
