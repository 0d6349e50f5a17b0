//! Known-good frames, byte for byte, through the one-pass header walk and
//! the in-place rewrites the switch uses.
//!
//! The frames are what an acquirer at 192.168.10.1 (02:00:00:00:00:01)
//! sends the switch at 192.168.10.254 (02:00:00:00:00:0a). Checksums were
//! computed independently with Python's `struct` (see
//! `fuzz/make_seeds.py`, which builds the same frames).

use std::net::{Ipv4Addr, SocketAddrV4};

use wire::net::ethernet::{self, Address, EtherType, VlanTag};
use wire::net::headers::{Checks, Class, Headers, UdpFlow, Unhandled};
use wire::net::rewrite::{self, Endpoints};
use wire::net::{arp, icmp, ipv4, udp, Error, ErrorKind, Layer};

const ACQUIRER_MAC: Address = Address([0x02, 0, 0, 0, 0, 0x01]);
const SWITCH_MAC: Address = Address([0x02, 0, 0, 0, 0, 0x0a]);
const ACQUIRER_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 1);
const SWITCH_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 254);

/// "Who has 192.168.10.254? Tell 192.168.10.1", broadcast.
#[rustfmt::skip]
const ARP_REQUEST: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src: acquirer
    0x08, 0x06,                         // ARP
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet/IPv4, request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0xa8, 0x0a, 0x01, // sender
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x0a, 0xfe, // target
];

/// Ping: echo request ident 0x1234 seq 1, data "abcd".
#[rustfmt::skip]
const PING: [u8; 46] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00,
    0x45, 0x00, 0x00, 0x20, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01, // len 32, DF, TTL 64, ICMP
    0x88, 0x47, 0xc0, 0xa8, 0x0a, 0x01, 0xc0, 0xa8, 0x0a, 0xfe, // checksum 0x8847
    0x08, 0x00, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01,             // echo request, cksum 0x2104
    0x61, 0x62, 0x63, 0x64,
];

/// UDP 192.168.10.1:40000 -> 192.168.10.254:8583, payload "hello".
#[rustfmt::skip]
const UDP_HELLO: [u8; 47] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x0a,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x00,
    0x45, 0x00, 0x00, 0x21, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, // len 33, DF, TTL 64, UDP
    0x88, 0x36, 0xc0, 0xa8, 0x0a, 0x01, 0xc0, 0xa8, 0x0a, 0xfe, // checksum 0x8836
    0x9c, 0x40, 0x21, 0x87, 0x00, 0x0d, 0x67, 0xea,             // 40000 -> 8583, len 13, 0x67ea
    0x68, 0x65, 0x6c, 0x6c, 0x6f,
];

fn acquirer_to_switch() -> UdpFlow {
    UdpFlow {
        src: SocketAddrV4::new(ACQUIRER_IP, 40000),
        dst: SocketAddrV4::new(SWITCH_IP, 8583),
    }
}

/// Re-checks a frame from scratch: every checksum valid and consistent.
fn assert_valid_udp(frame: &[u8]) -> Headers {
    let headers = Headers::parse(frame).expect("rewritten frame must parse with all checks");
    let ip = ipv4::Packet::new_checked(&frame[headers.l3..]).unwrap();
    assert_eq!(ip.checksum(), ip.compute_checksum());
    let datagram = udp::Packet::new_checked(&frame[headers.l4..headers.end]).unwrap();
    if datagram.checksum() != 0 {
        assert_eq!(
            datagram.checksum(),
            datagram.compute_checksum(ip.src_addr(), ip.dst_addr())
        );
    }
    headers
}

#[test]
fn arp_request_is_classified_and_answered_in_place() {
    let headers = Headers::parse(&ARP_REQUEST).unwrap();
    assert_eq!(
        headers.class,
        Class::Arp {
            operation: arp::Operation::Request,
            target: SWITCH_IP
        }
    );
    assert_eq!((headers.l3, headers.end), (14, 42));

    let mut frame = ARP_REQUEST;
    rewrite::answer_arp(&mut frame, &headers, SWITCH_MAC).unwrap();
    let eth = ethernet::Frame::new_checked(&frame[..]).unwrap();
    assert_eq!(eth.src_addr(), SWITCH_MAC);
    assert_eq!(eth.dst_addr(), ACQUIRER_MAC);
    assert_eq!(eth.ethertype(), EtherType::Arp);
    let reply = arp::Repr::parse(&arp::Packet::new_checked(&frame[14..]).unwrap()).unwrap();
    assert_eq!(
        reply,
        arp::Repr {
            operation: arp::Operation::Reply,
            source_hardware_addr: SWITCH_MAC,
            source_protocol_addr: SWITCH_IP,
            target_hardware_addr: ACQUIRER_MAC,
            target_protocol_addr: ACQUIRER_IP,
        }
    );
}

