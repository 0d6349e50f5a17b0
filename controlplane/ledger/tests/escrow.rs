//! Specification: the lcores debit reserves from escrow slices without
//! locks and, together, never spend more than the account may.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use common::*;
use journal::money::LimitKind;
use ledger::{
    AccountKey, EscrowBoard, EscrowDecline, EscrowError, LcoreEscrow, Ledger, RecordMeta, Refiller,
};

const A: AccountKey = AccountKey {
    participant: ACQ,
    currency: EUR,
};

fn setup(
    lcores: usize,
    records: &[journal::money::MoneyRecord<'_>],
) -> (Ledger, Refiller, Vec<LcoreEscrow>) {
    let mut ledger = Ledger::new();
    apply_all(&mut ledger, 1, records);
    let board = Arc::new(EscrowBoard::new(lcores, 64).unwrap());
    let lcores = (0..lcores).map(|l| board.lcore(l).unwrap()).collect();
    let mut refiller = Refiller::new(board);
    refiller.refill(&ledger).unwrap();
    (ledger, refiller, lcores)
}

#[test]
fn the_lcores_together_can_spend_exactly_what_is_available_and_then_get_51() {
    let (_, _, mut lcores) = setup(
        2,
        &[
            deposit(ACQ, EUR, 1_000, 1),
            limit(ACQ, EUR, LimitKind::NetDebitCap, 200),
        ],
    );
    let mut total = 0;
    let mut declined = None;
    'outer: for _ in 0..1_000 {
        for l in lcores.iter_mut() {
            match l.reserve(A, 100) {
                Ok(()) => total += 100,
                Err(d) => {
                    declined = Some(d);
                    break 'outer;
                }
            }
        }
    }
    // Whatever is left in slices can still be spent by its own lcore.
    for l in lcores.iter_mut() {
        while l.reserve(A, 100).is_ok() {
            total += 100;
        }
    }
    assert_eq!(total, 1_200, "available = 1000 reserve + 200 cap");
    assert_eq!(declined.unwrap().response_code(), *b"51");
}

#[test]
fn the_daily_limit_caps_what_the_escrow_hands_out_and_declines_with_61() {
    let (_, _, mut lcores) = setup(
        2,
        &[
            deposit(ACQ, EUR, 10_000, 1),
            limit(ACQ, EUR, LimitKind::Daily, 350),
        ],
    );
    let mut total = 0;
    let mut last = None;
    for _ in 0..100 {
        for l in lcores.iter_mut() {
            match l.reserve(A, 50) {
                Ok(()) => total += 50,
                Err(d) => last = Some(d),
            }
        }
    }
    assert_eq!(total, 350);
    assert_eq!(last.unwrap().response_code(), *b"61");
}

#[test]
fn over_the_per_transaction_limit_is_61_and_an_unknown_account_is_51() {
    let (_, _, mut lcores) = setup(
        1,
        &[
            deposit(ACQ, EUR, 10_000, 1),
            limit(ACQ, EUR, LimitKind::PerTransaction, 500),
        ],
    );
    assert_eq!(
        lcores[0].reserve(A, 501),
        Err(EscrowDecline::OverTransactionLimit)
    );
    assert_eq!(EscrowDecline::OverTransactionLimit.response_code(), *b"61");
    assert!(lcores[0].reserve(A, 500).is_ok());
    let usd = AccountKey::new(ACQ, USD);
    assert_eq!(lcores[0].reserve(usd, 1), Err(EscrowDecline::NoAccount));
    assert_eq!(EscrowDecline::NoAccount.response_code(), *b"51");
}

#[test]
fn a_refund_gives_the_debit_back_to_the_lcore_that_took_it() {
    let (_, _, mut lcores) = setup(1, &[deposit(ACQ, EUR, 300, 1)]);
    assert!(lcores[0].reserve(A, 300).is_ok());
    assert!(lcores[0].reserve(A, 1).is_err());
    lcores[0].refund(A, 300);
    assert!(lcores[0].reserve(A, 300).is_ok());
}

