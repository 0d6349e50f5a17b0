//! Specification: records become durable only after the batch holding them
//! is fsynced; many records share one fsync; a full ring pushes back.

mod common;

use std::time::Duration;

use journal::storage::fault::{FaultPlan, FaultyStorage};
use journal::{AppendError, Durability, Journal, JournalState, MoneyRecord, Release};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn a_record_is_not_durable_while_its_fdatasync_is_still_running() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let plan = FaultPlan::new();
    plan.hold_syncs();
    let (journal, mut producers) = Journal::start_with_storage(
        common::config(dir.path(), 1),
        &report,
        FaultyStorage::new(plan.clone()),
    )
    .unwrap();
    let p = &mut producers[0];
    let seq = p
        .append(1, &MoneyRecord::Deposit(common::deposit(1, 1)))
        .unwrap();

    assert!(
        plan.wait_for_syncs_started(1, WAIT),
        "writer reached fdatasync"
    );
    assert!(
        plan.bytes_written() > 0,
        "the record was written before the sync"
    );
    assert!(!p.is_durable(seq));
    assert_eq!(
        p.release(seq),
        Release::Wait,
        "sync mode holds the approval"
    );
    assert_eq!(journal.durable_lsn(), 0);

    plan.release_syncs();
    common::wait_for("durable after fdatasync returned", || p.is_durable(seq));
    assert_eq!(plan.syncs_completed(), 1);
    assert_eq!(p.release(seq), Release::Now);
    assert_eq!(journal.durable_lsn(), 1);
    journal.shutdown().unwrap();
}

#[test]
fn records_appended_during_one_fdatasync_share_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let plan = FaultPlan::new();
    plan.hold_syncs();
    let (journal, mut producers) = Journal::start_with_storage(
        common::config(dir.path(), 2),
        &report,
        FaultyStorage::new(plan.clone()),
    )
    .unwrap();
    let first = producers[0]
        .append(1, &MoneyRecord::Deposit(common::deposit(1, 1)))
        .unwrap();
    assert!(plan.wait_for_syncs_started(1, WAIT));

    let mut last = [first, first];
    for n in 2..=201 {
        let lcore = (n % 2) as usize;
        last[lcore] = producers[lcore]
            .append(1, &MoneyRecord::Deposit(common::deposit(lcore as u32, n)))
            .unwrap();
    }
    assert!(!producers[1].is_durable(last[1]));
    plan.release_syncs();
    for lcore in 0..2 {
        common::wait_for("all durable", || producers[lcore].is_durable(last[lcore]));
    }
    let stats = journal.shutdown().unwrap();
    assert_eq!(stats.records, 201);
    assert_eq!(
        stats.syncs, 2,
        "one fdatasync for the first record, one for the other 200"
    );
    assert_eq!(stats.durable_lsn, 201);
}

#[test]
fn a_full_ring_is_back_pressure_to_its_producer_and_clears_once_drained() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let plan = FaultPlan::new();
    plan.hold_syncs();
    let mut cfg = common::config(dir.path(), 2);
    cfg.ring_capacity = 4;
    let (journal, mut producers) =
        Journal::start_with_storage(cfg, &report, FaultyStorage::new(plan.clone())).unwrap();
    producers[0]
        .append(1, &MoneyRecord::Deposit(common::deposit(1, 1)))
        .unwrap();
    // The writer has taken the first record out of the ring and is stuck in
    // fdatasync, so the ring fills deterministically.
    assert!(plan.wait_for_syncs_started(1, WAIT));
    for n in 2..=5 {
        producers[0]
            .append(1, &MoneyRecord::Deposit(common::deposit(1, n)))
            .unwrap();
    }
    let refused = producers[0].append(1, &MoneyRecord::Deposit(common::deposit(1, 6)));
    assert_eq!(
        refused,
        Err(AppendError::Backpressure {
            lcore: 0,
            capacity: 4
        })
    );
    // The other lcore's ring is independent.
    producers[1]
        .append(1, &MoneyRecord::Deposit(common::deposit(2, 1)))
        .unwrap();

    plan.release_syncs();
    common::wait_for("ring drained", || producers[0].is_durable(journal::Seq(5)));
    let seq = producers[0]
        .append(1, &MoneyRecord::Deposit(common::deposit(1, 6)))
        .unwrap();
    assert_eq!(seq, journal::Seq(6), "the refused record was not counted");
    common::wait_for("retry durable", || producers[0].is_durable(seq));
    journal.shutdown().unwrap();
    let (_, recovered) = common::recover_all(dir.path());
    assert_eq!(recovered.len(), 7);
}

