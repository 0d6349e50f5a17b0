//! BinTable with 1,000,000 prefixes: build time, memory, lookup ns for hits
//! and misses, single and burst. Target: ≤ 100 ns per lookup.

mod common;

use common::{mib, report_ns, rss_bytes, Rng};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};
use switch::bin_table::{BinTable, BinTableBuilder, BURST};
use switch::ParticipantIdx;

const PREFIXES: usize = 1_000_000;
const PROBES: usize = 1 << 20;

/// Prefix lengths as issuers publish them: mostly 6- and 8-digit BINs, some
/// account ranges of 9–12 digits, a few long ranges and short scheme prefixes.
fn random_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=39 => 6,
        40..=79 => 8,
        80..=93 => 9 + rng.below(4) as usize,
        94..=98 => 13 + rng.below(7) as usize,
        _ => 2 + rng.below(4) as usize,
    }
}

fn build(rng: &mut Rng) -> (BinTable, Vec<[u8; 19]>, Duration) {
    let mut prefixes = Vec::with_capacity(PREFIXES);
    let mut seen = std::collections::HashSet::with_capacity(PREFIXES);
    while prefixes.len() < PREFIXES {
        let mut digits = [0u8; 19];
        rng.digits(&mut digits);
        let len = random_len(rng);
        let mut tail = [0u8; 19];
        rng.digits(&mut tail);
        // Short scheme prefixes outside 2..=3 would cover most of the space;
        // keep them rare and in the 3x range so misses remain possible.
        if len < 6 {
            digits[0] = b'3';
        }
        digits[len..].fill(b'0');
        if seen.insert((digits, len)) {
            // Keep random digits past the prefix: hit probes extend them.
            digits[len..].copy_from_slice(&tail[len..]);
            prefixes.push((digits, len));
        }
    }
    let start = Instant::now();
    let mut b = BinTableBuilder::with_capacity(PREFIXES);
    for (i, (digits, len)) in prefixes.iter().enumerate() {
        b.insert(&digits[..*len], ParticipantIdx(i as u32 % 1000))
            .unwrap();
    }
    let table = b.build().unwrap();
    let took = start.elapsed();
    (table, prefixes.into_iter().map(|(d, _)| d).collect(), took)
}

fn probes(table: &BinTable, stored: &[[u8; 19]], rng: &mut Rng, hits: bool) -> Vec<[u8; 16]> {
    let mut out = Vec::with_capacity(PROBES);
    while out.len() < PROBES {
        let mut pan = [0u8; 16];
        rng.digits(&mut pan);
        if hits {
            // A stored prefix's digits, extended at random: always a hit.
            let s = &stored[rng.below(stored.len() as u64) as usize];
            pan.copy_from_slice(&s[..16]);
        }
        let routed = table.lookup(&pan).unwrap().is_some();
        if routed == hits {
            out.push(pan);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng::new(0x5eed);
    let rss_before = rss_bytes();
    let (table, stored, took) = build(&mut rng);
    println!(
        "FIGURE bin_table build: {} prefixes in {:.2} s, table {:.1} MiB, RSS {:.1} -> {:.1} MiB",
        table.len(),
        took.as_secs_f64(),
        mib(table.memory_bytes() as u64),
        mib(rss_before),
        mib(rss_bytes())
    );
    let hits = probes(&table, &stored, &mut rng, true);
    let misses = probes(&table, &stored, &mut rng, false);

    for (name, set) in [("hit", &hits), ("miss", &misses)] {
        report_ns(
            &format!("bin_table lookup {name} (random PANs)"),
            PROBES as u64,
            |i| {
                black_box(table.lookup(&set[i as usize % PROBES]).unwrap());
            },
        );
        let mut out = [Ok(None); BURST];
        let per_burst = report_ns(
            &format!("bin_table lookup_burst {name} (per burst of {BURST})"),
            (PROBES / BURST) as u64,
            |i| {
                let base = i as usize * BURST;
                let pans: [&[u8]; BURST] = std::array::from_fn(|k| &set[base + k][..]);
                table.lookup_burst(&pans, &mut out);
                black_box(&out);
            },
        );
        println!(
            "FIGURE bin_table lookup_burst {name}: {:.1} ns/lookup",
            per_burst / BURST as f64
        );
        // As the switch lcore does it: a burst's PANs warmed first (while
        // it decodes them), then looked up one at a time as each request
        // is handled.
        let per_burst = report_ns(
            &format!("bin_table warm + lookup {name} (per burst of {BURST})"),
            (PROBES / BURST) as u64,
            |i| {
                let base = i as usize * BURST;
                for k in 0..BURST {
                    table.warm(&set[base + k]);
                }
                for k in 0..BURST {
                    black_box(table.lookup(&set[base + k]).unwrap());
                }
            },
        );
        println!(
            "FIGURE bin_table warmed lookup {name}: {:.1} ns/lookup",
            per_burst / BURST as f64
        );
    }

    // Traffic concentrates on popular BINs: 4096 PANs whose table lines stay
    // cached show the compute cost without DRAM latency.
    report_ns("bin_table lookup hit (4096 hot PANs)", PROBES as u64, |i| {
        black_box(table.lookup(&hits[i as usize % 4096]).unwrap());
    });

    let mut g = c.benchmark_group("bin_table_1M");
    for (name, set) in [("hit", &hits), ("miss", &misses)] {
        let mut i = 0usize;
        g.bench_function(format!("lookup_{name}"), |b| {
            b.iter(|| {
                i = (i + 1) & (PROBES - 1);
                black_box(table.lookup(&set[i]).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
