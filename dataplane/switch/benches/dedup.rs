//! DuplicateFilter with a 1,000,000-request window: check+insert of new
//! requests on a full window (each evicts the oldest) and of duplicates.

mod common;

use common::keys::dedup_key;
use common::{mib, report_ns};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use switch::dedup::{DuplicateFilter, Seen};
use switch::hash::Seed;

const WINDOW: u32 = 1_000_000;

fn bench(c: &mut Criterion) {
    let mut f = DuplicateFilter::with_seed(WINDOW, Seed::fixed(2)).unwrap();
    for n in 0..u64::from(WINDOW) {
        f.check_and_insert(&dedup_key(n));
    }
    println!(
        "FIGURE dedup window {WINDOW}: {:.1} MiB, probe {:?}",
        mib(f.memory_bytes() as u64),
        f.probe_stats()
    );
    let mut next = u64::from(WINDOW);
    report_ns(
        "dedup check+insert, new request, full window (evicts)",
        2_000_000,
        |_| {
            let seen = f.check_and_insert(&dedup_key(next));
            debug_assert!(matches!(seen, Seen::New(_)));
            black_box(seen);
            next += 1;
        },
    );
    let per_burst = report_ns(
        "dedup burst of 32 new requests, warmed",
        2_000_000 / 32,
        |_| {
            let keys: [_; 32] = std::array::from_fn(|k| dedup_key(next + k as u64));
            (0..keys.len()).for_each(|k| f.warm_eviction(k));
            f.warm(&keys);
            for key in &keys {
                black_box(f.check_and_insert(key));
            }
            next += 32;
        },
    );
    println!(
        "FIGURE dedup warmed burst: {:.1} ns per check+insert",
        per_burst / 32.0
    );
    report_ns("dedup check, duplicate within the window", 2_000_000, |i| {
        black_box(f.check_and_insert(&dedup_key(next - 1 - (i % u64::from(WINDOW)))));
    });
    c.bench_function("dedup_1M/check_insert_new", |b| {
        b.iter(|| {
            black_box(f.check_and_insert(&dedup_key(next)));
            next += 1;
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
