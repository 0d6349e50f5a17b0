//! The switch pipeline and its per-lcore tables.
#![forbid(unsafe_code)]
