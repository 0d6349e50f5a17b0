//! Host and NIC model, checks and planning.
#![forbid(unsafe_code)]
