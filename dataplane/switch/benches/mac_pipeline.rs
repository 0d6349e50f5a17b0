//! What message authentication costs the switch lcore: the same closed
//! loop of 0200 → issuer → 0210 → acquirer through one lcore on an
//! in-process DPDK ring port, with the acquirer and the issuer unkeyed, then
//! both keyed with HMAC-SHA-256/64, then with AES-CMAC/64. Each keyed
//! message is verified on the way in and sealed on the way out.
//!
//! Two figures per case: the lcore's own busy cycles per message (its
//! `busy_cycles` counter: wall-clock TSC cycles of the polls that found
//! work, so they grow when the machine is busy), and this thread's CPU time
//! per message over the loop (scheduler run time from
//! /proc/thread-self/schedstat: what a dedicated core would spend, the
//! test side's injecting and collecting included). Frames are built and
//! sealed before either clock starts. Runs alternate and the median of five
//! is printed, as the machine is shared.

use std::net::SocketAddrV4;
use std::sync::Arc;

use auth::{Algorithm, KeyRing, MacFormat, MacKey};
use rte::{Eal, Mempool, Port, PortConfig, RingPairPort};
use switch::counters::{Event, LcoreCounters};
use switch::pipeline::admission::WallClock;
use switch::pipeline::{
    handoff, AlwaysAllow, LcoreParts, LcoreQueues, Shared, SwitchConfig, SwitchLcore,
};
use switch::routes::{Published, RouteSnapshot};
use switch::testkit::*;
use wire::iso8583::{FieldIndex, Spec};

/// Transactions per measured run (two messages each).
const TXNS: u32 = 8192;
const ROUNDS: u32 = 5;
const BATCH: usize = 32;

fn seal(bytes: Vec<u8>, key: Option<&MacKey>) -> Vec<u8> {
    let Some(key) = key else {
        return bytes;
    };
    let spec = Spec::builtin("default").expect("built-in");
    let format = MacFormat::of(spec).expect("default carries MACs");
    let index = FieldIndex::decode(&bytes, spec).expect("fixture decodes");
    let mut out = bytes.clone();
    out.resize(bytes.len() + 8, 0);
    let ring = KeyRing::new(key.clone());
    let n = auth::seal_or_append(&format, &mut out, bytes.len(), &index, &ring).expect("seals");
    out.truncate(n);
    out
}

/// Acquirer and issuer keyed with `alg` (issuer 2 never).
fn snapshot_with(alg: Option<Algorithm>) -> (RouteSnapshot, Option<MacKey>, Option<MacKey>) {
    let fixture = snapshot(0);
    let mut participants = fixture.participants().to_vec();
    let keys = alg.map(|a| {
        (
            MacKey::new(a, &[0x11; 16]).expect("key"),
            MacKey::new(a, &[0x22; 16]).expect("key"),
        )
    });
    if let Some((acq, iss)) = &keys {
        participants[0].mac = Some(Arc::new(KeyRing::new(acq.clone())));
        participants[1].mac = Some(Arc::new(KeyRing::new(iss.clone())));
    }
    let snapshot = RouteSnapshot::new(participants, fixture.bins_shared()).expect("fixture");
    let (acq, iss) = keys.map_or((None, None), |(a, i)| (Some(a), Some(i)));
    (snapshot, acq, iss)
}

struct Bench {
    pool: Mempool,
    pair: RingPairPort,
    lcore: SwitchLcore,
    counters: Arc<LcoreCounters>,
    now: u64,
    hz: u64,
    next_stan: u32,
}

impl Bench {
    fn inject(&mut self, frames: &[Vec<u8>]) {
        for f in frames {
            let mut m = self.pool.alloc().expect("mbuf");
            m.set_len(f.len()).expect("fits");
            m.data_mut().copy_from_slice(f);
            self.pair.inject[0].enqueue(m).expect("ring room");
        }
    }

    /// Polls until the lcore is idle and its tx is drained; returns how
    /// many frames came out.
    fn drain(&mut self) -> usize {
        while self.lcore.poll(self.now) > 0 {}
        self.now += rte::tsc::micros_to_ticks(200, self.hz);
        self.lcore.poll(self.now);
        let mut n = 0;
        while self.pair.collect[0].dequeue().is_some() {
            n += 1;
        }
        n
    }

