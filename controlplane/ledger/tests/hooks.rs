//! Specification: the switch lcore's hooks — reserve check before
//! forwarding, escrow refund on a decline, journal record on an approval.
#![cfg(feature = "switch-hooks")]

mod common;

use std::sync::Arc;

use common::*;
use journal::{Journal, JournalConfig, Release};
use ledger::hooks::LcoreMoney;
use ledger::{AccountKey, CoarseClock, EscrowBoard, Ledger, Refiller, TxnState};
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
