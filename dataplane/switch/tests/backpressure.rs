//! TX back-pressure on real DPDK (an in-process ring port whose wire ends
//! the test holds): the port's TX ring is left full while the switch keeps
//! forwarding requests and, later, sending stand-ins and reversals for
//! them. Whatever the ring would not take must be freed and counted (the
//! switch's `drop_tx_full`); once the ring is drained, every mbuf is back in the pool
//! (in-use count at its baseline) and traffic flows again.
//!
//! Time is a fake TSC the test advances; nothing depends on the machine's
//! speed. It records its row for the reliability summary table.

use switch::counters::{DropReason, Event};
use switch::testkit::*;

/// The TX (and RX) ring size: small, so it fills fast.
const RING: u32 = 256;
/// Requests the acquirer sends while the TX ring is full.
const REQUESTS: u32 = 2000;

/// One switch lcore on a ring port whose rings hold [`RING`] frames.
fn net() -> RingNet {
    RingNet::builder("sw-backpressure").ring_size(RING).build()
}

/// The acquirer sends `count` requests from `first`, half a ring's worth at
/// a time, the lcore running between (past the drain timer each time).
fn acquirer_sends(net: &mut RingNet, first: u32, count: u32) {
    let mut stan = first;
    while stan < first + count {
        let batch = (first + count - stan).min(RING / 2);
        for s in stan..stan + batch {
            net.acquirer_sends(&request("0200", s, PAN));
        }
        stan += batch;
        net.run();
    }
}

/// Takes everything out of the TX ring: (frames, messages to the issuer).
fn drain_tx(net: &mut RingNet) -> (u64, u64) {
    let frames = net.raw_out();
    let to_issuer = frames
        .iter()
        .filter(|f| parse_udp(f).is_some_and(|(flow, _)| flow.dst == ISSUER))
        .count();
    (frames.len() as u64, to_issuer as u64)
}

#[test]
fn a_full_tx_ring_drops_and_counts_never_leaks_an_mbuf_and_traffic_recovers() {
    let started = std::time::Instant::now();
    let mut net = net();
    let baseline = net.pool.in_use();

    // The issuer's link is stuck: nobody takes frames off the TX ring while
    // the acquirer sends 2,000 requests, then every one of them times out
    // (stand-in 91 to the acquirer, 0420s to the issuer) into the same full ring.
    acquirer_sends(&mut net, 1, REQUESTS);
    let peak_forwarding = net.pool.in_use();
    // Timeout 5 s, then 0420s 1, 2, 4, 8 and 16 s apart; the fifth is
    // given up 32 s after it was sent: 68 s in all, plus the sending.
    net.advance_ms(70_000);
    let peak = net.pool.in_use().max(peak_forwarding);
    let (stuck, _) = drain_tx(&mut net);
    let after_drain = net.pool.in_use();
    let c = net.counters();
    let tx = c.event(Event::Tx);
    // What the ring refused: the lcore's sends minus what the port took.
    let refused = tx - net.pair.port.stats().unwrap().tx_packets;
    let counted = c.dropped(DropReason::TxFull);

    let mut row = reliability::Row::new(
        "switch_tx_backpressure",
        "switch TX ring (256) left full while 2,000 requests, their stand-ins and 0420s were sent; then drained",
    );
    row.faults_injected = refused;
    row.sent = tx;
    row.answered = stuck;
    row.unanswered_accounted = refused;
    // The ring held what it could; the rest was freed...
    row.expect(refused > 0, "the full ring refused frames");
    row.expect(
        stuck + refused == tx,
        format!(
            "every frame the switch sent is in the ring or refused: {stuck} + {refused} != {tx}"
        ),
    );
    row.expect(
        peak <= baseline + RING + 64,
        format!(
            "mbufs in use stayed bounded while the ring was full: baseline {baseline}, peak {peak}"
        ),
    );
    row.expect(
        after_drain == baseline,
        format!("no mbuf leaked: {after_drain} in use after draining, baseline {baseline}"),
    );
    row.expect(
        net.lcores[0].pending_len() == 0,
        "every transaction stood in and its reversals given up",
    );
    // ...and counted where an operator looks: the switch's drop counters.
    row.expect(
        counted == refused,
        format!(
            "the switch counted {counted} tx drops (drop_tx_full) for {refused} frames the full ring refused: TxBuffer frees them (no leak) but its dropped() count never reaches the lcore's counters"
        ),
    );

    // The link is back: new requests reach the issuer, none refused.
    acquirer_sends(&mut net, REQUESTS + 1, 100);
    let (_, forwarded) = drain_tx(&mut net);
    let c2 = net.counters();
    row.expect(
        forwarded == 100,
        format!("traffic flows again once the ring drains: {forwarded} of 100 forwarded"),
    );
    row.expect(
        c2.event(Event::Tx) - tx == 100 && net.pool.in_use() == baseline,
        "no drop and no mbuf held once the ring has room",
    );
    row.notes = format!(
        "frames: {tx} sent by the lcore = {stuck} taken by the ring + {refused} refused and freed ({counted} counted as drop_tx_full); mbufs in use: baseline {baseline}, peak {peak}, after draining {after_drain}"
    );
    row.seconds = started.elapsed().as_secs_f64();
    row.write().expect("writing the reliability row");
    println!("{}", row.notes);
    assert!(
        row.problems.is_empty(),
        "back-pressure: {}",
        row.problems.join("; ")
    );
}