#[test]
fn debits_the_ledger_has_applied_are_not_handed_out_again() {
    let (mut ledger, mut refiller, mut lcores) = setup(2, &[deposit(ACQ, EUR, 1_000, 1)]);
    assert!(lcores[0].reserve(A, 400).is_ok());
    // The approval's record reaches the ledger from lcore 0.
    ledger
        .apply(
            RecordMeta {
                lsn: 0,
                epoch: 1,
                lcore: 0,
            },
            &hold(key(ACQ, 1), ISS, EUR, 400, 10_000),
        )
        .unwrap();
    assert_eq!(refiller.outstanding(&ledger, A), 600);
    refiller.refill(&ledger).unwrap();
    let mut more = 0;
    for l in lcores.iter_mut() {
        while l.reserve(A, 50).is_ok() {
            more += 50;
        }
    }
    assert_eq!(more, 600);
    // A hold released puts the money back into circulation.
    apply_all(&mut ledger, 1, &[release(key(ACQ, 1), ISS, EUR, 400)]);
    refiller.refill(&ledger).unwrap();
    let mut again = 0;
    for l in lcores.iter_mut() {
        while l.reserve(A, 50).is_ok() {
            again += 50;
        }
    }
    // The 600 debited earlier are still in flight, so 400 is the most; a
    // fragment smaller than one debit may sit in each lcore's slice.
    assert!(again <= 400 && again > 400 - 2 * 50, "{again}");
}

#[test]
fn lowering_the_cap_makes_the_lcores_surrender_what_is_no_longer_available() {
    let (mut ledger, mut refiller, mut lcores) = setup(
        2,
        &[
            deposit(ACQ, EUR, 1_000, 1),
            limit(ACQ, EUR, LimitKind::NetDebitCap, 1_000),
        ],
    );
    assert_eq!(refiller.outstanding(&ledger, A), 2_000);
    apply_all(
        &mut ledger,
        1,
        &[limit(ACQ, EUR, LimitKind::NetDebitCap, 0)],
    );
    let report = refiller.refill(&ledger).unwrap();
    assert_eq!(report.over_committed, 1);
    for l in lcores.iter_mut() {
        l.poll();
    }
    assert_eq!(refiller.outstanding(&ledger, A), 0);
    refiller.refill(&ledger).unwrap();
    assert_eq!(refiller.outstanding(&ledger, A), 1_000);
    let mut total = 0;
    for l in lcores.iter_mut() {
        while l.reserve(A, 100).is_ok() {
            total += 100;
        }
    }
    assert_eq!(total, 1_000);
}

#[test]
fn an_idle_lcore_sitting_on_a_large_slice_is_asked_to_give_the_excess_back() {
    let (mut ledger, mut refiller, mut lcores) = setup(2, &[deposit(ACQ, EUR, 3_000, 1)]);
    // Lcore 0 spends everything it can reach; its records reach the ledger.
    let mut n = 0;
    while lcores[0].reserve(A, 100).is_ok() {
        n += 1;
        ledger
            .apply(
                RecordMeta {
                    lsn: 0,
                    epoch: 1,
                    lcore: 0,
                },
                &approved(key(ACQ, n), ISS, EUR, 100),
            )
            .unwrap();
    }
    // Lcore 1 still holds its 1000 slice; 2000 were spent on lcore 0, so
    // 1000 remain and lcore 0 has none of it.
    assert_eq!(n, 20);
    assert_eq!(lcores[1].free(A), 1_000);
    assert!(lcores[0].reserve(A, 100).is_err());
    // The refiller sees lcore 1 holding more than twice its share (1000 / 3)
    // and asks for the excess; lcore 1 gives it at its next burst.
    refiller.refill(&ledger).unwrap();
    lcores[1].poll();
    assert!(lcores[1].free(A) < 1_000);
    refiller.refill(&ledger).unwrap();
    let mut more = 0;
    while lcores[0].reserve(A, 100).is_ok() {
        more += 100;
    }
    assert!(more >= 600, "lcore 0 got {more} of the 1000 back into play");
    assert!(refiller.outstanding(&ledger, A) <= 1_000);
}

