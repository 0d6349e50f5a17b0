//! The generator and issuer simulator against a switch written in the test:
//! it forwards each request to the issuer owning the PAN's BIN from its own
//! lcore port, returns the issuer's answer to the acquirer, answers 0800
//! itself and stands in with 91 when an issuer stays silent. Every request
//! must come back exactly once, with the response code the rules give.

use std::net::SocketAddrV4;

use clearway_perf::engine::{Action, Engine, EngineOptions};
use clearway_perf::issuer::answer_in_place;
use clearway_perf::profile::Profile;
use clearway_perf::template::arp_request;
use wire::iso8583::{FieldIndex, Message, Spec};
use wire::net::ethernet::Address;
use wire::net::headers::{Class, Headers};
use wire::net::rewrite::{answer_arp, readdress_udp, Endpoints};

const OUR_MAC: Address = Address([2, 0, 0, 0, 0, 0xaa]);
const SWITCH_MAC: Address = Address([2, 0, 0, 0, 0, 1]);
const HZ: u64 = 1_000_000_000;

fn engine(profile: &Profile, switch_mac: Option<Address>) -> Engine {
    Engine::new(
        profile,
        &EngineOptions {
            our_mac: OUR_MAC,
            switch_mac,
            hz: HZ,
            udp_checksum: true,
            verify: true,
            window: 1 << 12,
            first_seq: 1_000,
            unix_start: 1_700_000_000,
        },
    )
    .unwrap()
}

fn message<'a>(frame: &'a [u8], spec: &'a Spec) -> (Headers, Message<'a>) {
    let h = Headers::parse(frame).expect("valid frame with valid checksums");
    let payload = h.payload(frame);
    let m = Message::decode(&payload[2..], spec).expect("valid ISO 8583");
    (h, m)
}

