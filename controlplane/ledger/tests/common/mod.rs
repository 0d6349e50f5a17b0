//! Builders shared by the specification tests.
#![allow(dead_code)]

use journal::money::{
    Approved, Cutoff, Hold, HoldComplete, HoldRelease, LimitChange, LimitKind, MoneyRecord, Mti,
    ReleaseReason, ReserveMovement, ResponseCode, Reversal,
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
    })
}

pub fn hold(k: TxnKey, issuer: u32, cur: u16, amount: u64, expires: u64) -> MoneyRecord<'static> {
    MoneyRecord::Hold(Hold {
        originator: k.originator,
        issuer,
        key: k.journal_key(),
        amount,
        currency: cur,
        expires_at_ms: expires,
    })
}

pub fn complete(k: TxnKey, issuer: u32, cur: u16, amount: u64) -> MoneyRecord<'static> {
    MoneyRecord::HoldComplete(HoldComplete {
        originator: k.originator,
        issuer,
        key: k.journal_key(),
        amount,
        currency: cur,
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