#[test]
fn async_durability_releases_at_once_but_still_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let plan = FaultPlan::new();
    plan.hold_syncs();
    let mut cfg = common::config(dir.path(), 1);
    cfg.durability = Durability::Async;
    let (journal, mut producers) =
        Journal::start_with_storage(cfg, &report, FaultyStorage::new(plan.clone())).unwrap();
    let seq = producers[0]
        .append(1, &MoneyRecord::Deposit(common::deposit(1, 1)))
        .unwrap();
    assert!(plan.wait_for_syncs_started(1, WAIT));
    assert!(!producers[0].is_durable(seq));
    assert_eq!(producers[0].release(seq), Release::Now);
    plan.release_syncs();
    common::wait_for("durable", || producers[0].is_durable(seq));
    journal.shutdown().unwrap();
}

#[test]
fn shutdown_commits_everything_appended_before_it_and_then_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let (journal, mut producers) = Journal::start(common::config(dir.path(), 1), &report).unwrap();
    for n in 1..=500 {
        producers[0]
            .append(1, &MoneyRecord::Deposit(common::deposit(1, n)))
            .unwrap();
    }
    let stats = journal.shutdown().unwrap();
    assert_eq!(stats.records, 500);
    assert_eq!(producers[0].state(), JournalState::Stopped);
    assert_eq!(
        producers[0].append(1, &MoneyRecord::Deposit(common::deposit(1, 501))),
        Err(AppendError::Stopped)
    );
    assert!(producers[0].is_durable(journal::Seq(500)));
    let (_, recovered) = common::recover_all(dir.path());
    assert_eq!(recovered.len(), 500);
}

#[test]
fn a_journal_restarted_after_recovery_continues_the_lsn_sequence() {
    let dir = tempfile::tempdir().unwrap();
    common::write_deposits(dir.path(), 10, 64 << 20);
    common::write_deposits(dir.path(), 10, 64 << 20);
    let (report, recovered) = common::recover_all(dir.path());
    assert_eq!(
        recovered.iter().map(|r| r.lsn).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    assert_eq!(report.next_lsn, 21);
    assert_eq!(
        common::segments(dir.path()).len(),
        2,
        "one segment per run, the second named 11"
    );
}

#[test]
fn segments_roll_at_the_configured_size_and_are_named_by_first_lsn() {
    let dir = tempfile::tempdir().unwrap();
    // Deposit records are 32 + 22 = 54 bytes; 11 fit in a 600-byte segment.
    common::write_deposits(dir.path(), 35, 600);
    let names: Vec<String> = common::segments(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "00000000000000000001.wal",
            "00000000000000000012.wal",
            "00000000000000000023.wal",
            "00000000000000000034.wal"
        ]
    );
    for path in common::segments(dir.path()) {
        assert!(std::fs::metadata(&path).unwrap().len() <= 600);
    }
    let (_, recovered) = common::recover_all(dir.path());
    assert_eq!(recovered.len(), 35);
}

#[test]
fn starting_on_a_stale_recovery_report_refuses_to_overwrite_committed_records() {
    let dir = tempfile::tempdir().unwrap();
    let (stale, _) = common::recover_all(dir.path());
    common::write_deposits(dir.path(), 3, 64 << 20);
    let err = match Journal::start(common::config(dir.path(), 1), &stale) {
        Err(e) => e,
        Ok(_) => panic!("started over committed records"),
    };
    assert!(err.to_string().contains("already holds records"), "{err}");
    let (_, recovered) = common::recover_all(dir.path());
    assert_eq!(recovered.len(), 3, "nothing was clobbered");
}

#[test]
fn a_directory_has_one_writer_recovery_and_a_second_start_are_refused_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = common::recover_all(dir.path());
    let (journal, _producers) = Journal::start(common::config(dir.path(), 1), &report).unwrap();
    let err = Journal::recover(dir.path()).unwrap_err();
    assert!(
        matches!(err, journal::RecoveryError::Locked { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("in use"), "{err}");
    let second = Journal::start(common::config(dir.path(), 1), &report);
    assert!(matches!(second, Err(journal::StartError::Locked { .. })));
    journal.shutdown().unwrap();
    assert!(Journal::recover(dir.path()).is_ok(), "released at shutdown");
}
