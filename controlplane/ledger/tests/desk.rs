//! Specification: the clearing desk runs a day — deposits, lcore
//! approvals, a hold that expires, a scheduled cutoff, settlement after
//! the in-flight grace — and the journal it leaves recovers to its state.
#![cfg(feature = "switch-hooks")]

mod common;

use std::sync::Arc;

use common::*;
use journal::{Journal, JournalConfig, Release};
use ledger::hooks::LcoreMoney;
use ledger::{
    verify_checksum, AccountKey, ClearingDesk, CoarseClock, DeskConfig, EpochBoard, EscrowBoard,
    Ledger, Refiller,
};
use switch::pipeline::rules::Family;
use switch::pipeline::{MoneyRequest, Verdict};
use switch::ParticipantIdx;

const MIN: u64 = 60_000;

fn wait(journal: &Journal, desk: &ClearingDesk, lcore: &LcoreMoney, seq: Option<journal::Seq>) {
    while !desk.journaled()
        || seq.is_some_and(|s| lcore.producer().unwrap().release(s) == Release::Wait)
    {
        std::thread::yield_now();
    }
    let _ = journal.durable_lsn();
}

#[test]
fn a_day_at_the_desk_settles_the_closed_window_and_recovers_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let report = Journal::recover(dir.path())
        .unwrap()
        .replay(|_| Ok::<(), std::io::Error>(()))
        .unwrap();
    let (journal, mut producers) =
        Journal::start(JournalConfig::new(dir.path(), 2), &report).unwrap();
    let cp = producers.pop().unwrap();
    let lcore_producer = producers.pop().unwrap();

    let t0 = 20_000 * 1_440 * MIN + 10_000; // 00:00:10 UTC
    let ledger = Ledger::new();
    let epochs = Arc::new(EpochBoard::new(1, ledger.open_epoch()));
    let clock = Arc::new(CoarseClock::new(t0));
    let board = Arc::new(EscrowBoard::new(1, 64).unwrap());
    let mut lcore = LcoreMoney::new(board.lcore(0).unwrap(), Arc::clone(&clock), 30_000)
        .with_journal(lcore_producer);
    let config = DeskConfig {
        schedule: "every 1m".parse().unwrap(),
        in_flight_grace_ms: 5_000,
        expiry_batch: 100,
        settlement_dir: files.path().to_path_buf(),
    };
    let mut desk = ClearingDesk::new(
        ledger,
        Refiller::new(board),
        Arc::clone(&epochs),
        clock,
        cp,
        dir.path().to_path_buf(),
        config,
        t0,
    );
    assert_eq!(desk.next_cutoff_ms(), Some(t0 - 10_000 + MIN));

    desk.deposit(ACQ, EUR, 100_000, 1).unwrap();
    desk.deposit(ISS, EUR, 100_000, 2).unwrap();
    wait(&journal, &desk, &lcore, None);
    assert_eq!(
        desk.tick(t0, journal.durable_lsn())
            .unwrap()
            .records_applied,
        2
    );

    // The lcore: five approved purchases and one approved authorisation.
    let epoch = epochs.observe(0);
    let mut last = None;
    for n in 0..5u32 {
        let r = MoneyRequest {
            acquirer: ParticipantIdx(ACQ),
            issuer: ParticipantIdx(ISS),
            family: Family::Financial,
            amount: 1_000 * u64::from(n + 1),
            currency: EUR,
        };
        assert_eq!(lcore.check(&r), Verdict::Allow);
        last = lcore
            .outcome_keyed(&key(ACQ, n), epoch, &r, *b"00")
            .unwrap();
    }
    let auth = MoneyRequest {
        acquirer: ParticipantIdx(ACQ),
        issuer: ParticipantIdx(ISS),
        family: Family::Authorisation,
        amount: 7_000,
        currency: EUR,
    };
    assert_eq!(lcore.check(&auth), Verdict::Allow);
    last = lcore
        .outcome_keyed(&key(ACQ, 99), epoch, &auth, *b"00")
        .unwrap()
        .or(last);
    wait(&journal, &desk, &lcore, last);
    assert_eq!(
        desk.tick(t0 + 1_000, journal.durable_lsn())
            .unwrap()
            .records_applied,
        6
    );
    let a = *desk.ledger().account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!((a.net_position, a.holds), (15_000, 7_000));

    // 00:01:11: the hold (30 s) has expired and the 00:01 cutoff is due.
    let t1 = t0 + 61_000;
    let r = desk.tick(t1, journal.durable_lsn()).unwrap();
    assert_eq!(r.holds_released, 1);
    assert_eq!(r.cutoff, Some((1, 2)));
    assert_eq!(
        epochs.observe(0),
        2,
        "the lcore stamps window 2 from its next burst"
    );
    wait(&journal, &desk, &lcore, None);
    let r = desk.tick(t1 + 1_000, journal.durable_lsn()).unwrap();
    assert!(
        r.settled.is_empty(),
        "within the in-flight grace nothing is settled"
    );
    let r = desk.tick(t1 + 5_000, journal.durable_lsn()).unwrap();
    assert_eq!(r.settled, vec![1]);
    wait(&journal, &desk, &lcore, None);
    desk.tick(t1 + 6_000, journal.durable_lsn()).unwrap();
    assert!(desk
        .tick(t1 + 7_000, journal.durable_lsn())
        .unwrap()
        .settled
        .is_empty());

    let a = *desk.ledger().account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!((a.reserve_balance, a.net_position, a.holds), (85_000, 0, 0));
    let i = *desk.ledger().account(AccountKey::new(ISS, EUR)).unwrap();
    assert_eq!((i.reserve_balance, i.net_position), (115_000, 0));
    for name in ["net.csv", "net.jsonl", "bilateral.csv", "detail.csv"] {
        let bytes = std::fs::read(files.path().join(format!("window-0000000001-{name}"))).unwrap();
        assert_eq!(verify_checksum(&bytes), Ok(()), "{name}");
    }

    assert!(desk.window_settled(1));

    // 00:02: window 2 saw nothing. It still closes, settles once (files
    // with no rows, no record to journal) and counts as settled.
    let t2 = t0 - 10_000 + 2 * MIN;
    let r = desk.tick(t2, journal.durable_lsn()).unwrap();
    assert_eq!(r.cutoff, Some((2, 3)));
    assert_eq!(epochs.observe(0), 3);
    wait(&journal, &desk, &lcore, None);
    let r = desk.tick(t2 + 5_000, journal.durable_lsn()).unwrap();
    assert_eq!(r.settled, vec![2]);
    assert!(
        desk.window_settled(2),
        "an empty window is settled once its files are written"
    );
    assert!(
        desk.tick(t2 + 6_000, journal.durable_lsn())
            .unwrap()
            .settled
            .is_empty(),
        "and only once"
    );
    let net = std::fs::read(files.path().join("window-0000000002-net.csv")).unwrap();
    assert_eq!(verify_checksum(&net), Ok(()));

    let state = desk.ledger().clone();
    drop(desk);
    drop(lcore);
    journal.shutdown().unwrap();
    let (recovered, _) = ledger::recover(dir.path()).unwrap();
    assert_eq!(recovered, state);
}

