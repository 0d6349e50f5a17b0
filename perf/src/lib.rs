//! clearway-perf: drives a Clearway switch (or anything speaking its wire
//! contract) over memif or a real NIC and reports TPS, latency and loss
//! against a reflector baseline measured on the same plumbing.
//!
//! What it is: simulated acquirers (each its own IP:port and STAN space)
//! sending ISO 8583 requests built from pre-made templates, simulated
//! issuers answering the switch's forwarded requests (approve/decline by
//! rules, a delay, a silent share), an open-loop token bucket or a closed
//! loop, a PDR sweep, HDR latency histograms, JSON/text/SVG reports, and
//! the reflector used as the baseline. What it is not: a functional test of
//! the switch's business rules (it counts response codes, it does not judge
//! them) or a traffic generator for anything but UDP ISO 8583.
//!
//! The DPDK-free parts (templates, engine, pacing, side table, issuer
//! rules, search, reports) are plain library code tested without a port;
//! [`driver`] and [`reflect`] move mbufs.
#![forbid(unsafe_code)]

pub mod digits;
pub mod driver;
pub mod engine;
pub mod inflight;
pub mod issuer;
pub mod latency;
pub mod mix;
pub mod plot;
pub mod profile;
pub mod rate;
pub mod reflect;
pub mod report;
pub mod sweep;
pub mod template;
