//! The switch as a black box on real DPDK (an in-process ring port whose
//! wire ends the test holds): messages in, messages out, counters.
//!
//! Each test is its own process under cargo-nextest (one EAL per process).
//! Time is a fake TSC the test advances, so timeouts are exact and no test
//! depends on the machine's speed.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};
use switch::counters::{DropReason, Event, LATENCY_BOUNDS_US};
use switch::pipeline::{Commit, Durable, MoneyHooks, MoneyRequest, TxnRef, Verdict};
use switch::routes::{RateLimit, RouteSnapshot};
use switch::testkit::*;

/// The scenario network: `lcores` switch lcores on one ring port, the
/// fixture routes, money hooks that allow everything.
fn net(tag: &str, lcores: u16) -> RingNet {
    builder(tag).lcores(lcores).build()
}

/// The scenario network's builder, its EAL named after the test.
fn builder(tag: &str) -> RingNetBuilder {
    RingNet::builder(&format!("sw-{tag}"))
}

fn to_acquirer(o: &Sent) -> bool {
    o.flow.dst == ACQUIRER && o.flow.src == SocketAddrV4::new(SWITCH_IP, 8583)
}

fn to_issuer(o: &Sent, issuer: SocketAddrV4, lcore: u16) -> bool {
    o.flow.dst == issuer && o.flow.src == SocketAddrV4::new(SWITCH_IP, 8600 + lcore)
}

/// Request → issuer, issuer's answer → acquirer, for each request class.
fn approve_round_trip(net: &mut RingNet, mti: &str, stan: u32) {
    approve_round_trip_of(net, &request(mti, stan, PAN));
}

fn approve_round_trip_of(net: &mut RingNet, req: &Msg) {
    let mti = req.mti_str().to_string();
    let req = req.clone();
    net.acquirer_sends(&req);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "{mti}: one message to the issuer: {out:?}");
    assert!(
        to_issuer(&out[0], ISSUER, 0),
        "{mti} routed by BIN to the issuer: {:?}",
        out[0].flow
    );
    assert_eq!(out[0].msg.mti, req.mti, "forwarded unchanged");
    assert_eq!(
        out[0].msg.fields, req.fields,
        "{mti}: every field forwarded as sent"
    );

    net.issuer_sends(&answer(&req, "00"));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "{mti}: the answer goes back");
    assert!(to_acquirer(&out[0]), "{:?}", out[0].flow);
    assert_eq!(out[0].msg.get(39), Some("00"));
    assert_eq!(out[0].msg.get(11), req.get(11));
    assert_eq!(out[0].msg.get(38), Some("A1B2C3"));
}

#[test]
fn approve_path_for_0100_0200_0220_0400() {
    let mut net = net("approve", 1);
    for (i, mti) in ["0100", "0200", "0220", "0400"].into_iter().enumerate() {
        approve_round_trip(&mut net, mti, 100 + i as u32);
    }
    let c = net.counters();
    assert_eq!(c.event(Event::Rx), 8);
    assert_eq!(c.event(Event::Tx), 8);
    assert_eq!(c.dropped_total(), 0);
    assert_eq!(
        net.lcores[0].pending_len(),
        0,
        "every pending entry was matched"
    );
    // Each answer came 200 µs (one `run`) after its request on the fake
    // clock: all four in the 250 µs bucket.
    assert_eq!(c.latency_count(), 4);
    let bucket = LATENCY_BOUNDS_US.iter().position(|&b| b == 250).unwrap();
    assert_eq!(c.latency_buckets()[bucket], 4, "{:?}", c.latency_buckets());
    assert!(
        (4 * 200..=4 * 250).contains(&c.latency_sum_us),
        "{}",
        c.latency_sum_us
    );
}

#[test]
fn issuer_decline_passes_through_unchanged() {
    let mut net = net("decline", 1);
    let req = request("0200", 7, PAN);
    net.acquirer_sends(&req);
    net.run();
    assert_eq!(net.out().len(), 1);
    net.issuer_sends(&answer(&req, "05"));
    net.run();
    let out = net.out();
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.mti_str(), "0210");
    assert_eq!(out[0].msg.get(39), Some("05"));
}

#[test]
fn field_100_routes_before_the_pan() {
    let mut net = net("f100", 1);
    let req = request("0200", 8, PAN).set(100, ISSUER2_INSTITUTION);
    net.acquirer_sends(&req);
    net.run();
    let out = net.out();
    assert!(
        to_issuer(&out[0], ISSUER2, 0),
        "field 100 wins over the PAN's BIN: {:?}",
        out[0].flow
    );
}

