//! The durable journal of money-moving state changes.
#![forbid(unsafe_code)]
