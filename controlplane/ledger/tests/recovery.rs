//! Specification: recovery replays the journal into a fresh ledger and gets
//! the same balances, positions, holds, windows and duplicate keys.

mod common;

use std::io::Write;

use common::*;
use ledger::{AccountKey, Applied, ReplayError};

fn last_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x != "snap" && x != "tmp"))
        .collect();
    segments.sort();
    segments.pop().expect("a segment")
}

#[test]
fn replaying_the_journal_rebuilds_exactly_the_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let live = journaled_day(dir.path());
    let (recovered, report) = ledger::recover(dir.path()).unwrap();
    assert_eq!(report.torn_tail, None);
    assert_eq!(recovered, live);
    // The scenario is not trivial: the replay had something to rebuild.
    assert_eq!(recovered.open_epoch(), 2);
    assert!(recovered.account(AccountKey::new(3, EUR)).unwrap().holds > 0);
    assert!(recovered.window(1).unwrap().settlement_started());
    assert_eq!(recovered.window(2).unwrap().entries.len(), 10);
}

#[test]
fn a_recovered_ledger_still_recognises_duplicates_from_before_the_crash() {
    let dir = tempfile::tempdir().unwrap();
    journaled_day(dir.path());
    let (mut recovered, _) = ledger::recover(dir.path()).unwrap();
    let retried = approved(key(ISS, 1_003), 3, EUR, 1_003);
    assert_eq!(
        apply_all(&mut recovered, 2, &[retried]),
        vec![Applied::Duplicate]
    );
    let redeposit = deposit(ACQ, EUR, 100_000, 1);
    assert_eq!(
        apply_all(&mut recovered, 2, &[redeposit]),
        vec![Applied::Duplicate]
    );
}

#[test]
fn a_torn_tail_is_cut_off_and_the_state_is_what_was_durable() {
    let dir = tempfile::tempdir().unwrap();
    let live = journaled_day(dir.path());
    let seg = last_segment(dir.path());
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    // Half a record header: a crash in the middle of a write.
    f.write_all(b"CWJR\x01\x00\x01\x00\x40\x00").unwrap();
    drop(f);
    let (recovered, report) = ledger::recover(dir.path()).unwrap();
    assert!(report.torn_tail.is_some(), "{report:?}");
    assert_eq!(recovered, live);
}

#[test]
fn corruption_in_the_middle_stops_recovery_and_names_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    journaled_day(dir.path());
    let seg = last_segment(dir.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    let err = ledger::recover(dir.path()).unwrap_err();
    assert!(matches!(err, ReplayError::Journal(_)), "{err}");
    assert!(
        err.to_string().contains(&seg.display().to_string()),
        "{err}"
    );
}

#[test]
fn catching_up_applies_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let live = journaled_day(dir.path());
    let mut follower = ledger::Ledger::new();
    let upto = live.last_lsn();
    let n = ledger::catch_up(&mut follower, dir.path(), upto / 2).unwrap();
    assert_eq!(n, upto / 2);
    let m = ledger::catch_up(&mut follower, dir.path(), upto).unwrap();
    assert_eq!(n + m, upto);
    assert_eq!(follower, live);
}