#[test]
fn no_route_is_answered_15_without_reaching_an_issuer() {
    let mut net = net("noroute", 1);
    net.acquirer_sends(&request("0200", 9, PAN_NO_ROUTE));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.mti_str(), "0210");
    assert_eq!(out[0].msg.get(39), Some("15"));
    assert_eq!(out[0].msg.get(35), None, "track data is never echoed");
}

#[test]
fn format_errors_get_30() {
    let mut net = net("format", 1);
    // Missing field 41 (terminal) on a 0200.
    net.acquirer_sends(&request("0200", 10, PAN).without(41));
    // Neither 2 nor 100.
    net.acquirer_sends(&request("0200", 11, PAN).without(2).without(35));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 2);
    for o in &out {
        assert!(to_acquirer(o));
        assert_eq!(o.msg.get(39), Some("30"), "{:?}", o.msg);
    }
    // A message whose bitmap promises more than it carries.
    let mut bytes = request("0200", 12, PAN).encode();
    bytes.truncate(bytes.len() - 5);
    net.acquirer_sends(&bytes);
    net.run();
    let out = net.out();
    assert_eq!(
        out.len(),
        1,
        "a known acquirer's broken request is still answered"
    );
    assert_eq!(out[0].msg.mti_str(), "0210");
    assert_eq!(out[0].msg.get(39), Some("30"));
    assert_eq!(net.counters().dropped(DropReason::BadIso), 1, "and counted");
}

#[test]
fn unknown_sender_is_dropped_and_counted() {
    let mut net = net("unknown", 1);
    let stranger = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 99), 40000);
    let wrong_port = SocketAddrV4::new(*ACQUIRER.ip(), 40001);
    for src in [stranger, wrong_port] {
        net.send(src, ACQUIRER_MAC, 8583, 0, &request("0200", 13, PAN));
    }
    net.run();
    assert!(net.out().is_empty());
    assert_eq!(net.counters().dropped(DropReason::UnknownSender), 1);
    assert_eq!(
        net.counters().dropped(DropReason::WrongPort),
        1,
        "the acquirer's IP on another port is counted apart"
    );
}

#[test]
fn a_request_naming_another_institution_in_field_32_is_dropped() {
    let mut net = net("spoof32", 1);
    net.acquirer_sends(&request("0200", 31, PAN).set(32, ISSUER2_INSTITUTION));
    net.acquirer_sends(&request("0200", 32, PAN).set(32, "999"));
    net.run();
    assert!(net.out().is_empty(), "never forwarded, never answered");
    assert_eq!(net.counters().dropped(DropReason::SpoofedInstitution), 2);
    // Its own institution id, or none, passes.
    net.acquirer_sends(&request("0200", 33, PAN));
    net.acquirer_sends(&request("0200", 34, PAN).without(32));
    net.run();
    assert_eq!(
        net.out().iter().filter(|o| to_issuer(o, ISSUER, 0)).count(),
        2
    );
}

#[test]
fn a_captured_request_replayed_after_the_window_is_refused_63() {
    let mut net = net("replay", 1);
    let req = request("0200", 35, PAN);
    approve_round_trip_of(&mut net, &req);
    // Ten minutes later (past the 300 s window) the same bytes come back.
    net.now += rte::tsc::micros_to_ticks(600_000_000, net.hz);
    net.acquirer_sends(&req);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.get(39), Some("63"));
    assert_eq!(net.counters().dropped(DropReason::Stale), 1);
    // A request stamped ten minutes in the past, sent now, fares the same;
    // one within the window goes through.
    net.acquirer_sends(&request("0200", 36, PAN));
    net.acquirer_sends(&request("0200", 37, PAN).set(7, "1127094015"));
    net.run();
    let out = net.out();
    assert_eq!(
        out.iter()
            .filter(|o| to_acquirer(o) && o.msg.get(39) == Some("63"))
            .count(),
        1
    );
    assert_eq!(out.iter().filter(|o| to_issuer(o, ISSUER, 0)).count(), 1);
    // Not a date at all: a format error, not a security one.
    net.acquirer_sends(&request("0200", 38, PAN).set(7, "1399999999"));
    net.run();
    assert_eq!(net.out()[0].msg.get(39), Some("30"));
}

