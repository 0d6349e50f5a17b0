//! The identifiers every part of the money state shares.

/// A participant as numbered by the control plane (the switch's
/// `ParticipantIdx` carries the same number).
pub type ParticipantId = journal::money::ParticipantId;

/// ISO 4217 numeric currency code (field 49).
pub type Currency = u16;

/// A clearing window's number. Window `e` collects every transaction whose
/// request an lcore stamped with `e`.
pub type Epoch = u32;

/// One reserve account: a participant's money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    pub participant: ParticipantId,
    pub currency: Currency,
}

impl AccountKey {
    pub fn new(participant: ParticipantId, currency: Currency) -> AccountKey {
        AccountKey {
            participant,
            currency,
        }
    }
}

/// What makes a transaction unique across duplicates and retries: the
/// originator plus field 11 (STAN), field 7 (transmission date and time)
/// and field 37 (RRN) — the same key as the switch's duplicate filter.
/// Every operation on a transaction is applied at most once per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TxnKey {
    pub originator: ParticipantId,
    pub stan: u32,
    /// Field 7, MMDDhhmmss as ASCII digits.
    pub transmission: [u8; 10],
    /// Field 37, 12 characters.
    pub rrn: [u8; 12],
}

impl TxnKey {
    /// The key of a journal record, whose payload carries the originator
    /// beside the (STAN, field 7, RRN) triple.
    pub fn from_journal(originator: ParticipantId, key: &journal::money::TxnKey) -> TxnKey {
        TxnKey {
            originator,
            stan: key.stan,
            transmission: key.transmission,
            rrn: key.rrn,
        }
    }

    /// The (STAN, field 7, RRN) triple as the journal stores it.
    pub fn journal_key(&self) -> journal::money::TxnKey {
        journal::money::TxnKey {
            stan: self.stan,
            transmission: self.transmission,
            rrn: self.rrn,
        }
    }
}

/// Where a record sits in the journal and which window and lcore stamped
/// it: the record header's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordMeta {
    pub lsn: u64,
    pub epoch: Epoch,
    pub lcore: u16,
}

impl RecordMeta {
    pub fn of(header: &journal::RecordHeader) -> RecordMeta {
        RecordMeta {
            lsn: header.lsn,
            epoch: header.epoch,
            lcore: header.lcore,
        }
    }
}
