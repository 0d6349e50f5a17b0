//! Specification: disk full and a failed fdatasync turn the journal Failed
//! for good; nothing is ever reported durable that was not fsynced, and the
//! failure says why and what to do.

mod common;

use journal::storage::fault::{FaultPlan, FaultyStorage};
use journal::{
    AppendError, FailureKind, Journal, JournalState, MoneyRecord, Producer, Release, Seq,
};

/// A deposit record is 54 bytes on disk (32 header + 22 payload).
const RECORD: u64 = 54;

fn append_and_wait(p: &mut Producer, n: u64) -> Seq {
    let seq = p
        .append(1, &MoneyRecord::Deposit(common::deposit(1, n)))
        .unwrap();
    common::wait_for("durable or failed", || p.release(seq) != Release::Wait);
    seq
}

#[test]
fn disk_full_fails_the_journal_for_good_and_declines_the_record_it_could_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let plan = FaultPlan::new();
    plan.disk_full_after(2 * RECORD + 20);
    let (journal, mut producers) = Journal::start_with_storage(
        common::config(dir.path(), 1),
        &report,
        FaultyStorage::new(plan.clone()),
    )
    .unwrap();
    let p = &mut producers[0];
    let first = append_and_wait(p, 1);
    let second = append_and_wait(p, 2);
    assert_eq!(p.release(first), Release::Now);
    assert_eq!(p.release(second), Release::Now);

    let third = append_and_wait(p, 3);
    assert_eq!(
        p.release(third),
        Release::Decline,
        "answer 39=96, never approve"
    );
    assert!(!p.is_durable(third));
    assert_eq!(p.state(), JournalState::Failed);
    assert_eq!(
        p.append(1, &MoneyRecord::Deposit(common::deposit(1, 4))),
        Err(AppendError::Failed),
        "sticky: no record is accepted after the failure"
    );
    let failure = p
        .failure()
        .expect("reason is readable by producers")
        .clone();
    assert_eq!(failure.kind, FailureKind::DiskFull);
    assert_eq!(failure.durable_lsn, 2);
    assert_eq!(
        failure.path.file_name().unwrap(),
        "00000000000000000001.wal",
        "names the segment"
    );
    let message = failure.to_string();
    for needed in [
        "disk full",
        "No space left on device",
        "39=96",
        "free space",
        "LSN 2",
    ] {
        assert!(message.contains(needed), "{message:?} lacks {needed:?}");
    }
    assert_eq!(journal.state(), JournalState::Failed);
    assert_eq!(journal.durable_lsn(), 2);
    let failure_path = failure.path.clone();
    assert_eq!(journal.shutdown(), Err(failure));

    // The 20 bytes of the third record that did fit were cut off by the
    // writer: recovery finds exactly the two durable records, no torn tail.
    let (report, recovered) = common::recover_all(dir.path());
    assert_eq!(recovered.len(), 2);
    assert_eq!(report.torn_tail, None, "the partial record was cut off");
    assert_eq!(
        std::fs::metadata(&failure_path).unwrap().len(),
        2 * RECORD,
        "the segment ends after the last durable record"
    );
}

#[test]
fn a_failed_fdatasync_is_sticky_and_its_batch_is_never_reported_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let plan = FaultPlan::new();
    plan.fail_sync_number(2);
    let (journal, mut producers) = Journal::start_with_storage(
        common::config(dir.path(), 1),
        &report,
        FaultyStorage::new(plan.clone()),
    )
    .unwrap();
    let p = &mut producers[0];
    let first = append_and_wait(p, 1);
    assert_eq!(p.release(first), Release::Now);
    let second = append_and_wait(p, 2);
    assert_eq!(p.release(second), Release::Decline);
    assert!(!p.is_durable(second));
    assert_eq!(p.durable_seq(), first);

    let failure = journal.failure().expect("failed").clone();
    assert_eq!(failure.kind, FailureKind::SyncFailed);
    assert_eq!(failure.durable_lsn, 1);
    assert!(
        failure.to_string().contains("fdatasync failed"),
        "{failure}"
    );
    assert!(
        failure.to_string().contains("Input/output error"),
        "{failure}"
    );
    // Sticky: later appends are refused and the writer never retries.
    assert_eq!(
        p.append(1, &MoneyRecord::Deposit(common::deposit(1, 3))),
        Err(AppendError::Failed)
    );
    assert_eq!(failure.tail_kept, None, "the failed batch was cut off");
    assert_eq!(journal.shutdown(), Err(failure));
    assert_eq!(plan.syncs_completed(), 1);
    // The record answered 96 does not come back at recovery.
    let (_, recovered) = common::recover_all(dir.path());
    assert_eq!(recovered.len(), 1, "only the durable record: {recovered:?}");
    assert_eq!(
        p.state(),
        JournalState::Failed,
        "shutdown does not clear a failure"
    );
}

#[test]
fn under_load_every_record_reported_durable_before_disk_full_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let plan = FaultPlan::new();
    plan.disk_full_after(2000 * RECORD + 17);
    let (journal, producers) = Journal::start_with_storage(
        common::config(dir.path(), 2),
        &report,
        FaultyStorage::new(plan.clone()),
    )
    .unwrap();
    let handles: Vec<_> = producers
        .into_iter()
        .map(|mut p| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                loop {
                    match p.append(
                        1,
                        &MoneyRecord::Deposit(common::deposit(p.lcore().into(), n + 1)),
                    ) {
                        Ok(_) => n += 1,
                        Err(AppendError::Backpressure { .. }) => std::thread::yield_now(),
                        Err(AppendError::Failed) => break,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                (p.lcore(), p.durable_seq().0, n)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(journal.failure().unwrap().kind, FailureKind::DiskFull);
    drop(journal);

    let (report, recovered) = common::recover_all(dir.path());
    assert_eq!(
        report.torn_tail, None,
        "the writer cut its short write off the segment"
    );
    for (lcore, durable, appended) in results {
        let mine: Vec<u64> = recovered
            .iter()
            .filter(|r| r.lcore == lcore)
            .map(|r| match MoneyRecord::decode(r.kind, &r.payload).unwrap() {
                MoneyRecord::Deposit(d) => d.reference,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(durable <= appended);
        assert_eq!(
            mine.len() as u64,
            durable,
            "lcore {lcore}: exactly what was reported durable is recovered, nothing answered 96"
        );
        assert_eq!(
            mine,
            (1..=mine.len() as u64).collect::<Vec<_>>(),
            "in order, no holes"
        );
    }
}
