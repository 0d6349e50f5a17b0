//! Network-layer packet views: Ethernet, ARP, IPv4, ICMP, UDP.
//!
//! Each protocol module follows smoltcp's `wire` pattern: a `Packet<T>` (or
//! `Frame<T>`) view over a borrowed or owned buffer whose `new_checked`
//! validates lengths once so no accessor panics afterwards, a `field` module
//! of byte ranges, and a plain `Repr` with `parse`/`emit`/`buffer_len`.
//! [`headers::Headers::parse`] walks a whole frame in one pass for the
//! switch's classifier, and [`rewrite`] turns a received frame into the one
//! to send without copying it. Nothing here allocates.

pub mod arp;
mod be;
pub mod checksum;
mod error;
pub mod ethernet;
pub mod headers;
pub mod icmp;
pub mod ipv4;
pub mod rewrite;
pub mod udp;

pub use error::{Error, ErrorKind, Layer, Result};
