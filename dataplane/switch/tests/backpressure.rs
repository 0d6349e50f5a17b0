//! TX back-pressure on real DPDK (an in-process ring port whose wire ends
//! the test holds): the port's TX ring is left full while the switch keeps
//! forwarding requests and, later, sending stand-ins and reversals for
//! them. Whatever the ring would not take must be freed and counted (the
//! switch's `drop_tx_full`); once the ring is drained, every mbuf is back in the pool
//! (in-use count at its baseline) and traffic flows again.
//!
//! Time is a fake TSC the test advances; nothing depends on the machine's
//! speed. It records its row for the reliability summary table.

use std::net::SocketAddrV4;
use std::sync::Arc;

use rte::{Eal, Mempool, Port, PortConfig, RingPairPort};
use switch::counters::{DropReason, Event, LcoreCounters};
use switch::pipeline::admission::WallClock;
use switch::pipeline::{
    handoff, AlwaysAllow, LcoreParts, LcoreQueues, Shared, SwitchConfig, SwitchLcore,
};
use switch::testkit::*;

/// The TX (and RX) ring size: small, so it fills fast.
const RING: u32 = 256;
/// Requests the acquirer sends while the TX ring is full.
const REQUESTS: u32 = 2000;

struct Net {
    _eal: Eal,
    pool: Mempool,
    pair: RingPairPort,
    lcore: SwitchLcore,
    counters: Arc<LcoreCounters>,
    hz: u64,
    now: u64,
}

impl Net {
    fn new() -> Net {
        let eal = Eal::init(&rte::test_eal_args("sw-backpressure")).expect("EAL");
        let pool = Mempool::create(&eal, "bp", 8191, 0, 2176, -1).unwrap();
        let pair = Port::ring_pair(&eal, "net_ring_bp", 1, RING).unwrap();
        let pc = PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rss: false,
            ..PortConfig::default()
        };
        pair.port.configure(&pc, &pool).unwrap();
        pair.port.start().unwrap();
        let mut cfg = SwitchConfig::new(SWITCH_IP, "p0");
        cfg.pending_capacity = 4096;
        cfg.dedup_capacity = 4096;
        let hz = eal.tsc_hz();
        let now = 1_000_000;
        let mut shared = Shared::new(cfg, published(), 1, hz).unwrap();
        // The fake clock starts at the moment the fixtures' field 7 names.
        shared.wall = WallClock::pinned(FIXTURE_UNIX_TIME, now, hz);
        let shared = Arc::new(shared);
        let ends = handoff::create(&eal, 1, "bp")
            .unwrap()
            .into_iter()
            .next()
            .unwrap();
        let (writer, counters) = LcoreCounters::new_pair();
        let parts = LcoreParts {
            index: 0,
            shared,
            queues: LcoreQueues {
                rx: vec![pair.port.rx_queue(0).unwrap()],
                tx: pair.port.tx_queue(0).unwrap(),
                mac: SWITCH_MAC,
            },
            handoff: ends,
            pool: pool.clone(),
            hooks: Box::new(AlwaysAllow),
            counters: writer,
        };
        let lcore = SwitchLcore::new(parts, now).unwrap();
        Net {
            _eal: eal,
            pool,
            pair,
            lcore,
            counters,
            hz,
            now,
        }
    }

    /// The acquirer sends `count` requests from `first`, a ring's worth at
    /// a time, the lcore polling between (past the drain timer each time).
    fn acquirer_sends(&mut self, first: u32, count: u32) {
        let switch = SocketAddrV4::new(SWITCH_IP, 8583);
        let mut stan = first;
        while stan < first + count {
            let batch = (first + count - stan).min(RING / 2);
            for s in stan..stan + batch {
                let f = udp_frame(
                    ACQUIRER,
                    ACQUIRER_MAC,
                    switch,
                    SWITCH_MAC,
                    &request("0200", s, PAN).encode(),
                );
                let mut m = self.pool.alloc().unwrap();
                m.set_len(f.len()).unwrap();
                m.data_mut().copy_from_slice(&f);
                self.pair.inject[0].enqueue(m).unwrap();
            }
            stan += batch;
            self.poll();
        }
    }

    fn poll(&mut self) {
        for _ in 0..8 {
            if self.lcore.poll(self.now) == 0 {
                break;
            }
        }
        self.now += rte::tsc::micros_to_ticks(200, self.hz);
        self.lcore.poll(self.now);
    }

    /// Moves the fake clock in 100 ms steps (timers fire in order).
    fn advance_ms(&mut self, ms: u64) {
        for _ in 0..ms.div_ceil(100) {
            self.now += rte::tsc::micros_to_ticks(100_000, self.hz);
            self.poll();
        }
    }

    /// Takes everything out of the TX ring: (frames, messages to the issuer).
    fn drain_tx(&mut self) -> (u64, u64) {
        let (mut frames, mut to_issuer) = (0, 0);
        while let Some(m) = self.pair.collect[0].dequeue() {
            frames += 1;
            if parse_udp(m.data()).is_some_and(|(flow, _)| flow.dst == ISSUER) {
                to_issuer += 1;
            }
        }
        (frames, to_issuer)
    }
}

#[test]
fn a_full_tx_ring_drops_and_counts_never_leaks_an_mbuf_and_traffic_recovers() {
    let started = std::time::Instant::now();
    let mut net = Net::new();
    let baseline = net.pool.in_use();

    // The issuer's link is stuck: nobody takes frames off the TX ring while
    // the acquirer sends 2,000 requests, then every one of them times out
    // (stand-in 91 to the acquirer, 0420s to the issuer) into the same full ring.
    net.acquirer_sends(1, REQUESTS);
    let peak_forwarding = net.pool.in_use();
    // Timeout 5 s, then 0420s 1, 2, 4, 8 and 16 s apart; the fifth is
    // given up 32 s after it was sent: 68 s in all, plus the sending.
    net.advance_ms(70_000);
    let peak = net.pool.in_use().max(peak_forwarding);
    let (stuck, _) = net.drain_tx();
    let after_drain = net.pool.in_use();
    let c = net.counters.snapshot();
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
        net.lcore.pending_len() == 0,
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
    net.acquirer_sends(REQUESTS + 1, 100);
    let (_, forwarded) = net.drain_tx();
    let c2 = net.counters.snapshot();
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
