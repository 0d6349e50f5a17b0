//! Rust layer vs plain C on the same in-process ring port, same run:
//! alloc-bulk 32 → tx burst → rx burst → free-bulk on one core.
//!
//! Prints Mpps for each, alternating runs (the machine is shared and noisy),
//! and the ratio of the medians. Budget: at 2 GHz and 60 Mpps a packet has
//! ~33 cycles for alloc + tx + rx + free, so any per-packet overhead in the
//! safe layer shows.

use std::time::Instant;

use rte::{Burst, Eal, Mempool, Port, PortConfig};

const BURSTS: u64 = 500_000; // 16 M packets per run
const ROUNDS: usize = 7;

fn rust_loop(rx: &mut rte::RxQueue, tx: &mut rte::TxQueue, pool: &Mempool, bursts: u64) -> u64 {
    let mut out = Burst::new();
    let mut inn = Burst::new();
    let mut received = 0;
    for _ in 0..bursts {
        if pool.alloc_bulk(&mut out, 32).is_err() {
            break;
        }
        for m in out.as_mut_slice() {
            let _ = m.set_len(64);
        }
        tx.tx_burst(&mut out);
        out.clear();
        received += rx.rx_burst(&mut inn) as u64;
        inn.clear();
    }
    received
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let eal = Eal::init(&rte::test_eal_args("bench-ring")).expect("EAL");
    let pool = Mempool::create(&eal, "bench", 8191, 256, 2176, -1).unwrap();
    let port = Port::ring_loopback(&eal, "net_ring_bench", 1, 1024).unwrap();
    port.configure(&PortConfig::default(), &pool).unwrap();
    port.start().unwrap();
    let mut rx = port.rx_queue(0).unwrap();
    let mut tx = port.tx_queue(0).unwrap();

    // Warm caches and the mempool.
    rust_loop(&mut rx, &mut tx, &pool, 50_000);
    rte::baseline::c_ring_loop(&mut rx, &mut tx, &pool, 50_000);

    let (mut c, mut r) = (Vec::new(), Vec::new());
    println!("{:>5} {:>10} {:>10}", "round", "C Mpps", "Rust Mpps");
    for round in 0..ROUNDS {
        let t = Instant::now();
        let n = rte::baseline::c_ring_loop(&mut rx, &mut tx, &pool, BURSTS);
        let c_mpps = n as f64 / t.elapsed().as_secs_f64() / 1e6;
        let t = Instant::now();
        let n = rust_loop(&mut rx, &mut tx, &pool, BURSTS);
        let r_mpps = n as f64 / t.elapsed().as_secs_f64() / 1e6;
        assert_eq!(n, BURSTS * 32, "every packet came back");
        println!("{round:>5} {c_mpps:>10.1} {r_mpps:>10.1}");
        c.push(c_mpps);
        r.push(r_mpps);
    }
    let (cm, rm) = (median(&mut c), median(&mut r));
    println!("ring loop, 1 core, bursts of 32, medians of {ROUNDS} alternating runs:");
    println!("  C baseline  {cm:.1} Mpps");
    println!("  Rust (rte)  {rm:.1} Mpps");
    println!("  ratio Rust/C {:.2}", rm / cm);
    assert_eq!(pool.in_use(), 0, "no mbuf leaked");
}
