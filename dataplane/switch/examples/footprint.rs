//! Memory of one lcore's tables at the default sizes (1,000,000 pending
//! transactions with 512-byte request copies, a 1,000,000-request duplicate
//! window, a 1,000,000-slot timer wheel): reserved bytes, and the process RSS
//! after construction and once every slot has been used.
//!
//! Run: `cargo run --release -p switch --example footprint`

use switch::dedup::{DedupKey, DuplicateFilter};
use switch::pending::{PendingConfig, PendingEntry, PendingKey, PendingSlot, PendingTable};
use switch::timer_wheel::{TimerWheel, TimerWheelConfig};
use switch::ParticipantIdx;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kb as f64 / 1024.0
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn key(n: u64) -> PendingKey {
    let mut rrn = [b'0'; 12];
    rrn[..8].copy_from_slice(&n.to_le_bytes());
    PendingKey {
        issuer: ParticipantIdx((n % 7) as u32),
        stan: [b'1'; 6],
        transmitted_at: *b"1127184500",
        rrn,
    }
}

fn main() {
    let start = rss_mib();
    let config = PendingConfig::default();
    let mut pending = PendingTable::new(config).expect("pending table");
    let mut dedup = DuplicateFilter::new(config.capacity).expect("duplicate filter");
    let mut wheel = TimerWheel::new(
        TimerWheelConfig::for_tsc_hz(config.capacity, 2_000_000_000),
        0,
    )
    .expect("timer wheel");
    let built = rss_mib();
    println!(
        "reserved: pending {:.1} MiB ({} slots x {} B request copy), dedup {:.1} MiB, wheel {:.1} MiB",
        mib(pending.memory_bytes()),
        config.capacity,
        config.request_copy,
        mib(dedup.memory_bytes()),
        mib(wheel.memory_bytes())
    );
    println!("RSS at start {start:.1} MiB, after construction {built:.1} MiB");

    let request = [b'2'; 512];
    for n in 0..u64::from(config.capacity) {
        let k = key(n);
        let slot = pending
            .insert(
                PendingEntry {
                    key: k,
                    ..Default::default()
                },
                &request,
            )
            .expect("room for every configured transaction");
        dedup.check_and_insert(&DedupKey {
            originator: k.issuer,
            stan: k.stan,
            transmitted_at: k.transmitted_at,
            rrn: k.rrn,
        });
        wheel
            .schedule(PendingSlot(slot.0), 10_000_000_000 + n)
            .expect("slot in range");
    }
    assert!(pending.is_full());
    println!(
        "RSS with all {} pending slots, dedup window and timers in use: {:.1} MiB",
        config.capacity,
        rss_mib()
    );
}
