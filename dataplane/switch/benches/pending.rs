//! PendingTable of 1,000,000 slots: insert + remove pairs at 50 % and 90 %
//! fill (the table stays at that fill: one answered, one forwarded), and
//! matching a response (find).

mod common;

use common::keys::{pending_entry, pending_key};
use common::{mib, report_ns, rss_bytes};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use switch::hash::Seed;
use switch::pending::{PendingConfig, PendingTable};

const CAPACITY: u32 = 1_000_000;
const REQUEST: [u8; 300] = [b'7'; 300];

fn filled(fill: u64) -> PendingTable {
    let mut t = PendingTable::with_seed(PendingConfig::default(), Seed::fixed(1)).unwrap();
    for n in 0..fill {
        t.insert(pending_entry(n), &REQUEST).unwrap();
    }
    t
}

fn bench(c: &mut Criterion) {
    let rss0 = rss_bytes();
    let mut g = c.benchmark_group("pending_1M");
    for percent in [50u64, 90] {
        let fill = u64::from(CAPACITY) * percent / 100;
        let mut t = filled(fill);
        println!(
            "FIGURE pending {percent}% fill: table {:.1} MiB reserved, process RSS {:.1} MiB (was {:.1}), probe {:?}",
            mib(t.memory_bytes() as u64),
            mib(rss_bytes()),
            mib(rss0),
            t.probe_stats()
        );
        // Oldest out, newest in: keys fill..fill+n enter, 0..n leave.
        let mut next = fill;
        report_ns(
            &format!("pending insert+remove pair at {percent}% fill"),
            2_000_000,
            |_| {
                t.insert(pending_entry(next), &REQUEST).unwrap();
                black_box(t.remove(&pending_key(next - fill)));
                next += 1;
            },
        );
        // As the lcore would run it: a burst of 32 requests and 32 responses,
        // each batch warmed first so its cache misses overlap.
        let per_burst = report_ns(
            &format!("pending burst of 32 inserts + 32 removes, warmed, at {percent}% fill"),
            2_000_000 / 32,
            |_| {
                let new: [_; 32] = std::array::from_fn(|k| pending_key(next + k as u64));
                let old: [_; 32] = std::array::from_fn(|k| pending_key(next + k as u64 - fill));
                t.warm(&new);
                for k in 0..32 {
                    t.insert(pending_entry(next + k), &REQUEST).unwrap();
                }
                t.warm(&old);
                for key in &old {
                    black_box(t.remove(key));
                }
                next += 32;
            },
        );
        println!(
            "FIGURE pending warmed burst at {percent}% fill: {:.1} ns per insert+remove pair",
            per_burst / 32.0
        );
        report_ns(
            &format!("pending find (hit) at {percent}% fill"),
            2_000_000,
            |i| {
                black_box(t.find(&pending_key(next - 1 - (i % fill))));
            },
        );
        g.bench_function(format!("insert_remove_{percent}pct"), |b| {
            b.iter(|| {
                t.insert(pending_entry(next), &REQUEST).unwrap();
                black_box(t.remove(&pending_key(next - fill)));
                next += 1;
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
