//! Recovery time of the money state from a 10,000,000-record journal (the
//! issue's budget: ≤ 5 s).
//!
//! Two figures:
//! * `cpu`: CRC check, decode and apply of records already in memory, as
//!   recovery does them (the part the ledger can make faster);
//! * `recover`: `ledger::recover` on a journal directory of real segment
//!   files (64 MiB each, as the writer rolls them): listing, reading,
//!   CRC, decode, apply. The files were just written, so they are read from
//!   the page cache, as after a process crash (not a power loss).
//!
//! `cargo bench -p ledger --bench replay` (`-- --records N` to change the
//! size, `-- --dir PATH` for where the ~1 GiB journal goes; default under
//! the target directory, `/dev/shm/...` when the disk is short: tmpfs is
//! page cache too). Prints seconds, records per second, CPU seconds of the
//! replaying thread (the segment read-ahead thread not included) and peak
//! RSS. Run it on a quiet machine, or compare CPU seconds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use journal::money::{Answer, Approved, MoneyRecord, Mti, ResponseCode, TxnKey};
use journal::record::{decode, encode_append, RecordHeader};
use ledger::{BatchApplier, Ledger};

const PARTICIPANTS: u64 = 500;
const SEGMENT_BYTES: usize = 64 << 20;

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

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

/// Approval number `i` as the lcores journal it: distinct keys, amounts and
/// participants spread pseudo-randomly, the answer the acquirer got.
fn approval(i: u64) -> MoneyRecord<'static> {
    let r = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rrn = [b'0'; 12];
    let mut n = i % 1_000_000_000_000;
    for d in rrn.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let stan = (i % 1_000_000) as u32;
    let mut stan_digits = [b'0'; 6];
    let mut s = stan;
    for d in stan_digits.iter_mut().rev() {
        *d = b'0' + (s % 10) as u8;
        s /= 10;
    }
    MoneyRecord::Approved(Approved {
        originator: (r % PARTICIPANTS) as u32,
        issuer: ((r >> 20) % PARTICIPANTS) as u32,
        mti: Mti(200),
        key: TxnKey {
            stan,
            transmission: *b"1127181300",
            rrn,
        },
        amount: 1 + (r >> 40) % 1_000_000,
        currency: 978,
        response_code: ResponseCode(*b"00"),
        answer: Some(Answer {
            stan: stan_digits,
            transmission: *b"1127181300",
            response_code: ResponseCode(*b"00"),
            auth_code: Some(*b"A1B2C3"),
        }),
    })
}

/// Records `first..first + n` as one contiguous run of encoded records.
fn encode_run(first: u64, n: u64, out: &mut Vec<u8>) {
    let mut payload = [0u8; 128];
    for lsn in first..first + n {
        let rec = approval(lsn - 1);
        let len = rec
            .encode(&mut payload)
            .expect("an approval fits 128 bytes");
        let header = RecordHeader {
            kind: rec.kind() as u16,
            payload_len: len as u32,
            lsn,
            epoch: 1,
            lcore: (lsn % 2) as u16,
        };
        encode_append(&header, &payload[..len], out).expect("record encodes");
    }
}

fn report(what: &str, n: u64, secs: f64, cpu: Option<f64>) {
    println!(
        "replay {what}: {n} approvals in {secs:.3} s ({:.2} M records/s){}",
        n as f64 / secs / 1e6,
        cpu.map_or(String::new(), |c| format!(", {c:.3} s on CPU"))
    );
}

/// CRC + decode + apply of records held in memory.
fn cpu_part(n: u64) {
    let mut bytes = Vec::with_capacity(n as usize * 100);
    encode_run(1, n, &mut bytes);
    let mut ledger = Ledger::new();
    // As `ledger::recover` does from the journal's size.
    ledger.reserve_transactions(n as usize);
    let cpu0 = thread_cpu_s();
    let start = Instant::now();
    let mut applier = BatchApplier::new(&mut ledger);
    let mut offset = 0usize;
    while offset < bytes.len() {
        let view = decode(&bytes[offset..], offset as u64).expect("record decodes");
        applier.apply_view(&view).expect("record applies");
        offset += view.encoded_len();
    }
    applier.flush().expect("batch applies");
    let took = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_s().zip(cpu0).map(|(a, b)| a - b);
    assert_eq!(ledger.window(1).map(|w| w.entries.len()), Some(n as usize));
    report("cpu (crc+decode+apply)", n, took, cpu);
}

/// Writes the journal as the writer would leave it: 64 MiB segments named
/// by their first LSN.
fn write_journal(dir: &Path, n: u64) -> u64 {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("creating the bench journal directory");
    let mut buf = Vec::with_capacity(SEGMENT_BYTES + 4096);
    let (mut lsn, mut total) = (1u64, 0u64);
    while lsn <= n {
        buf.clear();
        let first = lsn;
        // ~100 bytes a record: fill a segment in chunks of 10,000.
        while lsn <= n && buf.len() + 10_000 * 128 <= SEGMENT_BYTES {
            let k = 10_000.min(n - lsn + 1);
            encode_run(lsn, k, &mut buf);
            lsn += k;
        }
        let path = dir.join(journal::segment::segment_file_name(first));
        std::fs::write(&path, &buf).expect("writing a bench segment");
        total += buf.len() as u64;
    }
    total
}

fn recover_part(dir: &Path, n: u64) {
    let bytes = write_journal(dir, n);
    let cpu0 = thread_cpu_s();
    let start = Instant::now();
    let (ledger, rep) = ledger::recover(dir).expect("the bench journal recovers");
    let took = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_s().zip(cpu0).map(|(a, b)| a - b);
    assert_eq!(rep.records_replayed, n);
    assert_eq!(ledger.window(1).map(|w| w.entries.len()), Some(n as usize));
    report(
        &format!(
            "recover ({} segments, {} MiB, page cache)",
            rep.segments_read,
            bytes >> 20
        ),
        n,
        took,
        cpu,
    );
    drop(ledger);
    let _ = std::fs::remove_dir_all(dir);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let n: u64 = arg(&args, "--records").unwrap_or(10_000_000);
    let dir: PathBuf = arg(&args, "--dir").unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        );
        target.join("replay-bench-journal")
    });
    cpu_part(n);
    recover_part(&dir, n);
    if let Some(peak) = peak_rss_mib() {
        println!("replay: peak RSS {peak:.0} MiB (encoded records of the cpu part included)");
    }
}
