//! clearwayd's library half: `clearway.toml` — parsing, checking, and
//! naming the line of every problem — shared by the daemon (`main.rs`),
//! its tests and the fuzz targets (`fuzz/`), which call
//! [`config::Config::parse`] on arbitrary text.
//!
//! What it is not: the daemon. DPDK, the lcore loops, the journal and the
//! API server stay in the binary.
#![forbid(unsafe_code)]

pub mod config;