#[test]
fn ping_is_classified_and_answered_with_valid_checksums() {
    let headers = Headers::parse(&PING).unwrap();
    assert_eq!(
        headers.class,
        Class::IcmpEcho {
            request: true,
            src: ACQUIRER_IP,
            dst: SWITCH_IP
        }
    );
    assert_eq!(headers.payload(&PING), b"abcd");

    let mut frame = PING;
    rewrite::answer_echo(&mut frame, &headers, SWITCH_MAC).unwrap();
    let reply = Headers::parse(&frame).unwrap();
    assert_eq!(
        reply.class,
        Class::IcmpEcho {
            request: false,
            src: SWITCH_IP,
            dst: ACQUIRER_IP
        }
    );
    let eth = ethernet::Frame::new_checked(&frame[..]).unwrap();
    assert_eq!((eth.src_addr(), eth.dst_addr()), (SWITCH_MAC, ACQUIRER_MAC));
    let ip = ipv4::Packet::new_checked(&frame[14..]).unwrap();
    assert_eq!(ip.ttl(), ipv4::DEFAULT_TTL);
    assert_eq!(ip.checksum(), ip.compute_checksum());
    let echo = icmp::Packet::new_checked(&frame[34..]).unwrap();
    assert_eq!(echo.checksum(), echo.compute_checksum());
    assert_eq!((echo.echo_ident(), echo.echo_seq_no()), (0x1234, 1));

    // A reply is not answered again, and the frame stays as it was.
    let before = frame;
    assert_eq!(
        rewrite::answer_echo(&mut frame, &reply, SWITCH_MAC)
            .unwrap_err()
            .kind(),
        ErrorKind::NotRequest
    );
    assert_eq!(frame, before);
}

#[test]
fn udp_datagram_gives_offsets_flow_and_payload() {
    let headers = Headers::parse(&UDP_HELLO).unwrap();
    assert_eq!(
        headers,
        Headers {
            vlan: None,
            l3: 14,
            l4: 34,
            payload: 42,
            end: 47,
            class: Class::Udp(acquirer_to_switch()),
        }
    );
    assert_eq!(headers.payload(&UDP_HELLO), b"hello");
    assert_eq!(headers.udp_flow(), Some(acquirer_to_switch()));
}

#[test]
fn ethernet_padding_is_outside_the_datagram() {
    let mut padded = UDP_HELLO.to_vec();
    padded.resize(60, 0);
    let headers = Headers::parse(&padded).unwrap();
    assert_eq!(headers.end, 47);
    assert_eq!(headers.payload(&padded), b"hello");
}

#[test]
fn vlan_tagged_udp_keeps_the_tag_and_shifts_offsets_by_four() {
    let mut tagged = UDP_HELLO[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0xa0, 0x64]); // PCP 5, VID 100
    tagged.extend_from_slice(&UDP_HELLO[12..]);
    let headers = Headers::parse(&tagged).unwrap();
    assert_eq!(
        headers.vlan,
        Some(VlanTag {
            priority: 5,
            drop_eligible: false,
            vlan_id: 100
        })
    );
    assert_eq!((headers.l3, headers.l4, headers.payload), (18, 38, 46));
    assert_eq!(headers.class, Class::Udp(acquirer_to_switch()));

    // The tag survives a reflect.
    let reflected = rewrite::reflect_udp(&mut tagged, &headers).unwrap();
    assert_eq!(assert_valid_udp(&tagged), reflected);
    assert_eq!(reflected.vlan, headers.vlan);
}

#[test]
fn stacked_vlan_tags_are_other_traffic() {
    let mut qinq = UDP_HELLO[..12].to_vec();
    qinq.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64]);
    qinq.extend_from_slice(&UDP_HELLO[12..]);
    let headers = Headers::parse(&qinq).unwrap();
    assert_eq!(headers.class, Class::Other(Unhandled::EtherType(0x8100)));
}

