//! Property tests for the packet views:
//! - no input of any bytes panics a decoder or an accessor after
//!   `new_checked`, and rewrites on whatever parsed keep frames valid;
//! - incremental (RFC 1624) checksum updates equal a full recompute;
//! - `Repr` emit then parse gives the same values back;
//! - every truncation and every single-bit corruption of a valid UDP
//!   frame is refused, never accepted as something else.

use std::net::{Ipv4Addr, SocketAddrV4};

use proptest::prelude::*;
use wire::net::ethernet::{self, Address, EtherType, VlanTag};
use wire::net::headers::{Checks, Class, Headers};
use wire::net::rewrite::{self, Endpoints};
use wire::net::{arp, checksum, icmp, ipv4, udp};

const CASES: u32 = 2000;

/// A valid Ethernet/IPv4/UDP frame's ingredients.
#[derive(Debug, Clone)]
struct UdpFrame {
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    vlan: Option<u16>,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    ttl: u8,
    options: Vec<u8>,
    payload: Vec<u8>,
    zero_checksum: bool,
    padding: usize,
}

impl UdpFrame {
    /// Builds the frame with the crate's own emitters, options spliced in
    /// by hand (the IPv4 `Repr` does not emit options).
    fn build(&self) -> Vec<u8> {
        let eth = ethernet::Repr {
            src_addr: Address(self.src_mac),
            dst_addr: Address(self.dst_mac),
            vlan: self.vlan.map(VlanTag::from_tci),
            ethertype: EtherType::Ipv4,
        };
        let udp_repr = udp::Repr {
            src_port: self.src.port(),
            dst_port: self.dst.port(),
            payload_len: self.payload.len(),
        };
        let ip_header_len = ipv4::field::HEADER_LEN + self.options.len();
        let l3 = eth.buffer_len();
        let l4 = l3 + ip_header_len;
        let end = l4 + udp_repr.buffer_len();
        let mut frame = vec![0u8; end + self.padding];
        eth.emit(&mut ethernet::Frame::new_unchecked(&mut frame[..]));

        let ip_repr = ipv4::Repr {
            src_addr: *self.src.ip(),
            dst_addr: *self.dst.ip(),
            protocol: ipv4::Protocol::Udp,
            payload_len: udp_repr.buffer_len(),
            ttl: self.ttl,
        };
        let mut ip = ipv4::Packet::new_unchecked(&mut frame[l3..end]);
        ip_repr.emit(&mut ip);
        ip.set_version_and_header_len(ip_header_len);
        ip.set_total_len((ip_header_len + udp_repr.buffer_len()) as u16);
        frame[l3 + 20..l4].copy_from_slice(&self.options);
        ipv4::Packet::new_unchecked(&mut frame[l3..end]).fill_checksum();

        frame[l4 + 8..end].copy_from_slice(&self.payload);
        let mut datagram = udp::Packet::new_unchecked(&mut frame[l4..end]);
        udp_repr.emit(&mut datagram, *self.src.ip(), *self.dst.ip());
        if self.zero_checksum {
            datagram.set_checksum(0);
        }
        frame
    }
}

fn socket() -> impl Strategy<Value = SocketAddrV4> {
    (any::<u32>(), any::<u16>()).prop_map(|(ip, port)| SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn udp_frame() -> impl Strategy<Value = UdpFrame> {
    (
        (any::<[u8; 6]>(), any::<[u8; 6]>(), any::<Option<u16>>()),
        (socket(), socket(), any::<u8>()),
        (0usize..=10).prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 4)),
        proptest::collection::vec(any::<u8>(), 0..400),
        (any::<bool>(), 0usize..8),
    )
        .prop_map(
            |((src_mac, dst_mac, vlan), (src, dst, ttl), options, payload, (zero, padding))| {
                UdpFrame {
                    src_mac,
                    dst_mac,
                    vlan,
                    src,
                    dst,
                    ttl,
                    options,
                    payload,
                    zero_checksum: zero,
                    padding,
                }
            },
        )
}

fn endpoints() -> impl Strategy<Value = Endpoints> {
    (any::<[u8; 6]>(), any::<[u8; 6]>(), socket(), socket()).prop_map(|(s, d, src, dst)| {
        Endpoints {
            src_mac: Address(s),
            dst_mac: Address(d),
            src,
            dst,
        }
    })
}

