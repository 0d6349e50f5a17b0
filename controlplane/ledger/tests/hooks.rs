//! Specification: the switch lcore's hooks — reserve check before
//! forwarding, escrow refund on a decline, journal record on an approval.
#![cfg(feature = "switch-hooks")]

mod common;

use std::sync::Arc;

use common::*;
use journal::{Journal, JournalConfig, Release};
use ledger::hooks::{duplicate_seed, stan_number, txn_key, LcoreMoney};
use ledger::{AccountKey, CoarseClock, EpochBoard, EscrowBoard, Ledger, Refiller, TxnState};
use switch::dedup::{DuplicateFilter, Outcome, Seen};
use switch::pipeline::hooks::{Commit, Durable, TxnRef};
use switch::pipeline::rules::Family;
use switch::pipeline::{MoneyHooks, MoneyRequest, Verdict};
use switch::ParticipantIdx;

fn req(family: Family, amount: u64) -> MoneyRequest {
    MoneyRequest {
        acquirer: ParticipantIdx(ACQ),
        issuer: ParticipantIdx(ISS),
        family,
        amount,
        currency: EUR,
    }
}

fn lcore_with(deposit_amount: u64) -> (LcoreMoney, Refiller, Ledger) {
    let mut ledger = Ledger::new();
    apply_all(&mut ledger, 1, &[deposit(ACQ, EUR, deposit_amount, 1)]);
    let board = Arc::new(EscrowBoard::new(1, 16).unwrap());
    let mut refiller = Refiller::new(Arc::clone(&board));
    refiller.refill(&ledger).unwrap();
    let clock = Arc::new(CoarseClock::new(1_000_000));
    (
        LcoreMoney::new(board.lcore(0).unwrap(), clock, 30_000),
        refiller,
        ledger,
    )
}

#[test]
fn a_request_the_acquirer_cannot_cover_is_declined_51_before_reaching_the_issuer() {
    let (mut hooks, _, _) = lcore_with(1_000);
    assert_eq!(hooks.check(&req(Family::Financial, 600)), Verdict::Allow);
    assert_eq!(
        hooks.check(&req(Family::Financial, 600)),
        Verdict::Decline(*b"51")
    );
    // Completions and reversals give money back or use a hold: never declined.
    assert_eq!(hooks.check(&req(Family::Completion, 5_000)), Verdict::Allow);
    assert_eq!(
        hooks.check(&req(Family::ReversalAdvice, 5_000)),
        Verdict::Allow
    );
}

#[test]
fn an_issuer_decline_or_a_stand_in_gives_the_escrow_back() {
    let (mut hooks, _, _) = lcore_with(1_000);
    let r = req(Family::Authorisation, 1_000);
    assert_eq!(hooks.check(&r), Verdict::Allow);
    MoneyHooks::outcome(&mut hooks, &r, *b"91");
    assert_eq!(
        hooks.check(&r),
        Verdict::Allow,
        "the stand-in's 91 refunded"
    );
    MoneyHooks::outcome(&mut hooks, &r, *b"05");
    assert_eq!(hooks.check(&r), Verdict::Allow, "the issuer's 05 refunded");
    MoneyHooks::outcome(&mut hooks, &r, *b"00");
    assert_eq!(
        hooks.check(&r),
        Verdict::Decline(*b"51"),
        "an approval keeps it"
    );
}

#[test]
fn approvals_are_journaled_and_recovery_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    let report = Journal::recover(dir.path())
        .unwrap()
        .replay(|_| Ok::<(), std::io::Error>(()))
        .unwrap();
    let (journal, mut producers) =
        Journal::start(JournalConfig::new(dir.path(), 1), &report).unwrap();
    let (hooks, _, _) = lcore_with(10_000);
    let mut hooks = hooks.with_journal(producers.pop().unwrap());

    let purchase = req(Family::Financial, 600);
    assert_eq!(hooks.check(&purchase), Verdict::Allow);
    let seq = hooks
        .outcome_keyed(&key(ACQ, 1), 1, &purchase, *b"00")
        .unwrap()
        .expect("an approval is recorded");
    while hooks.producer().unwrap().release(seq) == Release::Wait {
        std::thread::yield_now();
    }
    assert_eq!(hooks.producer().unwrap().release(seq), Release::Now);

    let auth = req(Family::Authorisation, 300);
    assert_eq!(hooks.check(&auth), Verdict::Allow);
    assert_eq!(
        hooks.outcome_keyed(&key(ACQ, 2), 1, &auth, *b"05").unwrap(),
        None
    );
    assert_eq!(hooks.check(&auth), Verdict::Allow);
    assert!(hooks
        .outcome_keyed(&key(ACQ, 3), 1, &auth, *b"00")
        .unwrap()
        .is_some());

    let reverse = req(Family::Reversal, 600);
    assert_eq!(hooks.check(&reverse), Verdict::Allow);
    assert!(hooks
        .outcome_keyed(&key(ACQ, 1), 1, &reverse, *b"00")
        .unwrap()
        .is_some());
    drop(hooks);
    journal.shutdown().unwrap();

    let (recovered, _) = ledger::recover(dir.path()).unwrap();
    let a = recovered.account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!((a.net_position, a.holds), (0, 300));
    assert_eq!(
        recovered.transaction(&key(ACQ, 1)),
        Some(&TxnState::Reversed)
    );
    assert_eq!(
        recovered.transaction(&key(ACQ, 3)),
        Some(&TxnState::Held {
            payee: ISS,
            currency: EUR,
            amount: 300,
            expires_at_ms: 1_030_000
        })
    );
    assert_eq!(
        recovered.transaction(&key(ACQ, 2)),
        None,
        "declines leave no trace"
    );
    assert_eq!(recovered.escrow_resolved(AccountKey::new(ACQ, EUR), 0), 900);
}