#[test]
fn ip_options_are_skipped() {
    // IHL 6 with a router-alert-sized option of NOP NOP NOP EOL.
    let mut frame = UDP_HELLO[..34].to_vec();
    frame.extend_from_slice(&[0x01, 0x01, 0x01, 0x00]);
    frame.extend_from_slice(&UDP_HELLO[34..]);
    frame[14] = 0x46;
    frame[16..18].copy_from_slice(&37u16.to_be_bytes());
    ipv4::Packet::new_checked(&mut frame[14..])
        .unwrap()
        .fill_checksum();
    let headers = Headers::parse(&frame).unwrap();
    assert_eq!((headers.l4, headers.payload), (38, 46));
    assert_eq!(headers.payload(&frame), b"hello");
}

#[test]
fn fragments_are_a_distinct_drop_reason() {
    let mut frame = UDP_HELLO;
    frame[20] = 0x20; // MF, offset 0
    frame[21] = 0x00;
    ipv4::Packet::new_checked(&mut frame[14..])
        .unwrap()
        .fill_checksum();
    assert_eq!(
        Headers::parse(&frame).unwrap_err(),
        Error::Fragmented {
            offset: 20,
            more_fragments: true,
            fragment_offset: 0
        }
    );
}

#[test]
fn corrupt_payload_fails_the_udp_checksum_unless_the_nic_checked_it() {
    let mut frame = UDP_HELLO;
    frame[46] = b'O';
    let err = Headers::parse(&frame).unwrap_err();
    assert_eq!(
        err,
        Error::BadChecksum {
            layer: Layer::Udp,
            offset: 40,
            found: 0x67ea,
            expected: 0x87ea
        }
    );
    assert!(Headers::parse_with(&frame, Checks::NONE).is_ok());
}

#[test]
fn corrupt_ip_header_fails_the_header_checksum() {
    let mut frame = UDP_HELLO;
    frame[22] = 1; // TTL
    let err = Headers::parse(&frame).unwrap_err();
    assert_eq!(
        (err.kind(), err.layer(), err.offset()),
        (ErrorKind::BadChecksum, Layer::Ipv4, 24)
    );
}

#[test]
fn unhandled_traffic_is_classified_not_rejected() {
    let mut tcp = UDP_HELLO;
    tcp[23] = 6;
    ipv4::Packet::new_checked(&mut tcp[14..])
        .unwrap()
        .fill_checksum();
    assert_eq!(
        Headers::parse(&tcp).unwrap().class,
        Class::Other(Unhandled::IpProtocol(6))
    );

    let mut ipv6 = UDP_HELLO;
    ipv6[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    assert_eq!(
        Headers::parse(&ipv6).unwrap().class,
        Class::Other(Unhandled::EtherType(0x86dd))
    );

    let mut unreachable = PING;
    unreachable[34] = 3;
    unreachable[35] = 3;
    assert_eq!(
        Headers::parse(&unreachable).unwrap().class,
        Class::Other(Unhandled::Icmp {
            icmp_type: 3,
            code: 3
        })
    );
}

#[test]
fn errors_point_at_the_frame_offset_of_the_bad_layer() {
    // Cut inside the UDP header: the UDP layer starts at byte 34.
    let mut short = UDP_HELLO[..38].to_vec();
    short[16..18].copy_from_slice(&24u16.to_be_bytes());
    ipv4::Packet::new_checked(&mut short[14..])
        .unwrap()
        .fill_checksum();
    assert_eq!(
        Headers::parse(&short).unwrap_err(),
        Error::Truncated {
            layer: Layer::Udp,
            offset: 34,
            needed: 8,
            available: 4
        }
    );
    // IP says more than the frame holds.
    assert_eq!(
        Headers::parse(&UDP_HELLO[..46]).unwrap_err(),
        Error::Truncated {
            layer: Layer::Ipv4,
            offset: 14,
            needed: 33,
            available: 32
        }
    );
}

#[test]
fn every_truncation_of_every_frame_is_an_error() {
    for frame in [&ARP_REQUEST[..], &PING[..], &UDP_HELLO[..]] {
        for len in 0..frame.len() {
            assert!(Headers::parse(&frame[..len]).is_err(), "len {len}");
        }
    }
}

#[test]
fn request_is_readdressed_from_acquirer_to_issuer() {
    let issuer_mac = Address([0x02, 0, 0, 0, 0, 0x20]);
    let to = Endpoints {
        src_mac: SWITCH_MAC,
        dst_mac: issuer_mac,
        src: SocketAddrV4::new(Ipv4Addr::new(10, 20, 0, 1), 50001),
        dst: SocketAddrV4::new(Ipv4Addr::new(10, 30, 0, 7), 8583),
    };
    let mut frame = UDP_HELLO;
    let headers = Headers::parse(&frame).unwrap();
    let moved = rewrite::readdress_udp(&mut frame, &headers, &to).unwrap();
    let reparsed = assert_valid_udp(&frame);
    assert_eq!(reparsed, moved);
    assert_eq!(
        reparsed.udp_flow(),
        Some(UdpFlow {
            src: to.src,
            dst: to.dst
        })
    );
    let eth = ethernet::Frame::new_checked(&frame[..]).unwrap();
    assert_eq!((eth.src_addr(), eth.dst_addr()), (SWITCH_MAC, issuer_mac));
    assert_eq!(reparsed.payload(&frame), b"hello");
}

#[test]
fn zero_udp_checksum_stays_zero_through_every_rewrite() {
    let mut frame = UDP_HELLO;
    frame[40..42].fill(0);
    let headers = Headers::parse(&frame).unwrap();
    let to = Endpoints {
        src_mac: SWITCH_MAC,
        dst_mac: ACQUIRER_MAC,
        src: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1),
        dst: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 2),
    };
    let headers = rewrite::readdress_udp(&mut frame, &headers, &to).unwrap();
    let headers = rewrite::reflect_udp(&mut frame, &headers).unwrap();
    assert_eq!(Headers::parse(&frame).unwrap(), headers);
    let headers = rewrite::set_udp_payload_len(&mut frame, &headers, 3).unwrap();
    assert_eq!(&frame[40..42], &[0, 0]);
    assert_valid_udp(&frame[..headers.end]);
}

