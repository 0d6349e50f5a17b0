//! Specification: ledger snapshots bound recovery — the newest snapshot
//! plus the records after it rebuild the same state as the whole journal.

mod common;

use common::*;
use journal::{Journal, JournalConfig};
use ledger::{Ledger, RecordMeta, SnapshotDecodeError};

#[test]
fn a_snapshot_decodes_to_the_ledger_it_was_taken_from() {
    let dir = tempfile::tempdir().unwrap();
    let live = journaled_day(dir.path());
    let (lsn, bytes) = live.to_snapshot();
    assert_eq!(lsn, live.last_lsn());
    assert_eq!(Ledger::from_snapshot(&bytes).unwrap(), live);
    assert!(
        !live.recent_answers().is_empty(),
        "the day's approvals carry their answers, so the snapshot holds them"
    );
    let (_, empty) = Ledger::new().to_snapshot();
    assert_eq!(Ledger::from_snapshot(&empty).unwrap(), Ledger::new());
}

#[test]
fn damaged_snapshot_bytes_are_refused_with_an_offset_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = journaled_day(dir.path()).to_snapshot();
    for len in 0..bytes.len() {
        assert!(
            Ledger::from_snapshot(&bytes[..len]).is_err(),
            "a snapshot cut at byte {len} was accepted"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Ledger::from_snapshot(&longer),
        Err(SnapshotDecodeError::Trailing { extra: 1, .. })
    ));
    let mut version = bytes.clone();
    version[4] = 9;
    assert_eq!(
        Ledger::from_snapshot(&version),
        Err(SnapshotDecodeError::Version { found: 9 })
    );
    // Any single flipped byte is either refused or decodes to some ledger;
    // it never panics or allocates without bound.
    for at in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[at] ^= 0xA5;
        let _ = Ledger::from_snapshot(&b);
    }
}

#[test]
fn recovery_from_a_snapshot_and_the_records_after_it_equals_the_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = journaled_day(dir.path());
    let (recovered, report) = ledger::recover(dir.path()).unwrap();
    let (journal, mut producers) =
        Journal::start(JournalConfig::new(dir.path(), 1), &report).unwrap();
    let (lsn, bytes) = recovered.to_snapshot();
    journal.snapshot(lsn, &bytes).unwrap();
    // More traffic after the snapshot, applied live as it is journaled.
    for n in 0..25u32 {
        let next = lsn + 1 + u64::from(n);
        let r = approved(key(ACQ, 50_000 + n), ISS, EUR, 10 + u64::from(n));
        producers[0].append(2, &r).unwrap();
        live.apply(
            RecordMeta {
                lsn: next,
                epoch: 2,
                lcore: 0,
            },
            &r,
        )
        .unwrap();
    }
    journal.shutdown().unwrap();
    let (again, report) = ledger::recover(dir.path()).unwrap();
    assert_eq!(report.snapshot_lsn, Some(lsn));
    assert_eq!(
        report.records_replayed, 25,
        "only the records after the snapshot"
    );
    assert_eq!(again, live);
}