#[test]
fn a_withdrawal_of_money_the_lcores_hold_is_reclaimed_first_and_never_over_commits() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let report = Journal::recover(dir.path())
        .unwrap()
        .replay(|_| Ok::<(), std::io::Error>(()))
        .unwrap();
    let (journal, mut producers) =
        Journal::start(JournalConfig::new(dir.path(), 2), &report).unwrap();
    let cp = producers.pop().unwrap();
    let lcore_producer = producers.pop().unwrap();
    let ledger = Ledger::new();
    let epochs = Arc::new(EpochBoard::new(1, ledger.open_epoch()));
    let clock = Arc::new(CoarseClock::new(0));
    let board = Arc::new(EscrowBoard::new(1, 64).unwrap());
    let mut lcore = LcoreMoney::new(board.lcore(0).unwrap(), Arc::clone(&clock), 30_000)
        .with_journal(lcore_producer);
    let config = DeskConfig {
        schedule: "command".parse().unwrap(),
        in_flight_grace_ms: 0,
        expiry_batch: 10,
        settlement_dir: files.path().to_path_buf(),
    };
    let mut desk = ClearingDesk::new(
        ledger,
        Refiller::new(board),
        epochs,
        clock,
        cp,
        dir.path().to_path_buf(),
        config,
        0,
    );
    let purchase = |amount| MoneyRequest {
        acquirer: ParticipantIdx(ACQ),
        issuer: ParticipantIdx(ISS),
        family: Family::Financial,
        amount,
        currency: EUR,
    };
    desk.deposit(ACQ, EUR, 10_000, 1).unwrap();
    wait(&journal, &desk, &lcore, None);
    desk.tick(1, journal.durable_lsn()).unwrap();
    // Every unit is out in escrow (slice + pool): nothing to withdraw yet.
    assert!(matches!(
        desk.withdraw(ACQ, EUR, 4_000, 7),
        Err(ledger::DeskError::Reclaiming { .. })
    ));
    lcore.escrow_mut().poll();
    desk.tick(2, journal.durable_lsn()).unwrap();
    desk.withdraw(ACQ, EUR, 4_000, 7).unwrap();
    // The lcore can reach the 6000 left, not a unit more, before and after
    // the withdrawal is applied.
    assert_eq!(lcore.check(&purchase(6_001)), Verdict::Decline(*b"51"));
    assert_eq!(lcore.check(&purchase(6_000)), Verdict::Allow);
    wait(&journal, &desk, &lcore, None);
    desk.tick(3, journal.durable_lsn()).unwrap();
    let a = *desk.ledger().account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!(a.reserve_balance, 6_000);
    assert_eq!(
        desk.refiller()
            .outstanding(desk.ledger(), AccountKey::new(ACQ, EUR)),
        6_000
    );
    assert_eq!(lcore.check(&purchase(1)), Verdict::Decline(*b"51"));
    // A withdrawal nobody can cover is refused outright.
    assert!(matches!(
        desk.withdraw(ACQ, EUR, 6_001, 8),
        Err(ledger::DeskError::Command(_))
    ));
    drop(desk);
    drop(lcore);
    journal.shutdown().unwrap();
}