#[test]
fn a_participant_over_its_rate_limit_is_answered_91_and_recovers() {
    let mut net = net("rate", 1);
    let mut ps = participants();
    ps[ACQUIRER_IDX.0 as usize].rate_limit = Some(RateLimit {
        per_second: 10,
        burst: 2,
    });
    let bins = net.routes.load_full().bins_shared();
    net.routes.publish(RouteSnapshot::new(ps, bins).unwrap());
    for i in 0..6 {
        net.acquirer_sends(&request("0200", 40 + i, PAN));
    }
    net.run();
    let out = net.out();
    assert_eq!(
        out.iter().filter(|o| to_issuer(o, ISSUER, 0)).count(),
        3,
        "1 + burst 2"
    );
    let refused: Vec<&Sent> = out.iter().filter(|o| to_acquirer(o)).collect();
    assert_eq!(refused.len(), 3);
    assert!(refused.iter().all(|o| o.msg.get(39) == Some("91")));
    assert_eq!(net.counters().dropped(DropReason::RateLimited), 3);
    // A second later the limit has room again; the refused ones were not
    // remembered as duplicates, so a retry goes through.
    net.now += rte::tsc::micros_to_ticks(1_000_000, net.hz);
    net.acquirer_sends(&request("0200", 45, PAN));
    net.run();
    assert_eq!(
        net.out().iter().filter(|o| to_issuer(o, ISSUER, 0)).count(),
        1
    );
}

#[test]
fn duplicate_is_never_forwarded_twice_and_known_outcome_is_repeated() {
    let mut net = net("dup", 1);
    let req = request("0200", 14, PAN);
    net.acquirer_sends(&req);
    net.acquirer_sends(&req);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "forwarded once");
    assert_eq!(net.counters().dropped(DropReason::Duplicate), 1);
    net.issuer_sends(&answer(&req, "00"));
    net.run();
    assert_eq!(net.out().len(), 1);
    // The acquirer did not hear and repeats (0201): answered from memory.
    let mut repeat = req.clone();
    repeat.mti = *b"0201";
    net.acquirer_sends(&repeat);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(
        to_acquirer(&out[0]),
        "answered by the switch, not forwarded"
    );
    assert_eq!(out[0].msg.get(39), Some("00"));
    assert_eq!(out[0].msg.get(38), Some("A1B2C3"));
    assert_eq!(net.counters().event(Event::DupesAnswered), 1);
}

#[test]
fn silent_issuer_gets_91_stand_in_and_0420_retried_until_0430() {
    let mut net = net("timeout", 1);
    let req = request("0200", 15, PAN);
    net.acquirer_sends(&req);
    net.run();
    assert_eq!(net.out().len(), 1);
    net.advance_ms(4900);
    assert!(net.out().is_empty(), "nothing before the 5 s deadline");
    net.advance_ms(200);
    let out = net.out();
    assert_eq!(out.len(), 2, "{out:?}");
    let stand_in = out
        .iter()
        .find(|o| to_acquirer(o))
        .expect("stand-in to the acquirer");
    assert_eq!(stand_in.msg.mti_str(), "0210");
    assert_eq!(stand_in.msg.get(39), Some("91"));
    assert_eq!(stand_in.msg.get(11), req.get(11));
    let reversal = out
        .iter()
        .find(|o| to_issuer(o, ISSUER, 0))
        .expect("0420 to the issuer");
    assert_eq!(reversal.msg.mti_str(), "0420");
    let f90 = reversal.msg.get(90).expect("original data elements");
    assert_eq!(&f90[..4], "0200");
    assert_eq!(&f90[4..10], req.get(11).unwrap());
    assert_eq!(&f90[10..20], req.get(7).unwrap());
    assert_eq!(reversal.msg.get(35), None, "no card secrets in a reversal");

    // No 0430: retried after 1 s, then after 2 s more.
    net.advance_ms(1100);
    let again = net.out();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].msg.mti_str(), "0420");
    net.advance_ms(2100);
    assert_eq!(net.out().len(), 1, "second retry");

    // The issuer confirms: no more retries.
    net.issuer_sends(&answer(&reversal.msg, "00"));
    net.run();
    assert!(
        net.out().is_empty(),
        "a 0430 is not forwarded to the acquirer"
    );
    net.advance_ms(10_000);
    assert!(net.out().is_empty(), "no retry after the 0430");
    let c = net.counters();
    assert_eq!(c.event(Event::Timeouts), 1);
    assert_eq!(c.event(Event::ReversalsSent), 3);
    assert_eq!(c.event(Event::ReversalsConfirmed), 1);
    assert_eq!(net.lcores[0].pending_len(), 0);

    // The acquirer retries the original later: it gets the same 91.
    let mut repeat = req.clone();
    repeat.mti = *b"0201";
    net.acquirer_sends(&repeat);
    net.run();
    let out = net.out();
    assert_eq!(out[0].msg.get(39), Some("91"));
}