#[test]
fn a_stopped_journal_makes_the_check_answer_96() {
    let dir = tempfile::tempdir().unwrap();
    let report = Journal::recover(dir.path())
        .unwrap()
        .replay(|_| Ok::<(), std::io::Error>(()))
        .unwrap();
    let (journal, mut producers) =
        Journal::start(JournalConfig::new(dir.path(), 1), &report).unwrap();
    let (hooks, _, _) = lcore_with(10_000);
    let mut hooks = hooks.with_journal(producers.pop().unwrap());
    journal.shutdown().unwrap();
    assert_eq!(
        hooks.check(&req(Family::Financial, 1)),
        Verdict::Decline(*b"96")
    );
}

fn journal_in(dir: &std::path::Path) -> (Journal, journal::Producer) {
    let report = Journal::recover(dir)
        .unwrap()
        .replay(|_| Ok::<(), std::io::Error>(()))
        .unwrap();
    let (journal, mut producers) = Journal::start(JournalConfig::new(dir, 1), &report).unwrap();
    (journal, producers.pop().unwrap())
}

fn txn(n: u32, epoch: u32) -> TxnRef {
    let mut rrn = [b'0'; 12];
    rrn.copy_from_slice(format!("{n:012}").as_bytes());
    let mut stan = [b'0'; 6];
    stan.copy_from_slice(format!("{n:06}").as_bytes());
    TxnRef {
        originator: ParticipantIdx(ACQ),
        stan,
        transmitted_at: *b"1127181300",
        rrn,
        epoch,
        request_stan: stan,
        request_transmitted_at: *b"1127181300",
        auth_code: Some(*b"AUTH42"),
    }
}

#[test]
fn the_switch_trait_path_journals_approvals_and_releases_them_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, producer) = journal_in(dir.path());
    let epochs = Arc::new(EpochBoard::new(1, 1));
    let (hooks, _, _) = lcore_with(10_000);
    let mut hooks = hooks
        .with_journal(producer)
        .with_epochs(Arc::clone(&epochs));
    let purchase = req(Family::Financial, 2_500);
    assert_eq!(MoneyHooks::check(&mut hooks, &purchase), Verdict::Allow);
    let stamped = MoneyHooks::epoch(&hooks);
    assert_eq!(stamped, 1);
    let commit = hooks.outcome_txn(&purchase, &txn(42, stamped), *b"00");
    let ticket = match commit {
        Commit::Wait(t) => t,
        other => panic!("a sync journal holds the approval: {other:?}"),
    };
    while hooks.durable(ticket) == Durable::NotYet {
        std::thread::yield_now();
    }
    assert_eq!(hooks.durable(ticket), Durable::Yes);
    // A declined one is answered at once and recorded nowhere.
    assert_eq!(MoneyHooks::check(&mut hooks, &purchase), Verdict::Allow);
    assert_eq!(
        hooks.outcome_txn(&purchase, &txn(43, 1), *b"51"),
        Commit::Now
    );
    drop(hooks);
    journal.shutdown().unwrap();
    let (recovered, _) = ledger::recover(dir.path()).unwrap();
    let k = txn_key(&txn(42, 1));
    assert_eq!(k, key(ACQ, 42));
    assert!(matches!(
        recovered.transaction(&k),
        Some(TxnState::Posted { amount: 2_500, .. })
    ));
    assert_eq!(recovered.transaction(&txn_key(&txn(43, 1))), None);
    assert_eq!(recovered.window(1).unwrap().entries.len(), 1);
}

#[test]
fn an_approval_that_cannot_be_journaled_fails_and_gives_the_escrow_back() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, producer) = journal_in(dir.path());
    let (hooks, _, _) = lcore_with(1_000);
    let mut hooks = hooks.with_journal(producer);
    let purchase = req(Family::Financial, 1_000);
    assert_eq!(MoneyHooks::check(&mut hooks, &purchase), Verdict::Allow);
    journal.shutdown().unwrap();
    assert_eq!(
        hooks.outcome_txn(&purchase, &txn(1, 1), *b"00"),
        Commit::Failed
    );
    assert_eq!(hooks.escrow_mut().free(AccountKey::new(ACQ, EUR)), 1_000);
}

