//! Specification: reserve arithmetic, limits, and what each operation does
//! to the payer's and payee's accounts.

mod common;

use common::*;
use journal::money::LimitKind;
use ledger::{AccountKey, Applied, Ledger, ReserveAccount, Shortfall, TxnState, UNLIMITED};

struct Case {
    name: &'static str,
    reserve: i128,
    cap: u64,
    position: i128,
    holds: i128,
    per_txn: u64,
    daily: u64,
    used: u128,
    amount: u64,
    /// `None`: approved; `Some(code)`: declined with field 39 = code.
    expect: Option<&'static [u8; 2]>,
}

const fn case(
    name: &'static str,
    reserve: i128,
    cap: u64,
    position: i128,
    holds: i128,
    amount: u64,
    expect: Option<&'static [u8; 2]>,
) -> Case {
    Case {
        name,
        reserve,
        cap,
        position,
        holds,
        per_txn: UNLIMITED,
        daily: UNLIMITED,
        used: 0,
        amount,
        expect,
    }
}

#[test]
fn available_is_reserve_plus_cap_minus_position_minus_holds_and_debits_beyond_it_get_51() {
    let cases = [
        case("exactly the reserve", 1_000, 0, 0, 0, 1_000, None),
        case(
            "one unit over the reserve",
            1_000,
            0,
            0,
            0,
            1_001,
            Some(b"51"),
        ),
        case(
            "the cap covers the shortfall",
            1_000,
            500,
            0,
            0,
            1_500,
            None,
        ),
        case(
            "one over reserve plus cap",
            1_000,
            500,
            0,
            0,
            1_501,
            Some(b"51"),
        ),
        case(
            "a debit position eats into it",
            1_000,
            0,
            400,
            0,
            601,
            Some(b"51"),
        ),
        case(
            "a credit position adds to it",
            1_000,
            0,
            -400,
            0,
            1_400,
            None,
        ),
        case("holds eat into it", 1_000, 0, 0, 300, 701, Some(b"51")),
        case("all four together", 1_000, 200, 300, 100, 800, None),
        case("all four, one over", 1_000, 200, 300, 100, 801, Some(b"51")),
        case("already over-committed", 100, 0, 150, 0, 1, Some(b"51")),
        case("a zero amount always fits", 0, 0, 0, 0, 0, None),
    ];
    for c in cases {
        let account = ReserveAccount {
            reserve_balance: c.reserve,
            net_debit_cap: c.cap,
            net_position: c.position,
            holds: c.holds,
            ..ReserveAccount::default()
        };
        assert_eq!(
            account.available(),
            c.reserve + i128::from(c.cap) - c.position - c.holds,
            "{}",
            c.name
        );
        let got = account
            .check_debit(c.amount)
            .err()
            .map(|s| s.response_code());
        assert_eq!(got, c.expect.copied(), "{}", c.name);
    }
}

#[test]
fn limits_decline_with_61_before_funds_are_looked_at() {
    let cases = [
        Case {
            per_txn: 500,
            ..case("at the per-transaction limit", 10_000, 0, 0, 0, 500, None)
        },
        Case {
            per_txn: 500,
            ..case(
                "over the per-transaction limit",
                10_000,
                0,
                0,
                0,
                501,
                Some(b"61"),
            )
        },
        Case {
            daily: 1_000,
            used: 600,
            ..case("within what the day has left", 10_000, 0, 0, 0, 400, None)
        },
        Case {
            daily: 1_000,
            used: 600,
            ..case(
                "over what the day has left",
                10_000,
                0,
                0,
                0,
                401,
                Some(b"61"),
            )
        },
        Case {
            per_txn: 50,
            ..case(
                "over a limit and short of funds",
                10,
                0,
                0,
                0,
                100,
                Some(b"61"),
            )
        },
    ];
    for c in cases {
        let account = ReserveAccount {
            reserve_balance: c.reserve,
            net_debit_cap: c.cap,
            net_position: c.position,
            holds: c.holds,
            per_transaction_limit: c.per_txn,
            daily_limit: c.daily,
            daily_used: c.used,
        };
        let got = account
            .check_debit(c.amount)
            .err()
            .map(|s| s.response_code());
        assert_eq!(got, c.expect.copied(), "{}", c.name);
    }
}

/// (reserve, position, holds, available)
type Balances = (i128, i128, i128, i128);

fn state(ledger: &Ledger, p: u32) -> Balances {
    let a = ledger
        .account(AccountKey::new(p, EUR))
        .copied()
        .unwrap_or_default();
    (a.reserve_balance, a.net_position, a.holds, a.available())
}

