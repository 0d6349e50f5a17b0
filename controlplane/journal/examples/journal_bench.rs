//! Journal benchmarks that print figures (no assertions):
//!
//! - `append`: producers append approved-transaction records as fast as the
//!   rings take them for a few seconds, with group commit and `fdatasync`
//!   on this machine's disk; prints records/s, fsyncs/s, records per batch
//!   and the append-to-durable ("commit") latency percentiles.
//! - `recover`: writes a journal of N records (default 10,000,000), then
//!   times `Journal::recover` + `replay` decoding every record.
//!
//! ```text
//! cargo run --release -p journal --example journal_bench -- [append|recover|all]
//!     [--seconds 3] [--producers 1] [--records 10000000] [--dir /path/on/the/disk]
//!     [--rate 100000] [--ring 65536] [--max-payload 256]
//! ```
//! `append` runs twice: saturated (producers append as fast as the rings
//! take records: the throughput figure) and paced at `--rate` records/s per
//! producer (the commit latency an lcore sees below saturation).
//! ```text
//! ```
//! Goals from the issue: append >= 1,000,000 records/s; recovery of
//! 10,000,000 records <= 5 s. The recovery figure is with the segments in
//! the page cache (they were just written); a cold read adds disk time.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use journal::money::{Approved, Mti, ResponseCode, TxnKey};
use journal::{AppendError, Journal, JournalConfig, MoneyRecord, Producer};

struct Args {
    mode: String,
    seconds: u64,
    producers: u16,
    records: u64,
    dir: Option<PathBuf>,
    ring: usize,
    max_payload: usize,
    rate: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        mode: "all".into(),
        seconds: 3,
        producers: 1,
        records: 10_000_000,
        dir: None,
        ring: 65_536,
        max_payload: 256,
        rate: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => args.seconds = value().parse().expect("--seconds N"),
            "--producers" => args.producers = value().parse().expect("--producers N"),
            "--records" => args.records = value().parse().expect("--records N"),
            "--dir" => args.dir = Some(PathBuf::from(value())),
            "--rate" => args.rate = value().parse().expect("--rate RECORDS_PER_S"),
            "--ring" => args.ring = value().parse().expect("--ring RECORDS"),
            "--max-payload" => args.max_payload = value().parse().expect("--max-payload BYTES"),
            "append" | "recover" | "all" => args.mode = a,
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn approval(lcore: u16, n: u64) -> MoneyRecord<'static> {
    MoneyRecord::Approved(Approved {
        originator: u32::from(lcore) + 1,
        issuer: 100 + (n % 7) as u32,
        mti: Mti(210),
        key: TxnKey {
            stan: (n % 1_000_000) as u32,
            transmission: *b"1127175230",
            rrn: *b"633117000001",
        },
        amount: 1_000 + n % 50_000,
        currency: 978,
        response_code: ResponseCode(*b"00"),
        answer: None,
    })
}

struct ProducerResult {
    appended: u64,
    backpressure: u64,
    latency: Histogram<u64>,
}

/// Appends until `stop_at` or `limit` records, at most `rate` records/s
/// (0 = as fast as the ring takes them), sampling every 16th record's
/// append-to-durable latency.
fn drive(mut p: Producer, stop_at: Instant, limit: u64, rate: u64) -> ProducerResult {
    let start = Instant::now();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let mut pending: VecDeque<(journal::Seq, Instant)> = VecDeque::with_capacity(1 << 16);
    let mut appended = 0u64;
    let mut backpressure = 0u64;
    let lcore = p.lcore();
    while appended < limit {
        if appended & 63 == 0 {
            let now = Instant::now();
            if now >= stop_at {
                break;
            }
            if rate > 0 && appended as f64 > (now - start).as_secs_f64() * rate as f64 {
                // Sleep rather than spin: on this 2-core machine a spinning
                // producer would starve the writer, which on the switch has
                // a core of its own.
                std::thread::sleep(Duration::from_micros(50));
                poll_latency(&p, &mut pending, &mut latency);
                continue;
            }
        }
        match p.append(1, &approval(lcore, appended)) {
            Ok(seq) => {
                appended += 1;
                if appended & 15 == 0 && pending.len() < pending.capacity() {
                    pending.push_back((seq, Instant::now()));
                }
            }
            Err(AppendError::Backpressure { .. }) => {
                backpressure += 1;
                // Yield, not spin: see the pacing comment above.
                std::thread::yield_now();
            }
            Err(e) => panic!("append failed: {e}"),
        }
        poll_latency(&p, &mut pending, &mut latency);
    }
    // Let the last samples commit so the histogram is not cut short.
    while let Some(&(seq, at)) = pending.front() {
        if p.is_durable(seq) {
            latency.saturating_record(at.elapsed().as_nanos() as u64);
            pending.pop_front();
        } else {
            std::thread::yield_now();
        }
    }
    ProducerResult {
        appended,
        backpressure,
        latency,
    }
}

