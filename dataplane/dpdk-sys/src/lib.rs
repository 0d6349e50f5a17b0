//! Raw bindings to the system DPDK 22.11 LTS.
//!
//! What it is: bindgen output over the DPDK headers found with pkg-config
//! (EAL, mempool, mbuf, ethdev, rte_flow, ring),
//! plus `clw_*` forwards to DPDK's static-inline fast path (rx/tx burst,
//! mbuf alloc/free, data pointer, headroom ops, ring bursts, lcore id, TSC),
//! compiled from `shim/shim.c`. What it is not: safe. Use the `rte` crate.
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case)]
#![allow(clippy::all, rustdoc::all)]
#![allow(improper_ctypes)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
