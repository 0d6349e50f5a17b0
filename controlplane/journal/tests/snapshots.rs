//! Specification: a snapshot plus the records after it rebuilds exactly the
//! state a full replay does; snapshots are atomic and checked; covered
//! segments are deleted while a fallback snapshot remains usable.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use journal::money::ReserveMovement;
use journal::{Journal, MoneyRecord, Producer, Seq, SnapshotError};

/// A toy reserve ledger: balance per (participant, currency).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Ledger(BTreeMap<(u32, u16), i64>);

impl Ledger {
    fn apply(&mut self, rec: &MoneyRecord<'_>) {
        match rec {
            MoneyRecord::Deposit(m) => {
                *self.0.entry((m.participant, m.currency)).or_default() += m.amount as i64
            }
            MoneyRecord::Withdrawal(m) => {
                *self.0.entry((m.participant, m.currency)).or_default() -= m.amount as i64
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for ((p, c), v) in &self.0 {
            out.extend_from_slice(&p.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Ledger {
        let mut l = Ledger::default();
        for e in bytes.chunks_exact(14) {
            let p = u32::from_le_bytes(e[0..4].try_into().unwrap());
            let c = u16::from_le_bytes(e[4..6].try_into().unwrap());
            let v = i64::from_le_bytes(e[6..14].try_into().unwrap());
            l.0.insert((p, c), v);
        }
        l
    }
}

/// The n-th change of the scenario: deposits and withdrawals over five
/// participants and two currencies.
fn change(n: u64) -> MoneyRecord<'static> {
    let m = ReserveMovement {
        participant: (n % 5) as u32 + 1,
        currency: [840, 978, 978][(n % 3) as usize],
        amount: 1_000 + n * 7,
        reference: n,
    };
    if n % 4 == 3 {
        MoneyRecord::Withdrawal(m)
    } else {
        MoneyRecord::Deposit(m)
    }
}

/// Appends changes `from..=to`, waits until durable; returns the model.
fn append_range(p: &mut Producer, model: &mut Ledger, from: u64, to: u64) {
    let mut last = Seq(0);
    for n in from..=to {
        let rec = change(n);
        last = p.append(1, &rec).unwrap();
        model.apply(&rec);
    }
    common::wait_for("changes durable", || p.is_durable(last));
}

fn recover_ledger(dir: &Path) -> (journal::RecoveryReport, Ledger) {
    let recovery = Journal::recover(dir).unwrap();
    let mut ledger = recovery
        .snapshot()
        .map(|s| Ledger::decode(&s.state))
        .unwrap_or_default();
    let report = recovery
        .replay(|r| {
            ledger.apply(&MoneyRecord::decode(r.header.kind, r.payload)?);
            Ok::<(), journal::PayloadError>(())
        })
        .unwrap();
    (report, ledger)
}

fn start(dir: &Path, segment_max: u64) -> (Journal, Producer) {
    let (report, _) = common::recover_all(dir);
    let mut cfg = common::config(dir, 1);
    cfg.segment_max_bytes = segment_max;
    cfg.max_payload = 64;
    let (journal, mut producers) = Journal::start(cfg, &report).unwrap();
    (journal, producers.pop().unwrap())
}

#[test]
fn snapshot_plus_replay_equals_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, mut p) = start(dir.path(), 64 << 20);
    let mut model = Ledger::default();
    append_range(&mut p, &mut model, 1, 600);
    // One producer on a fresh journal: sequence number n is LSN n.
    let outcome = journal.snapshot(600, &model.encode()).unwrap();
    assert!(
        outcome.segments_deleted.is_empty(),
        "one snapshot deletes nothing"
    );
    append_range(&mut p, &mut model, 601, 1000);
    journal.shutdown().unwrap();

    let without_snapshot = common::copy_dir(dir.path());
    for (_, path) in journal::snapshot::list_snapshots(without_snapshot.path()).unwrap() {
        fs::remove_file(path).unwrap();
    }
    let (full_report, full) = recover_ledger(without_snapshot.path());
    let (snap_report, from_snapshot) = recover_ledger(dir.path());

    assert_eq!(full_report.records_replayed, 1000);
    assert_eq!(snap_report.snapshot_lsn, Some(600));
    assert_eq!(
        snap_report.records_replayed, 400,
        "only the records after the snapshot"
    );
    assert_eq!(from_snapshot, full);
    assert_eq!(full, model);
    assert_eq!(snap_report.next_lsn, full_report.next_lsn);
}

#[test]
fn covered_segments_are_deleted_and_a_damaged_newest_snapshot_falls_back_to_the_previous() {
    let dir = tempfile::tempdir().unwrap();
    // 54-byte records, 11 per 600-byte segment: segments start at 1, 12, 23, ...
    let (journal, mut p) = start(dir.path(), 600);
    let mut model = Ledger::default();
    let mut outcomes = Vec::new();
    for (to, snap) in [(50, true), (100, true), (150, true), (200, false)] {
        append_range(&mut p, &mut model, to - 49, to);
        if snap {
            outcomes.push(journal.snapshot(to, &model.encode()).unwrap());
        }
    }
    journal.shutdown().unwrap();

    assert!(outcomes[0].segments_deleted.is_empty());
    // Second snapshot: the older kept one covers 50, so segments whose
    // successor starts at or before 51 go: those starting at 1, 12, 23, 34.
    assert_eq!(outcomes[1].segments_deleted.len(), 4);
    assert_eq!(
        outcomes[2].snapshots_deleted.len(),
        1,
        "only two snapshots are kept"
    );
    let remaining = journal::segment::list_segments(dir.path()).unwrap();
    assert_eq!(
        remaining[0].first_lsn, 100,
        "the segment holding LSN 100 and 101 stays"
    );
    let kept: Vec<u64> = journal::snapshot::list_snapshots(dir.path())
        .unwrap()
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(kept, [100, 150]);

    let (report, ledger) = recover_ledger(dir.path());
    assert_eq!(
        (report.snapshot_lsn, report.records_replayed),
        (Some(150), 50)
    );
    assert_eq!(ledger, model);

    // Damage the newest snapshot: recovery uses the previous one and says so.
    let newest = dir.path().join(journal::snapshot::snapshot_file_name(150));
    let mut bytes = fs::read(&newest).unwrap();
    bytes[40] ^= 1;
    fs::write(&newest, bytes).unwrap();
    let (report, ledger) = recover_ledger(dir.path());
    assert_eq!(
        (report.snapshot_lsn, report.records_replayed),
        (Some(100), 100)
    );
    assert_eq!(report.skipped_snapshots.len(), 1);
    assert!(report.skipped_snapshots[0]
        .reason
        .contains("CRC32C mismatch"));
    assert_eq!(ledger, model);
}

#[test]
fn a_snapshot_of_records_not_yet_durable_or_older_than_the_newest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, mut p) = start(dir.path(), 64 << 20);
    let mut model = Ledger::default();
    append_range(&mut p, &mut model, 1, 10);
    let err = journal.snapshot(11, &model.encode()).unwrap_err();
    assert!(matches!(
        err,
        SnapshotError::AheadOfJournal {
            lsn: 11,
            durable_lsn: 10
        }
    ));
    assert!(journal::snapshot::list_snapshots(dir.path())
        .unwrap()
        .is_empty());
    journal.snapshot(10, &model.encode()).unwrap();
    let err = journal.snapshot(9, &model.encode()).unwrap_err();
    assert!(matches!(
        err,
        SnapshotError::OlderThanNewest { lsn: 9, newest: 10 }
    ));
    journal.shutdown().unwrap();
}

#[test]
fn a_leftover_temp_file_of_an_interrupted_snapshot_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, mut p) = start(dir.path(), 64 << 20);
    let mut model = Ledger::default();
    append_range(&mut p, &mut model, 1, 10);
    journal.snapshot(10, &model.encode()).unwrap();
    append_range(&mut p, &mut model, 11, 20);
    journal.shutdown().unwrap();
    let tmp = dir
        .path()
        .join(format!("{}.tmp", journal::snapshot::snapshot_file_name(20)));
    fs::write(tmp, b"half a snap").unwrap();
    let (report, ledger) = recover_ledger(dir.path());
    assert_eq!(report.snapshot_lsn, Some(10));
    assert!(report.skipped_snapshots.is_empty());
    assert_eq!(ledger, model);
}