#[test]
fn every_request_is_answered_exactly_once_through_issuers_and_stand_ins() {
    let spec = Spec::builtin("default").unwrap();
    let mut profile = Profile::builtin();
    profile.issuers[1].silent_share = 0.1;
    let mut e = engine(&profile, Some(SWITCH_MAC));
    let switch_ip = profile.target.switch_ip;
    let issuer_addr = |i: usize| SocketAddrV4::new(profile.issuers[i].ip, profile.issuers[i].port);

    const N: u64 = 5_000;
    let mut expected_51 = 0u64;
    let mut silent = 0u64;
    let mut buf = vec![0u8; 2048];
    let mut now = 0u64;
    for _ in 0..N {
        now += 1_000;
        // As the driver does each turn: frees answered slots, counts the overdue.
        e.expire(now, HZ);
        let n = e.next_request(&mut buf, now).expect("window has room");
        let request = buf[..n].to_vec();
        let (h, m) = message(&request, spec);
        let Class::Udp(from) = h.class else {
            panic!("UDP")
        };
        assert_eq!(*from.dst.ip(), switch_ip);
        let mti = m.mti_digits();
        let mut index = FieldIndex::EMPTY;
        index
            .decode_into(&request[h.payload + 2..h.end], spec)
            .unwrap();
        if &mti == b"0800" {
            // The switch answers echoes itself.
            let n = answer_in_place(&mut buf, &h, &index, spec, b"00", None).unwrap();
            assert_eq!(e.on_frame(&mut buf, n, now), Action::Drop);
            continue;
        }
        let pan = m.field(2).expect("routed requests carry a PAN");
        let issuer = if pan[0] == b'4' { 0 } else { 1 };
        if issuer == 0 && m.field_str(4).unwrap().parse::<u64>().unwrap() > 90_000 {
            expected_51 += 1;
        }
        // Forward from the switch's lcore port 8600 to the issuer.
        let to_issuer = Endpoints {
            src_mac: SWITCH_MAC,
            dst_mac: OUR_MAC,
            src: SocketAddrV4::new(switch_ip, 8600),
            dst: issuer_addr(issuer),
        };
        readdress_udp(&mut buf[..n], &h, &to_issuer).unwrap();
        match e.on_frame(&mut buf, n, now) {
            Action::Send(len) => {
                let (hr, r) = message(&buf[..len], spec);
                let Class::Udp(back) = hr.class else {
                    panic!("UDP")
                };
                assert_eq!(
                    back.dst,
                    SocketAddrV4::new(switch_ip, 8600),
                    "answers the lcore port"
                );
                assert_eq!(back.src, issuer_addr(issuer));
                assert_eq!(&r.mti_digits()[..3], &[mti[0], mti[1], mti[2] + 1]);
                for f in [7, 11, 37] {
                    assert_eq!(r.field(f), m.field(f), "issuer echoes field {f}");
                }
                // The switch returns it to the acquirer from its service port.
                let to_acquirer = Endpoints {
                    src_mac: SWITCH_MAC,
                    dst_mac: OUR_MAC,
                    src: SocketAddrV4::new(switch_ip, 8583),
                    dst: from.src,
                };
                readdress_udp(&mut buf[..len], &hr, &to_acquirer).unwrap();
                assert_eq!(e.on_frame(&mut buf, len, now + 500), Action::Drop);
            }
            Action::Drop => {
                silent += 1;
                // Stand-in 91 built from the request as the acquirer sent it.
                buf[..n].copy_from_slice(&request);
                let len = answer_in_place(&mut buf, &h, &index, spec, b"91", None).unwrap();
                assert_eq!(e.on_frame(&mut buf, len, now + 500), Action::Drop);
            }
            other => panic!("issuer with no delay answers at once: {other:?}"),
        }
    }
    let c = e.counters.clone();
    assert_eq!(c.sent, N);
    assert_eq!(c.answered, N, "every request answered");
    assert_eq!(
        c.duplicates + c.unknown + c.late + c.lost + c.malformed + c.stray,
        0
    );
    assert_eq!(e.inflight.open(), 0);
    assert_eq!(c.codes.0[51], expected_51);
    assert!(expected_51 > 0, "some amounts exceed the limit");
    assert_eq!(c.timeouts, silent);
    assert_eq!(c.issuer_silent, silent);
    assert!(silent > 0 && c.codes.0[5] > 0);
    assert_eq!(
        c.codes.0[0] + c.codes.0[5] + c.codes.0[51] + c.codes.0[91],
        N
    );
    assert_eq!(
        e.latency.count(),
        N - silent,
        "stand-ins are not latency samples"
    );
}

#[test]
fn a_second_answer_and_an_answer_nobody_asked_for_are_counted_not_matched() {
    let spec = Spec::builtin("default").unwrap();
    let profile = Profile::builtin();
    let mut e = engine(&profile, Some(SWITCH_MAC));
    let mut buf = vec![0u8; 2048];
    // Make the first request an echo so the "switch" answers it directly.
    let mut n;
    loop {
        n = e.next_request(&mut buf, 10).unwrap();
        let (_, m) = message(&buf[..n], spec);
        if &m.mti_digits() == b"0800" {
            break;
        }
    }
    let request = buf[..n].to_vec();
    let (h, _) = message(&request, spec);
    let mut index = FieldIndex::EMPTY;
    index
        .decode_into(&request[h.payload + 2..h.end], spec)
        .unwrap();
    let len = answer_in_place(&mut buf, &h, &index, spec, b"00", None).unwrap();
    let answer = buf[..len].to_vec();
    let before = e.counters.answered;
    e.on_frame(&mut buf, len, 20);
    buf[..len].copy_from_slice(&answer);
    e.on_frame(&mut buf, len, 30);
    assert_eq!(e.counters.answered, before + 1);
    assert_eq!(e.counters.duplicates, 1);
    // The same answer with another STAN matches nothing.
    let (ha, _) = message(&answer, spec);
    let mut forged = answer.clone();
    let stan_at = ha.payload + 2 + index.get(11).unwrap().start as usize;
    forged[stan_at..stan_at + 6].copy_from_slice(b"999999");
    // Fix the UDP checksum by zeroing it (no checksum is allowed in IPv4).
    forged[ha.l4 + 6..ha.l4 + 8].fill(0);
    buf[..len].copy_from_slice(&forged);
    e.on_frame(&mut buf, len, 40);
    assert_eq!(e.counters.unknown, 1);
}