#[test]
fn reversal_gives_up_after_the_attempt_bound() {
    let mut net = builder("giveup")
        .config(|c| c.reversal_attempts = 2)
        .build();
    net.acquirer_sends(&request("0200", 16, PAN));
    net.run();
    net.out();
    net.advance_ms(60_000);
    let sent: Vec<Sent> = net.out();
    assert_eq!(sent.iter().filter(|o| o.msg.mti_str() == "0420").count(), 2);
    let c = net.counters();
    assert_eq!(
        c.event(Event::ReversalsGivenUp),
        1,
        "reported for manual handling"
    );
    assert_eq!(net.lcores[0].pending_len(), 0);
}

#[test]
fn late_response_is_dropped_and_counted() {
    let mut net = net("late", 1);
    let req = request("0200", 17, PAN);
    net.acquirer_sends(&req);
    net.run();
    net.out();
    net.advance_ms(5100);
    assert_eq!(net.out().len(), 2, "stand-in and reversal");
    net.issuer_sends(&answer(&req, "00"));
    net.run();
    assert!(net.out().is_empty(), "the acquirer already has its 91");
    assert_eq!(net.counters().dropped(DropReason::LateResponse), 1);
    // And a response nobody asked for.
    net.issuer_sends(&answer(&request("0200", 999, PAN), "00"));
    net.run();
    assert_eq!(net.counters().dropped(DropReason::UnmatchedResponse), 1);
}

#[test]
fn arp_and_ping_for_the_switch_are_answered() {
    use wire::net::{arp, ethernet, icmp, ipv4};
    let mut net = net("arp", 1);
    let mut f = vec![0u8; 42];
    ethernet::Repr {
        src_addr: ethernet::Address(ACQUIRER_MAC),
        dst_addr: ethernet::Address([0xff; 6]),
        vlan: None,
        ethertype: ethernet::EtherType::Arp,
    }
    .emit(&mut ethernet::Frame::new_unchecked(&mut f[..]));
    arp::Repr {
        operation: arp::Operation::Request,
        source_hardware_addr: ethernet::Address(ACQUIRER_MAC),
        source_protocol_addr: *ACQUIRER.ip(),
        target_hardware_addr: ethernet::Address([0; 6]),
        target_protocol_addr: SWITCH_IP,
    }
    .emit(&mut arp::Packet::new_unchecked(&mut f[14..]));
    net.inject(0, &f);

    let data = b"clearway-ping";
    let mut p = vec![0u8; 14 + 20 + 8 + data.len()];
    ethernet::Repr {
        src_addr: ethernet::Address(ACQUIRER_MAC),
        dst_addr: ethernet::Address(SWITCH_MAC),
        vlan: None,
        ethertype: ethernet::EtherType::Ipv4,
    }
    .emit(&mut ethernet::Frame::new_unchecked(&mut p[..]));
    icmp::Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data,
    }
    .emit(&mut icmp::Packet::new_unchecked(&mut p[34..]));
    ipv4::Repr {
        src_addr: *ACQUIRER.ip(),
        dst_addr: SWITCH_IP,
        protocol: ipv4::Protocol::Icmp,
        payload_len: 8 + data.len(),
        ttl: 64,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut p[14..34]));
    net.inject(0, &p);
    net.run();
    let out = net.raw_out();
    assert_eq!(out.len(), 2);
    let arp_reply = out
        .iter()
        .find(|f| f[12..14] == [0x08, 0x06])
        .expect("ARP reply");
    let a = arp::Packet::new_checked(&arp_reply[14..]).unwrap();
    assert_eq!(a.operation(), arp::Operation::Reply);
    assert_eq!(a.source_hardware_addr().0, SWITCH_MAC);
    assert_eq!(a.source_protocol_addr(), SWITCH_IP);
    assert_eq!(&arp_reply[..6], &ACQUIRER_MAC);
    let echo = out
        .iter()
        .find(|f| f[12..14] == [0x08, 0x00])
        .expect("echo reply");
    let ip = ipv4::Packet::new_checked(&echo[14..]).unwrap();
    assert_eq!(ip.dst_addr(), *ACQUIRER.ip());
    assert!(ip.verify_checksum());
    let i = icmp::Packet::new_checked(&echo[34..]).unwrap();
    assert_eq!(i.msg_type(), icmp::Message::EchoReply);
    assert!(i.verify_checksum());
    assert_eq!(i.data(), data);
}