/// A ping (echo request) and an ARP request, as templates to mutate.
fn ping_and_arp() -> [Vec<u8>; 2] {
    let mut ping = UdpFrame {
        src_mac: [2, 0, 0, 0, 0, 1],
        dst_mac: [2, 0, 0, 0, 0, 10],
        vlan: None,
        src: SocketAddrV4::new(Ipv4Addr::new(192, 168, 10, 1), 0),
        dst: SocketAddrV4::new(Ipv4Addr::new(192, 168, 10, 254), 0),
        ttl: 64,
        options: vec![],
        payload: vec![0x5a; 16],
        zero_checksum: false,
        padding: 0,
    }
    .build();
    // Same length as UDP: 8-byte header + 16 bytes; turn it into ICMP.
    let echo = icmp::Repr::EchoRequest {
        ident: 7,
        seq_no: 9,
        data: &[0x5a; 16],
    };
    echo.emit(&mut icmp::Packet::new_unchecked(&mut ping[34..]));
    ping[23] = 1;
    ipv4::Packet::new_unchecked(&mut ping[14..]).fill_checksum();

    let mut arp_frame = vec![0u8; 42];
    ethernet::Repr {
        src_addr: Address([2, 0, 0, 0, 0, 1]),
        dst_addr: Address::BROADCAST,
        vlan: None,
        ethertype: EtherType::Arp,
    }
    .emit(&mut ethernet::Frame::new_unchecked(&mut arp_frame[..]));
    arp::Repr {
        operation: arp::Operation::Request,
        source_hardware_addr: Address([2, 0, 0, 0, 0, 1]),
        source_protocol_addr: Ipv4Addr::new(192, 168, 10, 1),
        target_hardware_addr: Address::ZERO,
        target_protocol_addr: Ipv4Addr::new(192, 168, 10, 254),
    }
    .emit(&mut arp::Packet::new_unchecked(&mut arp_frame[14..]));
    [ping, arp_frame]
}

/// Valid frames of every class with a few bytes overwritten and a random
/// length: inputs that get past the first checks, unlike random bytes.
fn mutated_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        udp_frame(),
        0usize..3,
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(spec, which, writes, cut)| {
            let mut frame = match which {
                0 => spec.build(),
                n => ping_and_arp()[n - 1].clone(),
            };
            for (at, byte) in writes {
                let at = at.index(frame.len());
                frame[at] = byte;
            }
            frame.truncate(cut.index(frame.len() + 1));
            frame
        })
}

/// Full recompute of both checksums must equal what the frame carries.
fn assert_checksums_recomputed(frame: &[u8], headers: &Headers) {
    let ip = ipv4::Packet::new_checked(&frame[headers.l3..]).unwrap();
    assert_eq!(ip.checksum(), ip.compute_checksum(), "ipv4 header checksum");
    let datagram = udp::Packet::new_checked(&frame[headers.l4..headers.end]).unwrap();
    if datagram.checksum() != 0 {
        assert_eq!(
            datagram.checksum(),
            datagram.compute_checksum(ip.src_addr(), ip.dst_addr()),
            "udp checksum"
        );
    }
}

