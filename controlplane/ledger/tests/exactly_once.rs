//! Specification: duplicates and retries never double-count.

mod common;

use common::*;
use journal::money::MoneyRecord;
use ledger::{AccountKey, Applied, Ledger, RecordMeta};

/// What the money state shows, ignoring the escrow bookkeeping (which
/// counts duplicates on purpose so their escrow is released).
fn money(l: &Ledger) -> String {
    let accounts: Vec<_> = l.accounts().map(|(k, a)| (*k, *a)).collect();
    let windows: Vec<_> = l.windows().map(|(e, w)| (*e, w.clone())).collect();
    format!("{accounts:?}\n{windows:?}\n{}", l.open_epoch())
}

fn scenario() -> Vec<MoneyRecord<'static>> {
    vec![
        deposit(ACQ, EUR, 5_000, 1),
        hold(key(ACQ, 1), ISS, EUR, 300, 10_000),
        complete(key(ACQ, 1), ISS, EUR, 300),
        approved(key(ACQ, 2), ISS, EUR, 700),
        reversal(key(ACQ, 2), ISS, EUR, 700),
        hold(key(ACQ, 3), ISS, EUR, 50, 10_000),
        release(key(ACQ, 3), ISS, EUR, 50),
        withdrawal(ACQ, EUR, 100, 2),
        approved(key(ACQ, 4), ISS, EUR, 10),
    ]
}

#[test]
fn every_operation_applied_twice_in_a_row_counts_once() {
    let mut once = Ledger::new();
    apply_all(&mut once, 1, &scenario());
    let mut twice = Ledger::new();
    for r in scenario() {
        let first = apply_all(&mut twice, 1, &[r]);
        let second = apply_all(&mut twice, 1, &[r]);
        assert_eq!(first, vec![Applied::Changed], "{r:?}");
        assert_eq!(second, vec![Applied::Duplicate], "retry of {r:?}");
    }
    assert_eq!(money(&once), money(&twice));
}

#[test]
fn replaying_the_whole_day_again_changes_nothing() {
    let mut l = Ledger::new();
    apply_all(&mut l, 1, &scenario());
    let before = money(&l);
    let again = apply_all(&mut l, 1, &scenario());
    assert!(again.iter().all(|a| *a == Applied::Duplicate), "{again:?}");
    assert_eq!(money(&l), before);
}

#[test]
fn a_late_copy_of_an_approval_after_its_reversal_is_not_posted_again() {
    let mut l = Ledger::new();
    apply_all(
        &mut l,
        1,
        &[
            approved(key(ACQ, 9), ISS, EUR, 400),
            reversal(key(ACQ, 9), ISS, EUR, 400),
        ],
    );
    assert_eq!(
        apply_all(&mut l, 1, &[approved(key(ACQ, 9), ISS, EUR, 400)]),
        vec![Applied::Duplicate]
    );
    let a = l.account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!(a.net_position, 0);
}

#[test]
fn a_reversal_for_an_original_never_approved_blocks_the_original_arriving_later() {
    let mut l = Ledger::new();
    apply_all(&mut l, 1, &[reversal(key(ACQ, 5), ISS, EUR, 400)]);
    assert_eq!(
        apply_all(&mut l, 1, &[approved(key(ACQ, 5), ISS, EUR, 400)]),
        vec![Applied::Duplicate]
    );
    assert_eq!(l.account(AccountKey::new(ACQ, EUR)), None);
}

#[test]
fn the_same_stan_from_two_originators_is_two_transactions() {
    let mut l = Ledger::new();
    let got = apply_all(
        &mut l,
        1,
        &[
            approved(key(ACQ, 1), ISS, EUR, 10),
            approved(key(7, 1), ISS, EUR, 10),
        ],
    );
    assert_eq!(got, vec![Applied::Changed, Applied::Changed]);
    assert_eq!(l.window(1).unwrap().entries.len(), 2);
}

#[test]
fn a_record_re_read_at_an_lsn_already_applied_is_skipped() {
    let mut l = Ledger::new();
    let meta = |lsn| RecordMeta {
        lsn,
        epoch: 1,
        lcore: 0,
    };
    let d = deposit(ACQ, EUR, 100, 1);
    assert_eq!(l.apply(meta(1), &d), Ok(Applied::Changed));
    assert_eq!(
        l.apply(meta(1), &deposit(ACQ, EUR, 100, 2)),
        Ok(Applied::Duplicate)
    );
    assert_eq!(l.last_lsn(), 1);
    assert_eq!(
        l.account(AccountKey::new(ACQ, EUR))
            .unwrap()
            .reserve_balance,
        100
    );
}

#[test]
fn a_completion_retried_after_a_partial_reversal_is_still_one_completion() {
    let mut l = Ledger::new();
    apply_all(
        &mut l,
        1,
        &[
            hold(key(ACQ, 1), ISS, EUR, 500, 10_000),
            complete(key(ACQ, 1), ISS, EUR, 500),
            reversal(key(ACQ, 1), ISS, EUR, 200),
            complete(key(ACQ, 1), ISS, EUR, 500),
            reversal(key(ACQ, 1), ISS, EUR, 200),
        ],
    );
    let a = l.account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!((a.holds, a.net_position), (0, 300));
}