#[test]
fn signed_off_issuer_gets_no_traffic_until_it_signs_on() {
    let mut net = net("signoff", 1);
    let sign = |code: &str, stan: &str| {
        Msg::new("0800")
            .set(7, "1127093015")
            .set(11, stan)
            .set(70, code)
    };
    net.send(ISSUER, ISSUER_MAC, 8583, 0, &sign("002", "000001"));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].msg.mti_str(), "0810");
    assert_eq!(out[0].msg.get(39), Some("00"));
    assert_eq!(out[0].flow.dst, ISSUER);

    net.acquirer_sends(&request("0200", 18, PAN));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(to_acquirer(&out[0]), "not forwarded to a signed-off issuer");
    assert_eq!(out[0].msg.get(39), Some("91"));

    net.send(ISSUER, ISSUER_MAC, 8583, 0, &sign("001", "000002"));
    net.run();
    net.out();
    net.acquirer_sends(&request("0200", 19, PAN));
    net.run();
    assert!(
        to_issuer(&net.out()[0], ISSUER, 0),
        "forwarded again after sign-on"
    );
}

#[test]
fn route_table_swapped_during_traffic_loses_nothing() {
    let mut net = net("swap", 1);
    let (mut forwarded, mut answered) = (0, 0);
    let mut settle = |net: &mut RingNet| {
        net.run();
        for o in net.out() {
            if to_issuer(&o, ISSUER, 0) {
                forwarded += 1;
                net.issuer_sends(&answer(&o.msg, "00"));
            } else {
                assert!(to_acquirer(&o), "{:?}", o.flow);
                assert_eq!(o.msg.get(39), Some("00"));
                answered += 1;
            }
        }
    };
    // Two tables built once (one with 100,000 prefixes), swapped in turn
    // between bursts: the swap itself is what is under test.
    let big = snapshot(100_000).bins_shared();
    let small = snapshot(0).bins_shared();
    for i in 0..2000u32 {
        if i % 100 == 50 {
            let bins = if (i / 100) % 2 == 0 {
                big.clone()
            } else {
                small.clone()
            };
            net.routes
                .publish(switch::routes::RouteSnapshot::new(participants(), bins).unwrap());
        }
        net.acquirer_sends(&request("0200", 10_000 + i, PAN));
        if i % 16 == 15 {
            settle(&mut net);
        }
    }
    for _ in 0..4 {
        settle(&mut net);
    }
    assert_eq!(forwarded, 2000, "every request forwarded once");
    assert_eq!(answered, 2000, "every answer returned");
    assert_eq!(
        net.routes.load().version(),
        21,
        "20 swaps happened during the traffic"
    );
    assert_eq!(
        net.counters().dropped_total(),
        0,
        "no message lost across the swaps"
    );
}

#[test]
fn two_lcores_hand_replies_to_the_lcore_that_owns_the_transaction() {
    let mut net = net("handoff", 2);
    let req = request("0200", 20, PAN);
    // The request arrives on lcore 0's queue; lcore 0 owns the pending entry.
    net.acquirer_sends(&req);
    net.run();
    let out = net.out();
    assert!(
        to_issuer(&out[0], ISSUER, 0),
        "sent from lcore 0's port 8600"
    );
    // The NIC puts the reply on lcore 1's queue (no flow steering).
    net.send(ISSUER, ISSUER_MAC, 8600, 1, &answer(&req, "00"));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "handed to lcore 0, matched, returned");
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.get(39), Some("00"));
    assert_eq!(net.lcores[0].pending_len(), 0);
    assert_eq!(net.lcores[1].pending_len(), 0);
    assert_eq!(
        net.counters().event(Event::HandedOff),
        1,
        "the slower path is counted where operators see it"
    );
}

/// One datagram from the acquirer carrying `messages`, each in its frame.
fn acquirer_datagram(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = Vec::new();
    for m in messages {
        payload.extend_from_slice(&(m.len() as u16).to_be_bytes());
        payload.extend_from_slice(m);
    }
    acquirer_udp(&payload)
}

