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

mod property {
    use super::*;
    use proptest::prelude::*;

    /// One operation on transaction `n` (of a small set, so they collide),
    /// or a reserve movement with reference `n`.
    fn op() -> impl Strategy<Value = MoneyRecord<'static>> {
        (0u8..8, 0u32..6, 1u64..5_000).prop_map(|(kind, n, amount)| {
            let k = key(ACQ, n);
            match kind {
                0 => approved(k, ISS, EUR, amount),
                1 => hold(k, ISS, EUR, amount, 1_000),
                2 => complete(k, ISS, EUR, amount),
                3 => release(k, ISS, EUR, amount),
                4 => reversal(k, ISS, EUR, amount),
                5 => deposit(ACQ, EUR, amount, u64::from(n)),
                6 => withdrawal(ACQ, EUR, amount, 100 + u64::from(n)),
                // Renumbered in order by the test.
                _ => cutoff(n, 0),
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Retries arrive after the original, any number of times, in any
        /// order: the money state is the state without them.
        #[test]
        fn retries_anywhere_after_the_original_change_nothing(
            mut ops in prop::collection::vec(op(), 1..40),
            retries in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..40),
        ) {
            // Cutoffs close windows in order, as the desk journals them.
            let mut next_window = 1;
            for r in ops.iter_mut() {
                if let MoneyRecord::Cutoff(_) = r {
                    *r = cutoff(next_window, 0);
                    next_window += 1;
                }
            }
            let mut with_retries: Vec<(usize, MoneyRecord<'static>)> =
                ops.iter().enumerate().map(|(i, r)| (i, *r)).collect();
            for (which, offset) in retries {
                let i = which.index(ops.len());
                // Insert the copy somewhere after the original's position.
                let at = with_retries.iter().position(|(j, _)| *j == i).unwrap();
                let to = at + 1 + offset.index(with_retries.len() - at);
                with_retries.insert(to, (usize::MAX, ops[i]));
            }
            let mut once = Ledger::new();
            for r in &ops {
                once.apply(RecordMeta::default(), r).unwrap();
            }
            let mut retried = Ledger::new();
            for (_, r) in &with_retries {
                retried.apply(RecordMeta::default(), r).unwrap();
            }
            prop_assert_eq!(money(&once), money(&retried));
        }
    }
}