#[test]
fn the_lcore_stamps_the_window_it_observed_and_reports_passing_a_cutoff() {
    let epochs = Arc::new(EpochBoard::new(1, 1));
    let (hooks, _, _) = lcore_with(1_000);
    let mut hooks = hooks.with_epochs(Arc::clone(&epochs));
    assert_eq!(MoneyHooks::epoch(&hooks), 1);
    assert_eq!(epochs.flip(), (1, 2));
    assert_eq!(MoneyHooks::epoch(&hooks), 1, "until the next poll or check");
    assert!(!epochs.all_passed(1));
    hooks.tick();
    assert_eq!(MoneyHooks::epoch(&hooks), 2);
    assert!(epochs.all_passed(1));
}

#[test]
fn a_stan_is_its_six_digits_and_anything_else_cannot_collide_with_one() {
    assert_eq!(stan_number(b"000123"), 123);
    assert_eq!(stan_number(b"999999"), 999_999);
    assert!(stan_number(b"12A456") >= 0x8000_0000);
    assert_ne!(stan_number(b"12A456"), stan_number(b"12B456"));
}

/// Waits until `commit`'s record is durable.
fn wait_durable(hooks: &mut LcoreMoney, commit: Commit) {
    let Commit::Wait(ticket) = commit else {
        panic!("a sync journal holds the approval: {commit:?}");
    };
    while hooks.durable(ticket) == Durable::NotYet {
        std::thread::yield_now();
    }
    assert_eq!(hooks.durable(ticket), Durable::Yes);
}

#[test]
fn after_a_restart_the_duplicate_filter_answers_an_approved_request_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, producer) = journal_in(dir.path());
    let (hooks, _, _) = lcore_with(10_000);
    let mut hooks = hooks.with_journal(producer);
    // An approved 0200 (39=00, 38=AUTH42) ...
    let purchase = req(Family::Financial, 2_500);
    assert_eq!(MoneyHooks::check(&mut hooks, &purchase), Verdict::Allow);
    let commit = hooks.outcome_txn(&purchase, &txn(42, 1), *b"00");
    wait_durable(&mut hooks, commit);
    // ... and its 0400, whose own STAN and field 7 differ from the
    // original's that key the money (field 90).
    let reversal = req(Family::Reversal, 2_500);
    let mut rev = txn(42, 1);
    rev.request_stan = *b"000043";
    rev.request_transmitted_at = *b"1127181400";
    rev.auth_code = None;
    let commit = hooks.outcome_txn(&reversal, &rev, *b"00");
    wait_durable(&mut hooks, commit);
    drop(hooks);
    journal.shutdown().unwrap();

    // Restart: recover, seed a fresh filter as clearwayd seeds each lcore's.
    let (recovered, _) = ledger::recover(dir.path()).unwrap();
    let seed = duplicate_seed(recovered.recent_answers());
    assert_eq!(seed.len(), 2);
    let mut filter = DuplicateFilter::new(64).unwrap();
    assert_eq!(filter.seed(&seed), 2);
    let purchase_key = seed[0].0;
    assert_eq!(purchase_key.originator, ParticipantIdx(ACQ));
    assert_eq!(&purchase_key.stan, b"000042");
    assert_eq!(
        filter.check_and_insert(&purchase_key),
        Seen::Duplicate(Outcome::Answered {
            response_code: *b"00",
            auth_code: Some(*b"AUTH42"),
        }),
        "the retransmitted 0200 gets its 39 and 38 again"
    );
    let reversal_key = seed[1].0;
    assert_eq!(
        (&reversal_key.stan, &reversal_key.transmitted_at),
        (b"000043", b"1127181400"),
        "the 0400 is known by its own field 11 and 7"
    );
    assert_eq!(
        filter.check_and_insert(&reversal_key),
        Seen::Duplicate(Outcome::Answered {
            response_code: *b"00",
            auth_code: None,
        })
    );
}

#[test]
fn only_the_newest_answers_are_kept_for_the_duplicate_filter() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, producer) = journal_in(dir.path());
    let (hooks, _, _) = lcore_with(1_000_000);
    let mut hooks = hooks.with_journal(producer);
    let purchase = req(Family::Financial, 10);
    for n in 1..=20 {
        assert_eq!(MoneyHooks::check(&mut hooks, &purchase), Verdict::Allow);
        let commit = hooks.outcome_txn(&purchase, &txn(n, 1), *b"00");
        wait_durable(&mut hooks, commit);
    }
    drop(hooks);
    journal.shutdown().unwrap();
    let (recovered, _) = ledger::recover_keeping(dir.path(), 5).unwrap();
    let stans: Vec<[u8; 6]> = recovered.recent_answers().iter().map(|a| a.stan).collect();
    assert_eq!(
        stans,
        vec![*b"000016", *b"000017", *b"000018", *b"000019", *b"000020"]
    );
    assert_eq!(recovered.window(1).unwrap().entries.len(), 20);
}
