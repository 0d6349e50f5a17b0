//! Replay cost of the ledger: decode + apply of 10,000,000 approval records
//! held in memory (the CPU part of recovery; reading the segments is the
//! journal's part, measured by its own benchmark).
//!
//! `cargo bench -p ledger --bench replay` (`-- --records N` to change the
//! size). Prints seconds, records per second and peak RSS.

use std::time::Instant;

use journal::money::{Approved, MoneyRecord, Mti, RecordKind, ResponseCode, TxnKey};
use ledger::{Ledger, RecordMeta};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn thread_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<u64>().ok()? as f64 / 1e9)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let n: usize = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    const PARTICIPANTS: u64 = 500;
    // Encode every payload first, as the segments would hold them.
    let mut payloads = Vec::with_capacity(n * 48);
    let mut scratch = [0u8; 64];
    for i in 0..n as u64 {
        let r = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rrn = [b'0'; 12];
        rrn.copy_from_slice(format!("{:012}", i % 1_000_000_000_000).as_bytes());
        let rec = MoneyRecord::Approved(Approved {
            originator: (r % PARTICIPANTS) as u32,
            issuer: ((r >> 20) % PARTICIPANTS) as u32,
            mti: Mti(200),
            key: TxnKey {
                stan: (i % 1_000_000) as u32,
                transmission: *b"1127181300",
                rrn,
            },
            amount: 1 + (r >> 40) % 1_000_000,
            currency: 978,
            response_code: ResponseCode(*b"00"),
        });
        let len = rec.encode(&mut scratch).unwrap();
        assert_eq!(len, 48);
        payloads.extend_from_slice(&scratch[..len]);
    }
    let mut ledger = Ledger::new();
    // As `ledger::recover` does from the journal's size.
    ledger.reserve_transactions(n);
    let cpu0 = thread_cpu_s();
    let start = Instant::now();
    for (i, payload) in payloads.chunks_exact(48).enumerate() {
        let rec = MoneyRecord::decode(RecordKind::Approved as u16, payload).unwrap();
        let meta = RecordMeta {
            lsn: i as u64 + 1,
            epoch: 1,
            lcore: 0,
        };
        ledger.apply(meta, &rec).unwrap();
    }
    let took = start.elapsed();
    let cpu = thread_cpu_s().zip(cpu0).map(|(a, b)| a - b);
    assert_eq!(ledger.window(1).map(|w| w.entries.len()), Some(n));
    println!(
        "replay: {n} approvals decoded and applied in {:.3} s ({:.2} M records/s){}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64() / 1e6,
        cpu.map_or(String::new(), |c| format!(", {c:.3} s on CPU"))
    );
    if let Some(peak) = peak_rss_mib() {
        println!(
            "replay: peak RSS {peak:.0} MiB (payloads {} MiB included)",
            payloads.len() >> 20
        );
    }
}