/// The writer thread's (time on CPU, time runnable but not running) in ns,
/// from Linux schedstat: shows whether the figures are the journal's or the
/// neighbours' (on a shared box the writer often waits for a CPU).
fn writer_schedstat() -> Option<(u64, u64)> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?.path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim() == "journal-writer" {
            let stat = std::fs::read_to_string(task.join("schedstat")).ok()?;
            let mut f = stat
                .split_whitespace()
                .map(|v| v.parse::<u64>().unwrap_or(0));
            return Some((f.next()?, f.next()?));
        }
    }
    None
}

fn poll_latency(
    p: &Producer,
    pending: &mut VecDeque<(journal::Seq, Instant)>,
    latency: &mut Histogram<u64>,
) {
    let durable = p.durable_seq();
    while let Some(&(seq, at)) = pending.front() {
        if seq > durable {
            break;
        }
        latency.saturating_record(at.elapsed().as_nanos() as u64);
        pending.pop_front();
    }
}

fn fresh_report(dir: &Path) -> journal::RecoveryReport {
    Journal::recover(dir)
        .unwrap()
        .replay(|_| Ok::<(), std::convert::Infallible>(()))
        .unwrap()
}

fn make_config(dir: &Path, args: &Args) -> JournalConfig {
    let mut config = JournalConfig::new(dir, args.producers);
    config.ring_capacity = args.ring;
    config.max_payload = args.max_payload;
    config
}

/// Runs the producers against a fresh journal; prints figures.
fn append_bench(
    config: JournalConfig,
    seconds: u64,
    limit_per_producer: u64,
    rate: u64,
    label: &str,
) {
    let dir = config.dir.clone();
    let dir = dir.as_path();
    let producers = config.producers;
    let report = fresh_report(dir);
    println!(
        "== append ({label}): ring {} records x {} B max payload, batch <= {} B, segments {} B",
        config.ring_capacity, config.max_payload, config.batch_max_bytes, config.segment_max_bytes
    );
    let (journal, handles) = Journal::start(config, &report).unwrap();
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let threads: Vec<_> = handles
        .into_iter()
        .map(|p| std::thread::spawn(move || drive(p, stop_at, limit_per_producer, rate)))
        .collect();
    let results: Vec<ProducerResult> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let writer_sched = writer_schedstat();
    let stats = journal.shutdown().expect("journal healthy");
    let elapsed = start.elapsed().as_secs_f64();

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let mut appended = 0;
    let mut backpressure = 0;
    for r in &results {
        latency.add(&r.latency).unwrap();
        appended += r.appended;
        backpressure += r.backpressure;
    }
    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "{producers} producer(s), group commit with fdatasync, {}",
        dir.display()
    );
    println!("records committed     {:>14}", stats.records);
    println!("elapsed               {elapsed:>14.3} s");
    println!(
        "records/s             {:>14.0}",
        stats.records as f64 / elapsed
    );
    println!(
        "MB/s                  {:>14.1}",
        stats.bytes as f64 / elapsed / 1e6
    );
    println!(
        "fsyncs/s              {:>14.0}",
        stats.syncs as f64 / elapsed
    );
    println!(
        "fdatasync mean        {:>14.0} us",
        stats.sync_nanos as f64 / stats.syncs.max(1) as f64 / 1_000.0
    );
    println!(
        "records per batch     {:>14.0}",
        stats.records as f64 / stats.batches.max(1) as f64
    );
    println!(
        "commit latency        p50 {:.0} us  p99 {:.0} us  p99.9 {:.0} us  max {:.0} us  ({} samples)",
        us(0.50),
        us(0.99),
        us(0.999),
        latency.max() as f64 / 1_000.0,
        latency.len()
    );
    println!("ring full (retried)   {backpressure:>14}");
    if let Some((cpu, waiting)) = writer_sched {
        println!(
            "writer thread         on CPU {:.2} s, runnable but waiting for a CPU {:.2} s",
            cpu as f64 / 1e9,
            waiting as f64 / 1e9
        );
    }
    assert_eq!(appended, stats.records, "every appended record committed");
}

