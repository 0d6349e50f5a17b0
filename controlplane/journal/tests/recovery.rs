//! Specification: recovery returns every record after the snapshot in LSN
//! order; a torn tail is truncated and reported; corruption in the middle,
//! a bad closed segment and an LSN gap stop recovery with file and offset.

mod common;

use std::fs;
use std::path::Path;

use journal::record::{encode_into, RecordHeader, HEADER_LEN};
use journal::segment::segment_file_name;
use journal::{Journal, RecoveryError};

const RECORD: u64 = 54;

fn flip(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x40;
    fs::write(path, bytes).unwrap();
}

fn recover_err(dir: &Path) -> RecoveryError {
    Journal::recover(dir)
        .unwrap()
        .replay(|_| Ok::<(), std::convert::Infallible>(()))
        .expect_err("recovery must stop")
}

#[test]
fn a_tail_torn_at_every_byte_of_the_last_record_is_truncated_and_reported() {
    let original = tempfile::tempdir().unwrap();
    common::write_deposits(original.path(), 5, 64 << 20);
    let segment_name = segment_file_name(1);
    let full = fs::metadata(original.path().join(&segment_name))
        .unwrap()
        .len();
    let last_start = full - RECORD;
    for cut in last_start + 1..full {
        let dir = common::copy_dir(original.path());
        let segment = dir.path().join(&segment_name);
        fs::OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap()
            .set_len(cut)
            .unwrap();

        let (report, recovered) = common::recover_all(dir.path());
        let torn = report
            .torn_tail
            .as_ref()
            .unwrap_or_else(|| panic!("cut at {cut} not reported"));
        assert_eq!(torn.segment, segment);
        assert_eq!(torn.offset, last_start, "cut at {cut}");
        assert_eq!(torn.bytes_dropped, cut - last_start, "cut at {cut}");
        assert_eq!(
            recovered.iter().map(|r| r.lsn).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(report.next_lsn, 5);
        assert_eq!(
            fs::metadata(&segment).unwrap().len(),
            last_start,
            "truncated on disk"
        );
        // A second recovery finds a clean journal.
        let (again, _) = common::recover_all(dir.path());
        assert_eq!(again.torn_tail, None);
    }
}

#[test]
fn a_corrupt_byte_anywhere_in_the_last_record_is_a_torn_tail() {
    let original = tempfile::tempdir().unwrap();
    common::write_deposits(original.path(), 5, 64 << 20);
    let segment_name = segment_file_name(1);
    let last_start = 4 * RECORD;
    for at in last_start..last_start + RECORD {
        let dir = common::copy_dir(original.path());
        flip(&dir.path().join(&segment_name), at);
        let (report, recovered) = common::recover_all(dir.path());
        let torn = report
            .torn_tail
            .unwrap_or_else(|| panic!("flip at {at} not reported"));
        assert_eq!((torn.offset, torn.bytes_dropped), (last_start, RECORD));
        assert_eq!(recovered.len(), 4);
    }
}

#[test]
fn writing_resumes_cleanly_after_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    common::write_deposits(dir.path(), 5, 64 << 20);
    let segment = dir.path().join(segment_file_name(1));
    let len = fs::metadata(&segment).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    common::write_deposits(dir.path(), 3, 64 << 20);
    let (report, recovered) = common::recover_all(dir.path());
    assert_eq!(report.torn_tail, None);
    assert_eq!(
        recovered.iter().map(|r| r.lsn).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
}

#[test]
fn corruption_followed_by_valid_records_stops_recovery_naming_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    common::write_deposits(dir.path(), 10, 64 << 20);
    let segment = dir.path().join(segment_file_name(1));
    flip(&segment, 2 * RECORD + HEADER_LEN as u64 + 3); // amount of LSN 3
    let before = fs::read(&segment).unwrap();

    let err = recover_err(dir.path());
    match &err {
        RecoveryError::CorruptMiddle {
            segment: s,
            offset,
            next_valid_offset,
            ..
        } => {
            assert_eq!(s, &segment);
            assert_eq!(*offset, 2 * RECORD);
            assert_eq!(*next_valid_offset, 3 * RECORD);
        }
        other => panic!("wrong error {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("00000000000000000001.wal"), "{message}");
    assert!(message.contains("byte 108"), "{message}");
    assert_eq!(
        fs::read(&segment).unwrap(),
        before,
        "nothing truncated or skipped"
    );
}

#[test]
fn a_bad_record_at_the_end_of_a_closed_segment_stops_recovery() {
    let dir = tempfile::tempdir().unwrap();
    common::write_deposits(dir.path(), 30, 600); // 11 records per segment
    let segments = common::segments(dir.path());
    assert!(segments.len() >= 3);
    let first = &segments[0];
    let len = fs::metadata(first).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(first)
        .unwrap()
        .set_len(len - 1)
        .unwrap();

    match recover_err(dir.path()) {
        RecoveryError::CorruptClosedSegment {
            segment, offset, ..
        } => {
            assert_eq!(&segment, first);
            assert_eq!(offset, 10 * RECORD);
        }
        other => panic!("wrong error {other:?}"),
    }
}

#[test]
fn a_missing_segment_is_an_lsn_gap_naming_the_next_segment() {
    let dir = tempfile::tempdir().unwrap();
    common::write_deposits(dir.path(), 30, 600);
    let segments = common::segments(dir.path());
    fs::remove_file(&segments[1]).unwrap();
    match recover_err(dir.path()) {
        RecoveryError::LsnGap {
            segment,
            offset,
            expected,
            found,
        } => {
            assert_eq!(segment, segments[2]);
            assert_eq!((offset, expected, found), (0, 12, 23));
        }
        other => panic!("wrong error {other:?}"),
    }
}

#[test]
fn a_gap_in_lsns_inside_a_segment_stops_recovery_at_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for lsn in [1u64, 2, 4, 5] {
        let payload = [lsn as u8; 10];
        let header = RecordHeader {
            kind: 11,
            payload_len: 10,
            lsn,
            epoch: 1,
            lcore: 0,
        };
        let mut buf = [0u8; 64];
        let n = encode_into(&header, &payload, &mut buf).unwrap();
        bytes.extend_from_slice(&buf[..n]);
    }
    let segment = dir.path().join(segment_file_name(1));
    fs::write(&segment, bytes).unwrap();
    match recover_err(dir.path()) {
        RecoveryError::LsnGap {
            segment: s,
            offset,
            expected,
            found,
        } => {
            assert_eq!(s, segment);
            assert_eq!((offset, expected, found), (2 * 42, 3, 4));
        }
        other => panic!("wrong error {other:?}"),
    }
}

#[test]
fn an_empty_directory_recovers_to_an_empty_journal_starting_at_lsn_1() {
    let dir = tempfile::tempdir().unwrap();
    let (report, recovered) = common::recover_all(dir.path());
    assert!(recovered.is_empty());
    assert_eq!(
        (report.last_lsn, report.next_lsn, report.snapshot_lsn),
        (0, 1, None)
    );
}

#[test]
fn a_missing_directory_is_an_error_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let err = Journal::recover(dir.path().join("typo")).unwrap_err();
    assert!(err.to_string().contains("create the directory"), "{err}");
}