#[test]
fn several_frames_in_one_datagram_are_each_switched() {
    let mut net = net("multi", 1);
    let f = acquirer_datagram(&[
        request("0200", 21, PAN).encode(),
        request("0200", 22, PAN2).encode(),
    ]);
    net.inject(0, &f);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out
        .iter()
        .any(|o| to_issuer(o, ISSUER, 0) && o.msg.get(11) == Some("000021")));
    assert!(out
        .iter()
        .any(|o| to_issuer(o, ISSUER2, 0) && o.msg.get(11) == Some("000022")));
}

/// The lcore decodes a whole rx burst and warms its table lines before
/// handling any of it: a burst mixing every kind of datagram must come out
/// as if each had arrived alone, every message handled once with its own
/// decoded fields, a duplicate inside the burst caught.
#[test]
fn a_burst_mixing_every_kind_of_datagram_is_handled_as_one_by_one() {
    let mut net = net("mixed", 1);
    let earlier = request("0200", 40, PAN);
    net.acquirer_sends(&earlier);
    net.run();
    assert_eq!(net.out().len(), 1, "a transaction pending before the burst");

    let a = request("0200", 41, PAN);
    net.acquirer_sends(&a);
    net.acquirer_sends(&request("0200", 42, PAN).without(41)); // format error
    net.inject(
        0,
        &acquirer_datagram(&[
            request("0200", 43, PAN).encode(),
            request("0200", 44, PAN2).encode(),
        ]),
    );
    net.acquirer_sends(&a); // a duplicate within the same burst
    net.issuer_sends(&answer(&earlier, "00"));
    let mut corrupt = udp_frame(
        ACQUIRER,
        ACQUIRER_MAC,
        SocketAddrV4::new(SWITCH_IP, 8583),
        SWITCH_MAC,
        &request("0200", 45, PAN).encode(),
    );
    corrupt[40] ^= 0xff; // UDP checksum
    net.inject(0, &corrupt);
    let stranger = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 99), 40000);
    net.send(stranger, ACQUIRER_MAC, 8583, 0, &request("0200", 46, PAN));
    net.acquirer_sends(&request("0200", 47, PAN2));
    // Payloads too short to hold even a frame header.
    net.inject(0, &acquirer_udp(&[]));
    net.inject(0, &acquirer_udp(&[0]));
    net.run();

    let mut seen: Vec<(String, String, Option<String>)> = net
        .out()
        .iter()
        .map(|o| {
            let to = if to_acquirer(o) {
                "acquirer".to_string()
            } else {
                o.flow.dst.to_string()
            };
            let stan = o.msg.get(11).unwrap_or("").to_string();
            (to, stan, o.msg.get(39).map(str::to_string))
        })
        .collect();
    seen.sort();
    let expect = |to: &str, stan: &str, rc: Option<&str>| {
        (to.to_string(), stan.to_string(), rc.map(str::to_string))
    };
    assert_eq!(
        seen,
        vec![
            expect("10.77.0.20:9100", "000041", None),
            expect("10.77.0.20:9100", "000043", None),
            expect("10.77.0.30:9100", "000044", None),
            expect("10.77.0.30:9100", "000047", None),
            expect("acquirer", "000040", Some("00")),
            expect("acquirer", "000042", Some("30")),
        ]
    );
    let c = net.counters();
    assert_eq!(c.dropped(DropReason::Duplicate), 1);
    assert_eq!(c.dropped(DropReason::BadChecksum), 1);
    assert_eq!(c.dropped(DropReason::UnknownSender), 1);
    assert_eq!(c.dropped(DropReason::BadFrame), 2);
    assert_eq!(
        c.event(Event::Rx),
        11,
        "the earlier request, then one burst of ten"
    );
}

