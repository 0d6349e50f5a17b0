//! Builders shared by the specification tests.
#![allow(dead_code)]

use journal::money::{
    Answer, Approved, Cutoff, Hold, HoldComplete, HoldRelease, LimitChange, LimitKind, MoneyRecord,
    Mti, ReleaseReason, ReserveMovement, ResponseCode, Reversal,
};
use ledger::{Applied, Epoch, Ledger, RecordMeta, TxnKey};

pub const EUR: u16 = 978;
pub const USD: u16 = 840;
/// Acquirers (payers) and issuers (payees) used in scenarios.
pub const ACQ: u32 = 1;
pub const ISS: u32 = 2;

/// The key of transaction `n` from `originator`.
pub fn key(originator: u32, n: u32) -> TxnKey {
    let mut rrn = [b'0'; 12];
    rrn.copy_from_slice(format!("{n:012}").as_bytes());
    TxnKey {
        originator,
        stan: n % 1_000_000,
        transmission: *b"1127181300",
        rrn,
    }
}

pub fn deposit(p: u32, cur: u16, amount: u64, reference: u64) -> MoneyRecord<'static> {
    MoneyRecord::Deposit(ReserveMovement {
        participant: p,
        currency: cur,
        amount,
        reference,
    })
}

pub fn withdrawal(p: u32, cur: u16, amount: u64, reference: u64) -> MoneyRecord<'static> {
    MoneyRecord::Withdrawal(ReserveMovement {
        participant: p,
        currency: cur,
        amount,
        reference,
    })
}

pub fn limit(p: u32, cur: u16, kind: LimitKind, value: u64) -> MoneyRecord<'static> {
    MoneyRecord::LimitChange(LimitChange {
        participant: p,
        currency: cur,
        limit: kind,
        value,
        reason: "risk review",
    })
}

pub fn approved(k: TxnKey, issuer: u32, cur: u16, amount: u64) -> MoneyRecord<'static> {
    MoneyRecord::Approved(Approved {
        originator: k.originator,
        issuer,
        mti: Mti(200),
        key: k.journal_key(),
        amount,
        currency: cur,
        response_code: ResponseCode(*b"00"),
        answer: Some(answer_for(&k)),
    })
}

/// The answer an lcore journals with an approval of `k`: its own field 11
/// and 7, 39=00 and a field 38.
pub fn answer_for(k: &TxnKey) -> Answer {
    let mut stan = [b'0'; 6];
    stan.copy_from_slice(format!("{:06}", k.stan % 1_000_000).as_bytes());
    Answer {
        stan,
        transmission: k.transmission,
        response_code: ResponseCode(*b"00"),
        auth_code: Some(*b"AUTH01"),
    }
}

pub fn hold(k: TxnKey, issuer: u32, cur: u16, amount: u64, expires: u64) -> MoneyRecord<'static> {
    MoneyRecord::Hold(Hold {
        originator: k.originator,
        issuer,
        key: k.journal_key(),
        amount,
        currency: cur,
        expires_at_ms: expires,
        answer: None,
    })
}

pub fn complete(k: TxnKey, issuer: u32, cur: u16, amount: u64) -> MoneyRecord<'static> {
    MoneyRecord::HoldComplete(HoldComplete {
        originator: k.originator,
        issuer,
        key: k.journal_key(),
        amount,
        currency: cur,
        answer: None,
    })
}

pub fn release(k: TxnKey, issuer: u32, cur: u16, amount: u64) -> MoneyRecord<'static> {
    MoneyRecord::HoldRelease(HoldRelease {
        originator: k.originator,
        issuer,
        key: k.journal_key(),
        amount,
        currency: cur,
        reason: ReleaseReason::Reversed,
    })
}

pub fn reversal(k: TxnKey, issuer: u32, cur: u16, amount: u64) -> MoneyRecord<'static> {
    MoneyRecord::Reversal(Reversal {
        originator: k.originator,
        issuer,
        mti: Mti(420),
        key: k.journal_key(),
        amount,
        currency: cur,
        response_code: ResponseCode(*b"00"),
        answer: None,
    })
}

pub fn cutoff(closed: Epoch, at: u64) -> MoneyRecord<'static> {
    MoneyRecord::Cutoff(Cutoff {
        closed_epoch: closed,
        opened_epoch: closed + 1,
        at_unix_ms: at,
    })
}