#[test]
fn an_apply_error_stops_recovery_with_the_lsn_and_position() {
    let dir = tempfile::tempdir().unwrap();
    common::write_deposits(dir.path(), 5, 64 << 20);
    let err = Journal::recover(dir.path())
        .unwrap()
        .replay(|r| {
            if r.header.lsn == 4 {
                Err("unknown participant 1")
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    match err {
        RecoveryError::Apply { lsn, offset, .. } => assert_eq!((lsn, offset), (4, 3 * RECORD)),
        other => panic!("wrong error {other:?}"),
    }
}

#[test]
fn a_running_journal_can_be_read_from_any_lsn_up_to_the_durable_one() {
    let dir = tempfile::tempdir().unwrap();
    common::write_deposits(dir.path(), 30, 600); // segments start at 1, 12, 23
    let (report, _) = common::recover_all(dir.path());
    let (journal, mut producers) = Journal::start(common::config(dir.path(), 1), &report).unwrap();
    let seq = producers[0]
        .append(1, &journal::MoneyRecord::Deposit(common::deposit(1, 31)))
        .unwrap();
    common::wait_for("durable", || producers[0].is_durable(seq));
    let durable = journal.durable_lsn();
    assert_eq!(durable, 31);

    let mut lsns = Vec::new();
    let n = journal::read_records(dir.path(), 10, durable, |r| {
        lsns.push(r.header.lsn);
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap();
    assert_eq!(n, 22);
    assert_eq!(lsns, (10..=31).collect::<Vec<_>>());

    let err = journal::read_records(dir.path(), 30, 40, |_| {
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_err();
    assert!(
        matches!(err, RecoveryError::NotInJournal { lsn: 32, .. }),
        "{err:?}"
    );
    journal.shutdown().unwrap();

    // A record inside the requested range that is damaged is an error, not a skip.
    let segments = common::segments(dir.path());
    flip(&segments[1], RECORD + 40);
    let err = journal::read_records(
        dir.path(),
        1,
        31,
        |_| Ok::<(), std::convert::Infallible>(()),
    )
    .unwrap_err();
    match err {
        RecoveryError::Unreadable {
            segment,
            offset,
            lsn,
            ..
        } => {
            assert_eq!((segment, offset, lsn), (segments[1].clone(), RECORD, 13));
        }
        other => panic!("wrong error {other:?}"),
    }
}

mod damage {
    //! Property: whatever single byte is damaged or wherever a segment is
    //! cut, recovery never panics and never returns a wrong record: it
    //! either returns a prefix of what was written or stops with an error.

    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn recovery_returns_a_prefix_of_what_was_written_or_an_error(
            segment_pick in 0usize..4,
            position in 0.0f64..1.0,
            flip_not_cut in any::<bool>(),
        ) {
            let original = tempfile::tempdir().unwrap();
            common::write_deposits(original.path(), 40, 600);
            let (_, written) = common::recover_all(original.path());
            let dir = common::copy_dir(original.path());
            let segments = common::segments(dir.path());
            let segment = &segments[segment_pick % segments.len()];
            let len = fs::metadata(segment).unwrap().len();
            let at = ((len as f64) * position) as u64;
            if flip_not_cut {
                flip(segment, at.min(len - 1));
            } else {
                fs::OpenOptions::new().write(true).open(segment).unwrap().set_len(at).unwrap();
            }
            let mut got = Vec::new();
            let result = Journal::recover(dir.path()).unwrap().replay(|r| {
                got.push((r.header.lsn, r.payload.to_vec()));
                Ok::<(), std::convert::Infallible>(())
            });
            let expected: Vec<_> = written.iter().map(|r| (r.lsn, r.payload.clone())).collect();
            prop_assert_eq!(&got[..], &expected[..got.len()], "only true records, in order");
            if result.is_ok() {
                let last = segment == segments.last().unwrap();
                prop_assert!(last || got.len() == written.len(), "damage to a closed segment must stop recovery");
            }
        }
    }
}