fn recover_bench(config: JournalConfig, records: u64) {
    println!("== recovery: writing {records} records first");
    let per = records / u64::from(config.producers);
    let dir = config.dir.clone();
    let dir = dir.as_path();
    append_bench(config, u64::MAX / 4, per, 0, "journal build");
    let bytes: u64 = journal::segment::list_segments(dir)
        .unwrap()
        .iter()
        .map(|s| std::fs::metadata(&s.path).unwrap().len())
        .sum();
    let start = Instant::now();
    let mut amount_sum = 0u64;
    let report = Journal::recover(dir)
        .unwrap()
        .replay(|r| {
            if let MoneyRecord::Approved(a) = MoneyRecord::decode(r.header.kind, r.payload)? {
                amount_sum = amount_sum.wrapping_add(a.amount);
            }
            Ok::<(), journal::PayloadError>(())
        })
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!("== recovery of {} records", report.records_replayed);
    println!("segments              {:>14}", report.segments_read);
    println!("bytes                 {:>14}", bytes);
    println!("seconds               {secs:>14.3}");
    println!(
        "records/s             {:>14.0}",
        report.records_replayed as f64 / secs
    );
    println!("GB/s                  {:>14.2}", bytes as f64 / secs / 1e9);
    println!("(checksum of amounts  {amount_sum})");
}

/// The lcore-side cost of one `Producer::append` (encode + ring push),
/// timed over bursts of 1024 appends that met no back-pressure. The median
/// burst is printed because on a shared 2-core machine some bursts are
/// preempted, which says nothing about the code.
fn append_cost_bench(config: JournalConfig) {
    let report = fresh_report(&config.dir);
    let (journal, mut producers) = Journal::start(config, &report).unwrap();
    let p = &mut producers[0];
    let mut per_append = Vec::with_capacity(256);
    let mut n = 0u64;
    for _ in 0..256 {
        // Wait until the writer has emptied the ring, so the burst fits.
        while !p.is_durable(journal::Seq(n)) {
            std::thread::yield_now();
        }
        let start = Instant::now();
        for _ in 0..1024 {
            p.append(1, &approval(0, n)).expect("ring has room");
            n += 1;
        }
        per_append.push(start.elapsed().as_nanos() as f64 / 1024.0);
    }
    journal.shutdown().unwrap();
    per_append.sort_by(f64::total_cmp);
    println!("== lcore append cost (encode 48-byte approval + SPSC push), 256 bursts of 1024");
    println!(
        "ns per append         min {:.1}  median {:.1}  p90 {:.1}",
        per_append[0],
        per_append[per_append.len() / 2],
        per_append[per_append.len() * 9 / 10]
    );
}

fn main() {
    let args = parse_args();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    if args.mode == "append" || args.mode == "all" {
        let dir = tempfile::tempdir_in(&base).unwrap();
        append_cost_bench(make_config(dir.path(), &args));
        let dir = tempfile::tempdir_in(&base).unwrap();
        append_bench(
            make_config(dir.path(), &args),
            args.seconds,
            u64::MAX,
            0,
            "saturated",
        );
        let dir = tempfile::tempdir_in(&base).unwrap();
        let label = format!("paced at {} records/s per producer", args.rate);
        append_bench(
            make_config(dir.path(), &args),
            args.seconds,
            u64::MAX,
            args.rate,
            &label,
        );
    }
    if args.mode == "recover" || args.mode == "all" {
        let dir = tempfile::tempdir_in(&base).unwrap();
        recover_bench(make_config(dir.path(), &args), args.records);
    }
}