/// Applies records outside a journal (LSN 0), stamped with `epoch`, from
/// lcore 0, and returns what each did.
pub fn apply_all(ledger: &mut Ledger, epoch: Epoch, records: &[MoneyRecord<'_>]) -> Vec<Applied> {
    records
        .iter()
        .map(|r| {
            ledger
                .apply(
                    RecordMeta {
                        lsn: 0,
                        epoch,
                        lcore: 0,
                    },
                    r,
                )
                .expect("record applies")
        })
        .collect()
}

/// A day of business written to a journal in `dir` by one producer (so
/// LSNs follow append order) and applied to a live ledger the same way the
/// control plane would: window 1 with holds, completions, approvals,
/// reversals and an expiry, a cutoff, its settlement, then traffic in the
/// open window 2. Returns the live ledger.
pub fn journaled_day(dir: &std::path::Path) -> Ledger {
    use journal::money::LimitKind;
    use journal::{Journal, JournalConfig};
    let report = Journal::recover(dir)
        .unwrap()
        .replay(|_| Ok::<(), std::io::Error>(()))
        .unwrap();
    let (journal, mut producers) = Journal::start(JournalConfig::new(dir, 1), &report).unwrap();
    let p = &mut producers[0];
    let mut live = Ledger::new();
    let mut lsn = report.next_lsn - 1;
    let mut write = |live: &mut Ledger, epoch: Epoch, r: &MoneyRecord<'_>| {
        p.append(epoch, r).unwrap();
        lsn += 1;
        live.apply(
            RecordMeta {
                lsn,
                epoch,
                lcore: 0,
            },
            r,
        )
        .unwrap();
    };
    for (i, participant) in [ACQ, ISS, 3].into_iter().enumerate() {
        write(
            &mut live,
            1,
            &deposit(participant, EUR, 100_000, i as u64 + 1),
        );
    }
    write(
        &mut live,
        1,
        &limit(ACQ, EUR, LimitKind::NetDebitCap, 50_000),
    );
    write(&mut live, 1, &limit(3, EUR, LimitKind::Daily, 80_000));
    for n in 0..60u32 {
        let payer = [ACQ, ISS, 3][n as usize % 3];
        let payee = [ISS, 3, ACQ][n as usize % 3];
        let k = key(payer, n);
        let amount = 1_000 + u64::from(n) * 37;
        match n % 6 {
            0 => write(&mut live, 1, &approved(k, payee, EUR, amount)),
            1 => {
                write(&mut live, 1, &hold(k, payee, EUR, amount, 5_000));
                write(&mut live, 1, &complete(k, payee, EUR, amount - 10));
            }
            2 => {
                write(&mut live, 1, &approved(k, payee, EUR, amount));
                write(&mut live, 1, &reversal(k, payee, EUR, amount));
            }
            3 => write(
                &mut live,
                1,
                &hold(k, payee, EUR, amount, 5_000 + u64::from(n)),
            ),
            4 => {
                // A duplicate from a retry.
                write(&mut live, 1, &approved(k, payee, EUR, amount));
                write(&mut live, 1, &approved(k, payee, EUR, amount));
            }
            _ => write(&mut live, 1, &approved(k, payee, USD, amount)),
        }
    }
    for r in live.expired_holds(5_030, 100) {
        write(&mut live, 1, &r);
    }
    write(&mut live, 1, &withdrawal(ISS, EUR, 5_000, 9));
    let c = live.cutoff(1, 2, 1_700_000_000_000).unwrap();
    write(&mut live, 0, &c);
    // In flight at the flip: stamped window 1, journaled after the cutoff.
    write(&mut live, 1, &approved(key(ACQ, 900), ISS, EUR, 777));
    let run = ledger::settle(&live, 1).unwrap();
    for r in run.journal_records() {
        write(&mut live, 0, &r);
    }
    for n in 1_000..1_010u32 {
        write(&mut live, 2, &approved(key(ISS, n), 3, EUR, u64::from(n)));
    }
    write(&mut live, 2, &hold(key(3, 5_000), ACQ, EUR, 4_321, 99_999));
    journal.shutdown().unwrap();
    live
}