#[test]
fn a_day_of_operations_moves_reserve_position_and_holds_as_specified() {
    let mut l = Ledger::new();
    // (step, records, payer (reserve, position, holds, available), payee position)
    let steps: Vec<(&str, Vec<_>, Balances, i128)> = vec![
        (
            "deposit 1000",
            vec![deposit(ACQ, EUR, 1_000, 1)],
            (1_000, 0, 0, 1_000),
            0,
        ),
        (
            "net debit cap 500",
            vec![limit(ACQ, EUR, LimitKind::NetDebitCap, 500)],
            (1_000, 0, 0, 1_500),
            0,
        ),
        (
            "0100 approved: hold 300",
            vec![hold(key(ACQ, 1), ISS, EUR, 300, 10_000)],
            (1_000, 0, 300, 1_200),
            0,
        ),
        (
            "0220 completes it at 250",
            vec![complete(key(ACQ, 1), ISS, EUR, 250)],
            (1_000, 250, 0, 1_250),
            -250,
        ),
        (
            "0200 approved 100",
            vec![approved(key(ACQ, 2), ISS, EUR, 100)],
            (1_000, 350, 0, 1_150),
            -350,
        ),
        (
            "0420 reverses the 0200",
            vec![reversal(key(ACQ, 2), ISS, EUR, 100)],
            (1_000, 250, 0, 1_250),
            -250,
        ),
        (
            "0100 hold 200 then 0400 releases it",
            vec![
                hold(key(ACQ, 3), ISS, EUR, 200, 10_000),
                reversal(key(ACQ, 3), ISS, EUR, 200),
            ],
            (1_000, 250, 0, 1_250),
            -250,
        ),
        (
            "withdrawal of 200",
            vec![withdrawal(ACQ, EUR, 200, 2)],
            (800, 250, 0, 1_050),
            -250,
        ),
    ];
    for (step, records, payer, payee_position) in steps {
        for a in apply_all(&mut l, 1, &records) {
            assert_eq!(a, Applied::Changed, "{step}");
        }
        assert_eq!(state(&l, ACQ), payer, "{step}: payer");
        assert_eq!(state(&l, ISS).1, payee_position, "{step}: payee position");
    }
}

#[test]
fn a_withdrawal_beyond_available_is_rejected_and_moves_nothing() {
    let mut l = Ledger::new();
    apply_all(&mut l, 1, &[deposit(ACQ, EUR, 1_000, 1)]);
    apply_all(&mut l, 1, &[hold(key(ACQ, 1), ISS, EUR, 400, 10_000)]);
    assert!(matches!(
        l.withdraw(ACQ, EUR, 601, 2, 0),
        Err(ledger::CommandError::WithdrawalExceedsAvailable { .. })
    ));
    assert!(matches!(
        l.withdraw(ACQ, EUR, 501, 2, 100),
        Err(ledger::CommandError::WithdrawalExceedsAvailable { .. })
    ));
    // A record that got into the journal anyway is rejected on apply.
    let got = apply_all(&mut l, 1, &[withdrawal(ACQ, EUR, 601, 3)]);
    assert_eq!(
        got,
        vec![Applied::Rejected(Shortfall::Insufficient {
            available: 600,
            amount: 601
        })]
    );
    assert_eq!(state(&l, ACQ), (1_000, 0, 400, 600));
}

#[test]
fn holds_expire_after_their_time_and_only_then() {
    let mut l = Ledger::new();
    apply_all(
        &mut l,
        1,
        &[
            deposit(ACQ, EUR, 1_000, 1),
            hold(key(ACQ, 1), ISS, EUR, 100, 5_000),
            hold(key(ACQ, 2), ISS, EUR, 200, 9_000),
        ],
    );
    assert!(l.expired_holds(4_999, 10).is_empty());
    let due = l.expired_holds(5_000, 10);
    assert_eq!(due.len(), 1);
    apply_all(&mut l, 1, &due);
    assert_eq!(state(&l, ACQ).2, 200);
    assert_eq!(l.transaction(&key(ACQ, 1)), Some(&TxnState::Released));
    let due = l.expired_holds(60_000, 10);
    apply_all(&mut l, 1, &due);
    assert_eq!(state(&l, ACQ), (1_000, 0, 0, 1_000));
    assert!(l.expired_holds(u64::MAX, 10).is_empty());
}

#[test]
fn daily_usage_restarts_with_the_first_cutoff_of_a_new_utc_day() {
    let day = 86_400_000u64;
    let mut l = Ledger::new();
    apply_all(
        &mut l,
        1,
        &[
            deposit(ACQ, EUR, 10_000, 1),
            limit(ACQ, EUR, LimitKind::Daily, 1_000),
            cutoff(1, 10 * day + 1),
        ],
    );
    apply_all(&mut l, 2, &[approved(key(ACQ, 1), ISS, EUR, 900)]);
    let a = *l.account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!(a.check_debit(101).unwrap_err().response_code(), *b"61");
    apply_all(&mut l, 2, &[cutoff(2, 10 * day + 5_000)]);
    let a = *l.account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!(a.daily_used, 900, "same day: usage stays");
    apply_all(&mut l, 3, &[cutoff(3, 11 * day)]);
    let a = *l.account(AccountKey::new(ACQ, EUR)).unwrap();
    assert_eq!(a.daily_used, 0, "new day: usage restarts");
    assert!(a.check_debit(1_000).is_ok());
}

#[test]
fn commands_refuse_what_would_be_wrong_to_journal() {
    let l = Ledger::new();
    assert!(matches!(
        l.deposit(ACQ, EUR, 0, 1),
        Err(ledger::CommandError::ZeroAmount { .. })
    ));
    assert!(matches!(
        l.withdraw(ACQ, EUR, 1, 1, 0),
        Err(ledger::CommandError::NoAccount { .. })
    ));
    assert!(matches!(
        l.set_limit(ACQ, EUR, LimitKind::Daily, 5, ""),
        Err(ledger::CommandError::BadReason { len: 0 })
    ));
    assert!(matches!(
        l.cutoff(2, 3, 0),
        Err(ledger::CommandError::BadCutoff { open: 1, .. })
    ));
    assert!(l.cutoff(1, 2, 0).is_ok());
}
