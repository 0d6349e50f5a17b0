//! TimerWheel over 1,000,000 slots: schedule, cancel, and expire in the
//! steady state of an lcore (timers armed for 5 s at 1 ms ticks, most
//! cancelled by a response, the rest expiring).

mod common;

use common::{mib, report_ns};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use switch::pending::PendingSlot;
use switch::timer_wheel::{TimerWheel, TimerWheelConfig};

const SLOTS: u32 = 1_000_000;
const TSC_HZ: u64 = 2_000_000_000;

fn bench(c: &mut Criterion) {
    let cfg = TimerWheelConfig::for_tsc_hz(SLOTS, TSC_HZ);
    let mut w = TimerWheel::new(cfg, 0).unwrap();
    println!(
        "FIGURE timer wheel {SLOTS} slots: {:.1} MiB",
        mib(w.memory_bytes() as u64)
    );
    let timeout = 5 * TSC_HZ;
    // 1M timers arriving over 1 s of virtual time.
    let step = TSC_HZ / u64::from(SLOTS);
    report_ns(
        "timer schedule (1M armed over 1 s)",
        u64::from(SLOTS),
        |i| {
            w.schedule(PendingSlot(i as u32), i * step + timeout)
                .unwrap();
        },
    );
    report_ns(
        "timer cancel (response arrived)",
        u64::from(SLOTS / 2),
        |i| {
            black_box(w.cancel(PendingSlot(i as u32 * 2)).unwrap());
        },
    );
    let mut now = timeout;
    let mut fired = 0u64;
    let remaining = w.len() as u64;
    let start = std::time::Instant::now();
    let mut polls = 0u64;
    while !w.is_empty() {
        now += TSC_HZ / 100_000; // a poll every 10 µs of virtual time
        fired += u64::from(
            w.expire(now, |s| {
                black_box(s);
            })
            .fired,
        );
        polls += 1;
    }
    let ns = start.elapsed().as_nanos() as f64;
    assert_eq!(fired, remaining);
    println!(
        "FIGURE timer expire: {fired} timers over {polls} polls, {:.1} ns/fired timer (empty polls included)",
        ns / fired as f64
    );

    let mut i = 0u64;
    c.bench_function("timer_1M/schedule_then_expire", |b| {
        b.iter(|| {
            let slot = PendingSlot((i % u64::from(SLOTS)) as u32);
            w.schedule(slot, now + timeout).unwrap();
            now += step;
            black_box(w.expire(now, |s| {
                black_box(s);
            }));
            i += 1;
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