#[test]
fn overload_is_answered_91_before_the_pending_table_fills_and_clears_by_itself() {
    let mut net = builder("full")
        .config(|c| {
            c.pending_capacity = 10;
            c.admission_percent = 80;
        })
        .build();
    for i in 0..12 {
        net.acquirer_sends(&request("0200", 100 + i, PAN));
    }
    net.run();
    let out = net.out();
    let forwarded: Vec<&Sent> = out.iter().filter(|o| to_issuer(o, ISSUER, 0)).collect();
    assert_eq!(forwarded.len(), 8, "80% of 10 admitted");
    let refused: Vec<&Sent> = out.iter().filter(|o| to_acquirer(o)).collect();
    assert_eq!(refused.len(), 4);
    assert!(refused.iter().all(|o| o.msg.get(39) == Some("91")));
    assert_eq!(net.counters().dropped(DropReason::Overloaded), 4);
    assert_eq!(net.counters().dropped(DropReason::PendingFull), 0);
    // The issuer answers; the table drains and a refused request retried
    // is admitted (it was not remembered as a duplicate).
    for o in &forwarded {
        net.send(
            ISSUER,
            ISSUER_MAC,
            o.flow.src.port(),
            0,
            &answer(&o.msg, "00"),
        );
    }
    net.run();
    assert_eq!(net.out().iter().filter(|o| to_acquirer(o)).count(), 8);
    net.acquirer_sends(&request("0200", 111, PAN));
    net.run();
    assert_eq!(
        net.out().iter().filter(|o| to_issuer(o, ISSUER, 0)).count(),
        1
    );
}

/// Money hooks a test steers: declines amounts over a limit, records every
/// approval as a ticket and makes tickets durable (or failed) on command.
struct Journaled {
    limit: u64,
    next: u64,
    durable_upto: Arc<AtomicU64>,
    failed_from: Arc<AtomicU64>,
}

impl MoneyHooks for Journaled {
    fn check(&mut self, req: &MoneyRequest) -> Verdict {
        if req.amount > self.limit {
            Verdict::Decline(*b"51")
        } else {
            Verdict::Allow
        }
    }
    fn outcome(&mut self, _req: &MoneyRequest, _rc: [u8; 2]) {}
    fn outcome_txn(&mut self, _req: &MoneyRequest, _txn: &TxnRef, rc: [u8; 2]) -> Commit {
        if &rc != b"00" {
            return Commit::Now;
        }
        self.next += 1;
        Commit::Wait(self.next)
    }
    fn durable(&mut self, ticket: u64) -> Durable {
        if ticket >= self.failed_from.load(Ordering::Relaxed) {
            Durable::Failed
        } else if ticket <= self.durable_upto.load(Ordering::Relaxed) {
            Durable::Yes
        } else {
            Durable::NotYet
        }
    }
}

#[test]
fn approvals_wait_for_their_journal_record_and_a_failed_record_becomes_96_and_a_reversal() {
    let durable = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(u64::MAX));
    let (d, f) = (durable.clone(), failed.clone());
    let mut net = builder("durable")
        .hooks(move || {
            Box::new(Journaled {
                limit: 50_000,
                next: 0,
                durable_upto: d.clone(),
                failed_from: f.clone(),
            })
        })
        .build();
    // Over the reserve: declined 51 by the switch, never reaches the issuer.
    net.acquirer_sends(&request("0200", 30, PAN).set(4, "000000099999"));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.get(39), Some("51"));

    // Approved by the issuer: held until record 1 is durable.
    let req = request("0200", 31, PAN);
    net.acquirer_sends(&req);
    net.run();
    let fwd = net.out();
    net.issuer_sends(&answer(&fwd[0].msg, "00"));
    net.run();
    assert!(
        net.out().is_empty(),
        "no approval leaves before its record is durable"
    );
    // A repeated issuer answer meanwhile is a duplicate, not a second approval.
    net.issuer_sends(&answer(&fwd[0].msg, "00"));
    net.run();
    assert!(net.out().is_empty());
    durable.store(1, Ordering::Relaxed);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.get(39), Some("00"));

    // The journal fails before record 2 is durable: 96, and a 0420.
    failed.store(2, Ordering::Relaxed);
    let req = request("0200", 32, PAN);
    net.acquirer_sends(&req);
    net.run();
    let fwd = net.out();
    net.issuer_sends(&answer(&fwd[0].msg, "00"));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 2, "{out:?}");
    let to_acq = out
        .iter()
        .find(|o| to_acquirer(o))
        .expect("answer to the acquirer");
    assert_eq!(
        to_acq.msg.get(39),
        Some("96"),
        "never an approval that is not recorded"
    );
    let rev = out
        .iter()
        .find(|o| to_issuer(o, ISSUER, 0))
        .expect("reversal");
    assert_eq!(rev.msg.mti_str(), "0420");
    assert_eq!(
        net.lcores[0].pending_len(),
        1,
        "the reversal is pending its 0430"
    );
}
