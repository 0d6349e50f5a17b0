//! Zero-copy wire formats for the Clearway dataplane.
//!
//! What it is: views over packet buffers (Ethernet II + 802.1Q, ARP, IPv4,
//! ICMP echo, UDP) in the style of smoltcp's `wire` module, and the ISO 8583
//! codec with its frame header. What it is not: anything that owns buffers,
//! touches DPDK or allocates on the decode path.
#![forbid(unsafe_code)]

pub mod frame;
pub mod iso8583;
pub mod net;
