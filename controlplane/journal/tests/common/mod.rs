//! Helpers shared by the journal's specification tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use journal::money::ReserveMovement;
use journal::{Journal, JournalConfig, MoneyRecord, RecoveryReport};

/// A record as recovered, owned so tests can compare lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub lsn: u64,
    pub kind: u16,
    pub epoch: u32,
    pub lcore: u16,
    pub payload: Vec<u8>,
}

/// Recovers `dir` (truncating a torn tail) and returns every record after
/// the snapshot.
pub fn recover_all(dir: &Path) -> (RecoveryReport, Vec<Recovered>) {
    let mut out = Vec::new();
    let report = Journal::recover(dir)
        .expect("open recovery")
        .replay(|r| {
            out.push(Recovered {
                lsn: r.header.lsn,
                kind: r.header.kind,
                epoch: r.header.epoch,
                lcore: r.header.lcore,
                payload: r.payload.to_vec(),
            });
            Ok::<(), Infallible>(())
        })
        .expect("recovery");
    (report, out)
}

/// A journal config for tests: small rings, quick idle.
pub fn config(dir: &Path, producers: u16) -> JournalConfig {
    let mut c = JournalConfig::new(dir, producers);
    c.ring_capacity = 1024;
    c.idle_sleep = Duration::from_micros(50);
    c
}

/// Waits for a condition the writer thread will make true; the bound only
/// turns a hang into a failure, it asserts nothing about speed.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Reserve deposit `n` of participant `p`: amount and reference derive from
/// `n` so a recovered record can be checked against what was appended.
pub fn deposit(p: u32, n: u64) -> ReserveMovement {
    ReserveMovement {
        participant: p,
        currency: 978,
        amount: n * 100 + u64::from(p),
        reference: n,
    }
}

/// Writes `n` deposits (references 1..=n) through a running journal with
/// `segment_max` byte segments, waits until all are durable, shuts down.
pub fn write_deposits(dir: &Path, n: u64, segment_max: u64) {
    let (report, _) = recover_all(dir);
    let mut cfg = config(dir, 1);
    cfg.segment_max_bytes = segment_max;
    cfg.max_payload = 64;
    let (journal, mut producers) = Journal::start(cfg, &report).expect("start");
    let p = &mut producers[0];
    let mut last = None;
    for i in 1..=n {
        loop {
            match p.append(1, &MoneyRecord::Deposit(deposit(1, i))) {
                Ok(seq) => {
                    last = Some(seq);
                    break;
                }
                Err(journal::AppendError::Backpressure { .. }) => std::thread::yield_now(),
                Err(e) => panic!("append {i}: {e}"),
            }
        }
    }
    if let Some(seq) = last {
        wait_for("all deposits durable", || p.is_durable(seq));
    }
    journal.shutdown().expect("clean shutdown");
}

/// Segment files of `dir` in LSN order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    journal::segment::list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|s| s.path)
        .collect()
}

/// Copies every file of `from` into a fresh temp dir.
pub fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
    }
    to
}
