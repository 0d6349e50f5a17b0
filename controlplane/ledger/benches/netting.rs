//! Netting of a 10,000,000-transaction window: time and peak memory.
//!
//! `cargo bench -p ledger --bench netting` (add `-- --transactions N` to
//! change the size). Prints seconds, transactions per second, the size of
//! one clearing entry and the process's peak RSS (VmHWM), which includes
//! the window's entries themselves. Targets: ≤ 1 s and ≤ 2 GiB.

use std::time::Instant;

use ledger::{net, ClearingEntry, EntryKind, TxnKey};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// This thread's time on a CPU and waiting for one, from schedstat: on a
/// shared machine the wall time alone says more about the neighbours.
fn thread_sched_ns() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = s.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --benches` runs bench binaries without --bench: do
        // not spend a minute building 10 M entries then.
        return;
    }
    let n: usize = args
        .iter()
        .position(|a| a == "--transactions")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    const PARTICIPANTS: u32 = 500;
    const CURRENCIES: [u16; 3] = [978, 840, 826];
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let build = Instant::now();
    let entries: Vec<ClearingEntry> = (0..n)
        .map(|i| {
            let r = next();
            let payer = (r % u64::from(PARTICIPANTS)) as u32;
            let payee = ((r >> 20) % u64::from(PARTICIPANTS)) as u32;
            ClearingEntry {
                key: TxnKey {
                    originator: payer,
                    stan: (i % 1_000_000) as u32,
                    transmission: *b"1127181300",
                    rrn: *b"000000000000",
                },
                payer,
                payee,
                amount: 1 + (r >> 40) % 10_000_000,
                currency: CURRENCIES[(r >> 60) as usize % 3],
                kind: EntryKind::Financial,
            }
        })
        .collect();
    let built = build.elapsed();
    let rss_entries = peak_rss_mib();
    let sched_before = thread_sched_ns();
    let start = Instant::now();
    let result = net(1, &entries);
    let took = start.elapsed();
    let sched_after = thread_sched_ns();
    assert!(result.zero_sum());
    println!(
        "netting: {n} transactions, {} participants x {} currencies",
        PARTICIPANTS,
        CURRENCIES.len()
    );
    println!(
        "netting: clearing entry = {} bytes; window built in {:.2} s",
        std::mem::size_of::<ClearingEntry>(),
        built.as_secs_f64()
    );
    println!(
        "netting: {:.3} s ({:.1} M transactions/s); rows {}, bilateral pairs {}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64() / 1e6,
        result.rows.len(),
        result.bilateral.len()
    );
    if let (Some((cpu0, wait0)), Some((cpu1, wait1))) = (sched_before, sched_after) {
        println!(
            "netting: on CPU {:.3} s, waiting for a CPU {:.3} s (load from neighbours)",
            (cpu1 - cpu0) as f64 / 1e9,
            (wait1 - wait0) as f64 / 1e9
        );
    }
    if let (Some(before), Some(peak)) = (rss_entries, peak_rss_mib()) {
        println!("netting: peak RSS {peak:.0} MiB (window entries alone {before:.0} MiB); target <= 2048 MiB");
    }
    println!(
        "netting: target <= 1 s: {}",
        if took.as_secs_f64() <= 1.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