#[test]
fn arp_is_answered_for_our_addresses_and_the_switch_mac_is_learnt() {
    let profile = Profile::builtin();
    let mut e = engine(&profile, None);
    assert_eq!(e.switch_mac(), None);
    let mut buf = vec![0u8; 128];
    // The switch asks for the first acquirer.
    let n = arp_request(
        &mut buf,
        SWITCH_MAC,
        profile.target.switch_ip,
        profile.acquirers[0].ip,
    );
    assert_eq!(e.on_frame(&mut buf, n, 0), Action::Send(n));
    let h = Headers::parse(&buf[..n]).unwrap();
    assert!(matches!(
        h.class,
        Class::Arp {
            operation: wire::net::arp::Operation::Reply,
            ..
        }
    ));
    assert_eq!(&buf[6..12], OUR_MAC.as_bytes(), "answered from our MAC");
    // An address we do not simulate is ignored.
    let n = arp_request(
        &mut buf,
        SWITCH_MAC,
        profile.target.switch_ip,
        "10.9.9.9".parse().unwrap(),
    );
    assert_eq!(e.on_frame(&mut buf, n, 0), Action::Drop);
    // Our ARP for the switch, answered by it: learnt.
    let n = e.arp_for_switch(&mut buf);
    let h = Headers::parse(&buf[..n]).unwrap();
    answer_arp(&mut buf[..n], &h, SWITCH_MAC).unwrap();
    e.on_frame(&mut buf, n, 0);
    assert_eq!(e.switch_mac(), Some(SWITCH_MAC));
    let mut req = vec![0u8; 2048];
    let n = e.next_request(&mut req, 0).unwrap();
    assert_eq!(
        &req[..6],
        SWITCH_MAC.as_bytes(),
        "requests now go to the switch's MAC"
    );
    assert!(n >= 300);
}

#[test]
fn issuer_delay_defers_the_answer_and_is_left_out_of_the_latency() {
    let spec = Spec::builtin("default").unwrap();
    let mut profile = Profile::builtin();
    profile.load.mix = "0200:1".into();
    profile.issuers[0].delay_us = 200;
    profile.issuers[1].delay_us = 200;
    let mut e = engine(&profile, Some(SWITCH_MAC));
    let mut buf = vec![0u8; 2048];
    let n = e.next_request(&mut buf, 1_000_000).unwrap();
    let request = buf[..n].to_vec();
    let (h, m) = message(&request, spec);
    let Class::Udp(from) = h.class else { panic!() };
    let issuer = if m.field(2).unwrap()[0] == b'4' { 0 } else { 1 };
    let to_issuer = Endpoints {
        src_mac: SWITCH_MAC,
        dst_mac: OUR_MAC,
        src: SocketAddrV4::new(profile.target.switch_ip, 8600),
        dst: SocketAddrV4::new(profile.issuers[issuer].ip, profile.issuers[issuer].port),
    };
    readdress_udp(&mut buf[..n], &h, &to_issuer).unwrap();
    let Action::SendAt(len, due) = e.on_frame(&mut buf, n, 1_000_000) else {
        panic!("delayed")
    };
    assert_eq!(due, 1_000_000 + 200_000, "200 us at 1 GHz");
    let hr = Headers::parse(&buf[..len]).unwrap();
    let back = Endpoints {
        src_mac: SWITCH_MAC,
        dst_mac: OUR_MAC,
        src: SocketAddrV4::new(profile.target.switch_ip, 8583),
        dst: from.src,
    };
    readdress_udp(&mut buf[..len], &hr, &back).unwrap();
    // Answered 230 us after sending: 30 us is the path, 200 us the issuer.
    e.on_frame(&mut buf, len, 1_230_000);
    let p50 = e.latency.quantile_us(0.5);
    assert!((29.9..=30.1).contains(&p50), "{p50}");
}