#[test]
fn under_concurrent_debits_and_refills_the_account_is_never_over_committed() {
    const LCORES: usize = 2;
    const PER_LCORE: u32 = 20_000;
    let mut ledger = Ledger::new();
    apply_all(&mut ledger, 1, &[deposit(ACQ, EUR, 50_000, 1)]);
    let board = Arc::new(EscrowBoard::new(LCORES, 16).unwrap());
    let mut refiller = Refiller::new(Arc::clone(&board));
    refiller.refill(&ledger).unwrap();
    let (tx, rx) = mpsc::channel::<(u16, u32, u64)>();
    let done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..LCORES)
        .map(|l| {
            let mut escrow = board.lcore(l).unwrap();
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut approved = 0u64;
                for n in 0..PER_LCORE {
                    escrow.poll();
                    let amount = 1 + u64::from(n % 17);
                    if escrow.reserve(A, amount).is_ok() {
                        // One in five is declined by the issuer: refunded.
                        if n % 5 == 0 {
                            escrow.refund(A, amount);
                        } else {
                            approved += amount;
                            tx.send((l as u16, n, amount)).unwrap();
                        }
                    }
                }
                approved
            })
        })
        .collect();
    drop(tx);
    // The control plane: apply approvals as they arrive, refill, and give
    // money back now and then (releases) so refills keep happening.
    let cp = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut seq = 0u32;
            let mut min_available = i128::MAX;
            for (lcore, n, amount) in rx {
                let k = key(ACQ, u32::from(lcore) * PER_LCORE + n);
                ledger
                    .apply(
                        RecordMeta {
                            lsn: 0,
                            epoch: 1,
                            lcore,
                        },
                        &approved(k, ISS, EUR, amount),
                    )
                    .unwrap();
                let a = ledger.account(A).unwrap();
                min_available = min_available.min(a.available());
                seq += 1;
                if seq & 63 == 0 {
                    refiller.refill(&ledger).unwrap();
                }
                if seq & 1023 == 0 {
                    apply_all(
                        &mut ledger,
                        1,
                        &[deposit(ACQ, EUR, 2_000, u64::from(seq) + 10)],
                    );
                }
            }
            done.store(true, Ordering::Release);
            (ledger, min_available)
        })
    };
    let spent: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let (ledger, min_available) = cp.join().unwrap();
    let a = ledger.account(A).unwrap();
    assert!(
        min_available >= 0,
        "over-committed: available fell to {min_available}"
    );
    assert_eq!(a.net_position, i128::from(spent));
    assert!(spent > 0);
}

#[test]
fn each_lcore_gets_exactly_one_escrow_handle() {
    let board = Arc::new(EscrowBoard::new(2, 8).unwrap());
    assert!(board.lcore(1).is_ok());
    assert_eq!(
        board.lcore(1).unwrap_err(),
        EscrowError::LcoreTaken { lcore: 1 }
    );
    assert_eq!(
        board.lcore(2).unwrap_err(),
        EscrowError::NoSuchLcore {
            lcore: 2,
            lcores: 2
        }
    );
    assert_eq!(
        EscrowBoard::new(0, 8).unwrap_err(),
        EscrowError::BadSize {
            lcores: 0,
            capacity: 8
        }
    );
}

#[test]
fn an_absurd_amount_is_declined_not_wrapped() {
    let (_, _, mut lcores) = setup(1, &[deposit(ACQ, EUR, 1_000, 1)]);
    assert_eq!(
        lcores[0].reserve(A, u64::MAX),
        Err(EscrowDecline::Short(*b"51"))
    );
    assert!(lcores[0].reserve(A, 1_000).is_ok());
}
