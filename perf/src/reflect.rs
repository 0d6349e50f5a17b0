//! The baseline: a minimal reflector on the same plumbing as the switch.
//!
//! Each UDP datagram goes back where it came from (MACs, IPv4 addresses and
//! ports swapped, no checksum work since a one's complement sum does not
//! depend on word order), with the MTI's function digit turned into the
//! response's (0200 -> 0210; one incremental UDP checksum update), so the
//! generator counts it as the answer. ARP requests are answered for any
//! address. That is the least any switch must do per message, so the
//! generator's rate against it is the ceiling for this link and machine.

use std::sync::atomic::{AtomicBool, Ordering};

use rte::{Burst, Mbuf};
use wire::net::checksum;
use wire::net::ethernet::Address;
use wire::net::headers::{Checks, Class, Headers};
use wire::net::rewrite::{answer_arp, reflect_udp};

use crate::driver::Link;

/// What the reflector did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReflectCounts {
    pub reflected: u64,
    pub arp_answered: u64,
    pub dropped: u64,
}

/// Turns one frame into its reflection in place; false to drop it.
pub fn reflect_frame(frame: &mut [u8], our_mac: Address) -> Reflected {
    let Ok(h) = Headers::parse_with(frame, Checks::NONE) else {
        return Reflected::Drop;
    };
    match h.class {
        Class::Udp(_) => {
            if reflect_udp(frame, &h).is_err() {
                return Reflected::Drop;
            }
            answer_mti(frame, &h);
            Reflected::Udp
        }
        Class::Arp {
            operation: wire::net::arp::Operation::Request,
            ..
        } => {
            if answer_arp(frame, &h, our_mac).is_ok() {
                Reflected::Arp
            } else {
                Reflected::Drop
            }
        }
        _ => Reflected::Drop,
    }
}

/// The outcome of [`reflect_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reflected {
    Udp,
    Arp,
    Drop,
}

/// Request MTI -> response MTI (third digit 0->1, 2->3, ...), keeping the
/// UDP checksum valid. The MTI follows the 2-byte frame header.
fn answer_mti(frame: &mut [u8], h: &Headers) {
    let at = h.payload + wire::frame::HEADER_LEN + 2;
    let Some(&digit) = frame.get(at) else { return };
    if !digit.is_ascii_digit() || (digit - b'0') & 1 == 1 || at + 1 >= h.end {
        return;
    }
    // The 16-bit word holding the digit, aligned to the UDP header.
    let word_at = at - (at - h.l4) % 2;
    let old = u16::from_be_bytes([frame[word_at], frame[word_at + 1]]);
    frame[at] = digit + 1;
    let new = u16::from_be_bytes([frame[word_at], frame[word_at + 1]]);
    let sum_at = h.l4 + 6;
    let hc = u16::from_be_bytes([frame[sum_at], frame[sum_at + 1]]);
    if hc != 0 {
        let updated = checksum::udp_on_wire(checksum::update16(hc, old, new));
        frame[sum_at..sum_at + 2].copy_from_slice(&updated.to_be_bytes());
    }
}

/// Reflects until `stop` is set. Never blocks on transmit: what the port
/// refuses waits at the head of the burst while nothing new is received, so
/// the generator (which always keeps receiving) drains it.
pub fn run(link: &mut Link, stop: &AtomicBool) -> ReflectCounts {
    let mut counts = ReflectCounts::default();
    let mut burst = Burst::new();
    let mut spins = 0u32;
    loop {
        if burst.is_empty() {
            // Check the flag now and then, not per empty poll.
            spins = spins.wrapping_add(1);
            if spins & 1023 == 0 && stop.load(Ordering::Relaxed) {
                return counts;
            }
            if link.rx.rx_burst(&mut burst) == 0 {
                continue;
            }
            let mut keep = Burst::new();
            for mut m in burst.drain() {
                match reflect_frame(m.data_mut(), link.mac) {
                    Reflected::Udp => counts.reflected += 1,
                    Reflected::Arp => counts.arp_answered += 1,
                    Reflected::Drop => {
                        counts.dropped += 1;
                        continue;
                    }
                }
                push(&mut keep, m);
            }
            burst = keep;
        }
        link.tx.tx_burst(&mut burst);
        if stop.load(Ordering::Relaxed) {
            return counts;
        }
    }
}

fn push(b: &mut Burst, m: Mbuf) {
    // Cannot overflow: at most as many as were received into a burst.
    let _ = b.push(m);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::RequestKind;
    use crate::template::{FrameEnds, Patch, RequestTemplate};
    use wire::iso8583::{Message, Spec};

    #[test]
    fn a_reflected_request_comes_back_as_its_response_with_valid_checksums() {
        let spec = Spec::builtin("default").unwrap();
        let ends = FrameEnds {
            src_mac: Address([2, 0, 0, 0, 1, 1]),
            dst_mac: Address([2, 0, 0, 0, 0, 1]),
            src: "10.0.1.1:5001".parse().unwrap(),
            dst: "10.0.0.1:8583".parse().unwrap(),
        };
        let t = RequestTemplate::build(
            spec,
            RequestKind::Financial,
            &ends,
            Some("4"),
            b"TERM0001",
            300,
            true,
        )
        .unwrap();
        let mut buf = [0u8; 512];
        let p = Patch {
            stan: 7,
            rrn: 1234,
            time: b"1127190000",
            amount: 500,
            account: 42,
        };
        let n = t.fill(&mut buf, &p);
        assert_eq!(
            reflect_frame(&mut buf[..n], Address([2, 0, 0, 0, 0, 9])),
            Reflected::Udp
        );
        let h = Headers::parse(&buf[..n]).expect("checksums still verify");
        let Class::Udp(flow) = h.class else {
            panic!("udp")
        };
        assert_eq!(flow.dst, ends.src);
        assert_eq!(flow.src, ends.dst);
        let m = Message::decode(&h.payload(&buf[..n])[2..], spec).unwrap();
        assert_eq!(&m.mti_digits(), b"0210");
        assert_eq!(m.field_str(37).unwrap(), "000000001234");
    }
}