/// Reads every accessor of every view that accepts `bytes`.
fn touch_every_view(bytes: &[u8]) {
    if let Ok(frame) = ethernet::Frame::new_checked(bytes) {
        let _ = (frame.dst_addr(), frame.src_addr(), frame.ethertype());
        let _ = (frame.vlan_tag(), frame.payload_ethertype(), frame.payload());
        let _ = ethernet::Repr::parse(&frame);
    }
    if let Ok(packet) = arp::Packet::new_checked(bytes) {
        let _ = (packet.operation(), packet.source_hardware_addr());
        let _ = (packet.source_protocol_addr(), packet.target_hardware_addr());
        let _ = packet.target_protocol_addr();
        let _ = arp::Repr::parse(&packet);
    }
    if let Ok(packet) = ipv4::Packet::new_checked(bytes) {
        let _ = (packet.version(), packet.header_len(), packet.dscp_ecn());
        let _ = (packet.total_len(), packet.ident(), packet.dont_fragment());
        let _ = (packet.more_fragments(), packet.fragment_offset());
        let _ = (packet.ttl(), packet.protocol(), packet.checksum());
        let _ = (packet.src_addr(), packet.dst_addr(), packet.options());
        let _ = (packet.payload(), packet.verify_checksum());
        let _ = (packet.compute_checksum(), packet.check_unfragmented());
        let _ = ipv4::Repr::parse(&packet);
    }
    if let Ok(packet) = icmp::Packet::new_checked(bytes) {
        let _ = (packet.msg_type(), packet.code(), packet.checksum());
        let _ = (packet.echo_ident(), packet.echo_seq_no(), packet.data());
        let _ = (packet.verify_checksum(), packet.compute_checksum());
        let _ = icmp::Repr::parse(&packet);
    }
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    if let Ok(packet) = udp::Packet::new_checked(bytes) {
        let _ = (packet.src_port(), packet.dst_port(), packet.len());
        let _ = (packet.checksum(), packet.payload());
        let _ = (packet.verify_checksum(a, b), packet.compute_checksum(a, b));
        let _ = udp::Repr::parse(&packet, a, b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn no_bytes_panic_any_view(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        reliability::count_input!("net_headers", "no_bytes_panic_any_view", CASES);
        touch_every_view(&bytes);
        let _ = Headers::parse(&bytes);
    }

    #[test]
    fn no_mutated_frame_panics_any_view_at_any_layer(frame in mutated_frame()) {
        reliability::count_input!("net_headers", "no_mutated_frame_panics_any_view_at_any_layer", CASES);
        let _ = Headers::parse(&frame);
        let _ = Headers::parse_with(&frame, Checks::NONE);
        for start in [0, 14, 18, 34, 38] {
            touch_every_view(frame.get(start..).unwrap_or(&[]));
        }
    }

    #[test]
    fn any_frame_that_parses_survives_every_rewrite(
        bytes in mutated_frame(),
        to in endpoints(),
        new_len in 0usize..64,
    ) {
        reliability::count_input!("net_headers", "any_frame_that_parses_survives_every_rewrite", CASES);
        // Checks::NONE lets frames with broken checksums through too: the
        // rewrites must not panic on them either.
        let Ok(headers) = Headers::parse_with(&bytes, Checks::NONE) else { return Ok(()) };
        let checksums_valid = Headers::parse(&bytes).is_ok();
        let mut frame = bytes.clone();
        match headers.class {
            Class::Arp { .. } => {
                let _ = rewrite::answer_arp(&mut frame, &headers, to.src_mac);
            }
            Class::IcmpEcho { request, .. } => {
                prop_assert_eq!(rewrite::answer_echo(&mut frame, &headers, to.src_mac).is_ok(), request);
                prop_assert_eq!(Headers::parse(&frame).is_ok(), checksums_valid);
            }
            Class::Udp(_) => {
                let moved = rewrite::readdress_udp(&mut frame, &headers, &to).unwrap();
                prop_assert_eq!(Headers::parse_with(&frame, Checks::NONE), Ok(moved));
                if checksums_valid {
                    prop_assert_eq!(Headers::parse(&frame), Ok(moved));
                }
                if let Ok(resized) = rewrite::set_udp_payload_len(&mut frame, &moved, new_len) {
                    prop_assert_eq!(resized.end - resized.payload, new_len);
                    prop_assert!(Headers::parse_with(&frame[..resized.end], Checks::NONE).is_ok());
                }
            }
            Class::Other(_) => {}
        }
    }

    #[test]
    fn valid_udp_frames_parse_to_what_was_built(spec in udp_frame()) {
        reliability::count_input!("net_headers", "valid_udp_frames_parse_to_what_was_built", CASES);
        let frame = spec.build();
        let headers = Headers::parse(&frame).unwrap();
        prop_assert_eq!(headers.payload(&frame), &spec.payload[..]);
        prop_assert_eq!(headers.end, frame.len() - spec.padding);
        prop_assert_eq!(headers.vlan, spec.vlan.map(VlanTag::from_tci));
        let flow = headers.udp_flow().unwrap();
        prop_assert_eq!((flow.src, flow.dst), (spec.src, spec.dst));

        let ip = ipv4::Packet::new_checked(&frame[headers.l3..]).unwrap();
        let ip_repr = ipv4::Repr::parse(&ip).unwrap();
        prop_assert_eq!(ip_repr.ttl, spec.ttl);
        prop_assert_eq!(ip.options(), &spec.options[..]);
        let datagram = udp::Packet::new_checked(ip.payload()).unwrap();
        let udp_repr = udp::Repr::parse(&datagram, ip_repr.src_addr, ip_repr.dst_addr).unwrap();
        prop_assert_eq!(udp_repr.payload_len, spec.payload.len());
    }

    #[test]
    fn incremental_rewrites_equal_full_recompute(
        spec in udp_frame(),
        to in endpoints(),
        ttl in any::<u8>(),
    ) {
        reliability::count_input!("net_headers", "incremental_rewrites_equal_full_recompute", CASES);
        let mut frame = spec.build();
        let headers = Headers::parse(&frame).unwrap();

        let moved = rewrite::readdress_udp(&mut frame, &headers, &to).unwrap();
        assert_checksums_recomputed(&frame, &moved);
        prop_assert_eq!(Headers::parse(&frame), Ok(moved));

        let back = rewrite::reflect_udp(&mut frame, &moved).unwrap();
        assert_checksums_recomputed(&frame, &back);
        prop_assert_eq!(Headers::parse(&frame), Ok(back));

        let mut ip = ipv4::Packet::new_checked(&mut frame[back.l3..]).unwrap();
        ip.replace_ttl(ttl);
        prop_assert_eq!(ip.checksum(), ip.compute_checksum());

        let zero = udp::Packet::new_checked(&frame[back.l4..back.end]).unwrap().checksum() == 0;
        prop_assert_eq!(zero, spec.zero_checksum, "zero stays zero, non-zero never becomes zero");
    }

    #[test]
    fn rfc1624_update_equals_recompute_for_any_word(
        words in proptest::collection::vec(any::<u16>(), 1..40),
        index in any::<prop::sample::Index>(),
        new in any::<u16>(),
    ) {
        // A header-like block whose first word is non-zero (as every IPv4
        // header's is), with a checksum word appended.
        let mut words = words;
        words[0] |= 0x4500;
        let bytes = |w: &[u16]| w.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        let hc = checksum::finish(checksum::data(&bytes(&words)));
        let i = index.index(words.len());
        let old = words[i];
        words[i] = if i == 0 { new | 0x4500 } else { new };
        let full = checksum::finish(checksum::data(&bytes(&words)));
        prop_assert_eq!(checksum::update16(hc, old, words[i]), full);
    }

    #[test]
    fn every_truncation_of_a_valid_frame_is_refused(spec in udp_frame()) {
        reliability::count_input!("net_headers", "every_truncation_of_a_valid_frame_is_refused", CASES);
        let frame = spec.build();
        let end = frame.len() - spec.padding;
        for len in 0..end {
            prop_assert!(Headers::parse(&frame[..len]).is_err(), "len {}", len);
        }
    }

    #[test]
    fn single_bit_corruption_of_ip_or_udp_is_refused(
        spec in udp_frame(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        reliability::count_input!("net_headers", "single_bit_corruption_of_ip_or_udp_is_refused", CASES);
        let frame = spec.build();
        let headers = Headers::parse(&frame).unwrap();
        let at = headers.l3 + position.index(headers.end - headers.l3);
        let mut corrupt = frame.clone();
        corrupt[at] ^= 1 << bit;
        let checksum_field = headers.l4 + 6..headers.l4 + 8;
        let checksum_now_zero = corrupt[checksum_field] == [0, 0];
        // Without a UDP checksum nothing protects the datagram; with one,
        // the only accepted corruption is the checksum flipped to "none".
        let unprotected = spec.zero_checksum && at >= headers.l4;
        prop_assert!(Headers::parse(&corrupt).is_err() || checksum_now_zero || unprotected);
    }

    #[test]
    fn arp_and_icmp_reprs_round_trip(
        op in any::<u16>(),
        macs in any::<([u8; 6], [u8; 6])>(),
        ips in any::<(u32, u32)>(),
        ident in any::<u16>(),
        seq_no in any::<u16>(),
        data in proptest::collection::vec(any::<u8>(), 0..100),
        request in any::<bool>(),
    ) {
        reliability::count_input!("net_headers", "arp_and_icmp_reprs_round_trip", CASES);
        let arp_repr = arp::Repr {
            operation: arp::Operation::from(op),
            source_hardware_addr: Address(macs.0),
            source_protocol_addr: Ipv4Addr::from(ips.0),
            target_hardware_addr: Address(macs.1),
            target_protocol_addr: Ipv4Addr::from(ips.1),
        };
        let mut buf = vec![0u8; arp_repr.buffer_len()];
        arp_repr.emit(&mut arp::Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(arp::Repr::parse(&arp::Packet::new_checked(&buf[..]).unwrap()), Ok(arp_repr));

        let echo = if request {
            icmp::Repr::EchoRequest { ident, seq_no, data: &data }
        } else {
            icmp::Repr::EchoReply { ident, seq_no, data: &data }
        };
        let mut buf = vec![0u8; echo.buffer_len()];
        echo.emit(&mut icmp::Packet::new_unchecked(&mut buf[..]));
        let packet = icmp::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(icmp::Repr::parse(&packet), Ok(echo));
        if request {
            let mut reply = buf.clone();
            let mut packet = icmp::Packet::new_checked(&mut reply[..]).unwrap();
            packet.make_echo_reply().unwrap();
            prop_assert_eq!(packet.checksum(), packet.compute_checksum());
        }
    }
}