#[test]
fn response_longer_than_request_gets_new_lengths_and_checksums() {
    let mut frame = UDP_HELLO.to_vec();
    let request = Headers::parse(&frame).unwrap();
    let headers = rewrite::reflect_udp(&mut frame, &request).unwrap();
    let response = b"hello, acquirer";
    frame.truncate(headers.payload);
    frame.extend_from_slice(response);
    let resized = rewrite::set_udp_payload_len(&mut frame, &headers, response.len()).unwrap();
    assert_eq!(resized.end, frame.len());
    let reparsed = assert_valid_udp(&frame);
    assert_eq!(reparsed, resized);
    assert_eq!(reparsed.payload(&frame), response);
    assert_eq!(
        reparsed.udp_flow().unwrap().dst,
        SocketAddrV4::new(ACQUIRER_IP, 40000)
    );
}

#[test]
fn resize_beyond_the_buffer_or_ipv4_maximum_is_refused() {
    let mut frame = UDP_HELLO;
    let headers = Headers::parse(&frame).unwrap();
    assert!(matches!(
        rewrite::set_udp_payload_len(&mut frame, &headers, 6),
        Err(Error::Truncated { .. })
    ));
    assert_eq!(
        rewrite::set_udp_payload_len(&mut frame, &headers, 65_535).unwrap_err(),
        Error::TooLong {
            layer: Layer::Ipv4,
            offset: 16,
            len: 20 + 8 + 65_535,
            max: 65_535
        }
    );
    assert_eq!(frame, UDP_HELLO, "a refused resize changes nothing");
}

#[test]
fn rewrites_with_headers_of_another_frame_never_panic() {
    let headers = Headers::parse(&UDP_HELLO).unwrap();
    for len in 0..UDP_HELLO.len() {
        let mut short = UDP_HELLO[..len].to_vec();
        assert!(rewrite::reflect_udp(&mut short, &headers).is_err());
        assert!(rewrite::set_udp_payload_len(&mut short, &headers, 5).is_err());
    }
    let mut ping = PING;
    assert!(rewrite::reflect_udp(&mut ping, &Headers::parse(&PING).unwrap()).is_err());
}

#[test]
fn seed_corpus_frames_classify_as_named() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/net_headers");
    let read = |name: &str| std::fs::read(format!("{dir}/{name}")).unwrap();
    assert!(matches!(
        Headers::parse(&read("seed-arp-request")).unwrap().class,
        Class::Arp { .. }
    ));
    assert!(matches!(
        Headers::parse(&read("seed-icmp-echo")).unwrap().class,
        Class::IcmpEcho { request: true, .. }
    ));
    for name in ["seed-udp-iso", "seed-udp-vlan", "seed-udp-options"] {
        assert!(
            matches!(Headers::parse(&read(name)).unwrap().class, Class::Udp(_)),
            "{name}"
        );
    }
    assert_eq!(
        Headers::parse(&read("seed-ipv4-fragment"))
            .unwrap_err()
            .kind(),
        ErrorKind::Fragmented
    );
}
