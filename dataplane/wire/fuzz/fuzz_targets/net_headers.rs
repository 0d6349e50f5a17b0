//! Drives every packet view and the one-pass header walk over arbitrary
//! bytes, then the switch's in-place rewrites over whatever parsed.
//!
//! Invariants checked (a violation aborts the run):
//! - nothing panics, whatever the bytes;
//! - `Headers` offsets are ordered and inside the frame;
//! - a frame that parsed with all checksums still does after the rewrite
//!   the switch would apply to it (incremental checksums stay exact).
#![no_main]

use std::net::{Ipv4Addr, SocketAddrV4};

use libfuzzer_sys::fuzz_target;
use wire::net::ethernet::{self, Address};
use wire::net::headers::{Checks, Class, Headers};
use wire::net::rewrite::{self, Endpoints};
use wire::net::{arp, icmp, ipv4, udp};

const SWITCH_MAC: Address = Address([0x02, 0, 0, 0, 0, 0x0a]);

fn touch_views(bytes: &[u8]) {
    if let Ok(frame) = ethernet::Frame::new_checked(bytes) {
        let _ = (frame.dst_addr(), frame.src_addr(), frame.vlan_tag());
        let _ = (frame.payload_ethertype(), frame.payload().len());
        let _ = ethernet::Repr::parse(&frame);
    }
    if let Ok(packet) = arp::Packet::new_checked(bytes) {
        let _ = arp::Repr::parse(&packet);
    }
    if let Ok(packet) = ipv4::Packet::new_checked(bytes) {
        let _ = (packet.options().len(), packet.payload().len());
        let _ = (packet.fragment_offset(), packet.compute_checksum());
        let _ = ipv4::Repr::parse(&packet);
    }
    if let Ok(packet) = icmp::Packet::new_checked(bytes) {
        let _ = (packet.echo_ident(), packet.data().len());
        let _ = icmp::Repr::parse(&packet);
    }
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    if let Ok(packet) = udp::Packet::new_checked(bytes) {
        let _ = (packet.payload().len(), packet.compute_checksum(a, b));
        let _ = udp::Repr::parse(&packet, a, b);
    }
}

fuzz_target!(|data: &[u8]| {
    for start in [0usize, 14, 18, 34] {
        touch_views(data.get(start..).unwrap_or(&[]));
    }
    let _ = Headers::parse_with(data, Checks::NONE);
    let Ok(headers) = Headers::parse(data) else {
        return;
    };
    assert!(headers.l3 <= headers.l4 && headers.l4 <= headers.payload);
    assert!(headers.payload <= headers.end && headers.end <= data.len());

    let mut frame = data.to_vec();
    match headers.class {
        Class::Arp { .. } => {
            let _ = rewrite::answer_arp(&mut frame, &headers, SWITCH_MAC);
            assert!(Headers::parse(&frame).is_ok());
        }
        Class::IcmpEcho { request, .. } => {
            assert_eq!(
                rewrite::answer_echo(&mut frame, &headers, SWITCH_MAC).is_ok(),
                request
            );
            assert!(Headers::parse(&frame).is_ok());
        }
        Class::Udp(flow) => {
            let to = Endpoints {
                src_mac: SWITCH_MAC,
                dst_mac: Address([0x02, 0, 0, 0, 0, 0x20]),
                src: SocketAddrV4::new(Ipv4Addr::new(10, 20, 0, 1), flow.dst.port()),
                dst: SocketAddrV4::new(Ipv4Addr::new(10, 30, 0, 7), 8583),
            };
            let moved = rewrite::readdress_udp(&mut frame, &headers, &to).unwrap();
            assert_eq!(Headers::parse(&frame), Ok(moved));
            let back = rewrite::reflect_udp(&mut frame, &moved).unwrap();
            assert_eq!(Headers::parse(&frame), Ok(back));
            let shorter = (back.end - back.payload) / 2;
            let resized = rewrite::set_udp_payload_len(&mut frame, &back, shorter).unwrap();
            assert_eq!(Headers::parse(&frame[..resized.end]), Ok(resized));
        }
        Class::Other(_) => {}
    }
});