    /// One run of TXNS transactions; returns the lcore's busy cycles and
    /// the thread's CPU ns, per message.
    fn run(&mut self, acq: Option<&MacKey>, iss: Option<&MacKey>) -> (f64, f64) {
        let mut requests = Vec::with_capacity(TXNS as usize);
        let mut answers = Vec::with_capacity(TXNS as usize);
        let switch = SocketAddrV4::new(SWITCH_IP, 8583);
        let issuer_port = SocketAddrV4::new(SWITCH_IP, 8600);
        for _ in 0..TXNS {
            self.next_stan += 1;
            let req = request("0200", self.next_stan, PAN);
            let body = seal(req.encode(), acq);
            requests.push(udp_frame(ACQUIRER, ACQUIRER_MAC, switch, SWITCH_MAC, &body));
            let body = seal(answer(&req, "00").encode(), iss);
            answers.push(udp_frame(
                ISSUER,
                ISSUER_MAC,
                issuer_port,
                SWITCH_MAC,
                &body,
            ));
        }
        let before = self.counters.snapshot();
        let cpu0 = cpu_ns();
        let mut out = 0;
        for (reqs, ans) in requests.chunks(BATCH).zip(answers.chunks(BATCH)) {
            self.inject(reqs);
            out += self.drain();
            self.inject(ans);
            out += self.drain();
        }
        let cpu = cpu_ns().saturating_sub(cpu0);
        let after = self.counters.snapshot();
        assert_eq!(out, 2 * TXNS as usize, "every message went through");
        assert_eq!(
            after.dropped_total(),
            before.dropped_total(),
            "nothing dropped"
        );
        let cycles = after.event(Event::BusyCycles) - before.event(Event::BusyCycles);
        let msgs = f64::from(2 * TXNS);
        (cycles as f64 / msgs, cpu as f64 / msgs)
    }
}

/// This thread's time on a CPU so far, in ns (0 without schedstat).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let eal = Eal::init(&rte::test_eal_args("bench-mac")).expect("EAL");
    let hz = eal.tsc_hz();
    let pool = Mempool::create(&eal, "bench-mac", 8191, 256, 2176, -1).expect("pool");
    let pair = Port::ring_pair(&eal, "net_ring_bench_mac", 1, 4096).expect("ring port");
    let pc = PortConfig {
        rx_queues: 1,
        tx_queues: 1,
        rss: false,
        ..PortConfig::default()
    };
    pair.port.configure(&pc, &pool).expect("configure");
    pair.port.start().expect("start");
    let mut cfg = SwitchConfig::new(SWITCH_IP, "p0");
    cfg.pending_capacity = 65_536;
    cfg.dedup_capacity = 1 << 20;
    let now = 1_000_000;
    let routes = Arc::new(Published::new(snapshot_with(None).0));
    let mut shared = Shared::new(cfg, routes.clone(), 1, hz).expect("config");
    shared.wall = WallClock::pinned(FIXTURE_UNIX_TIME, now, hz);
    let (writer, counters) = LcoreCounters::new_pair();
    let parts = LcoreParts {
        index: 0,
        shared: Arc::new(shared),
        queues: LcoreQueues {
            rx: vec![pair.port.rx_queue(0).expect("rx")],
            tx: pair.port.tx_queue(0).expect("tx"),
            mac: SWITCH_MAC,
        },
        handoff: handoff::create(&eal, 1, "bench-mac")
            .expect("rings")
            .remove(0),
        pool: pool.clone(),
        hooks: Box::new(AlwaysAllow),
        counters: writer,
    };
    let lcore = SwitchLcore::new(parts, now).expect("lcore");
    let mut bench = Bench {
        pool,
        pair,
        lcore,
        counters,
        now,
        hz,
        next_stan: 0,
    };
    let cases: [(&str, Option<Algorithm>); 3] = [
        ("unkeyed", None),
        ("hmac-sha256-64", Some(Algorithm::HmacSha256x64)),
        ("aes-cmac-64", Some(Algorithm::AesCmac64)),
    ];
    let mut cycles = vec![Vec::new(); cases.len()];
    let mut cpu = vec![Vec::new(); cases.len()];
    for _ in 0..ROUNDS {
        for (i, (_, alg)) in cases.iter().enumerate() {
            let (snapshot, acq, iss) = snapshot_with(*alg);
            routes.publish(snapshot);
            let (c, ns) = bench.run(acq.as_ref(), iss.as_ref());
            cycles[i].push(c);
            cpu[i].push(ns);
        }
    }
    println!(
        "per message, 0200/0210 of ~300 bytes, median of {ROUNDS} runs of {TXNS} transactions:"
    );
    let base_cycles = median(&mut cycles[0]);
    let base_cpu = median(&mut cpu[0]);
    for (i, (label, _)) in cases.iter().enumerate() {
        let (c, ns) = (median(&mut cycles[i]), median(&mut cpu[i]));
        println!(
            "{label:>15}: lcore {c:>6.0} busy cycles/msg ({:.1}x unkeyed); CPU {ns:>5.0} ns/msg ({:.2} M msg/s on a dedicated core, {:.1}x unkeyed)",
            c / base_cycles,
            1e3 / ns,
            ns / base_cpu
        );
    }
}
