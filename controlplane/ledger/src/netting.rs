//! Netting of a closed clearing window: the multilateral net position of
//! each participant per currency, the bilateral matrix, counts and gross.
//!
//! Every clearing entry moves `amount` from a payer to a payee in one
//! currency, so it adds the same amount to one debit and one credit: the
//! nets of a currency therefore sum to exactly zero, which
//! [`NettingResult::zero_sum`] checks and the property tests assert.
//!
//! Cost: one pass over the entries with two account look-ups and one
//! bilateral look-up each in small Fx hash tables (participants × currencies
//! are few, so they stay in cache), then a sort of the small result tables.

use rustc_hash::FxHashMap;

use crate::types::{Currency, Epoch, ParticipantId, TxnKey};

/// What kind of movement a clearing entry records (the detail file's
/// `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EntryKind {
    /// An approved 0200 (or a 0220 without a hold).
    Financial = 1,
    /// A 0220 completing a hold.
    Completion = 2,
    /// A 0400/0420 reversing an earlier movement (payer and payee swapped).
    Reversal = 3,
}

impl EntryKind {
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Financial => "financial",
            EntryKind::Completion => "completion",
            EntryKind::Reversal => "reversal",
        }
    }
}

/// One money movement in a window: `payer` pays `payee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearingEntry {
    pub key: TxnKey,
    pub payer: ParticipantId,
    pub payee: ParticipantId,
    pub amount: u64,
    pub currency: Currency,
    pub kind: EntryKind,
}

/// One participant's result in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetRow {
    pub participant: ParticipantId,
    pub currency: Currency,
    /// Sum of what it pays.
    pub debit: u128,
    /// Sum of what it receives.
    pub credit: u128,
    /// Entries it takes part in, on either side.
    pub count: u64,
}

impl NetRow {
    /// Positive: the participant receives money at settlement.
    pub fn net(&self) -> i128 {
        self.credit as i128 - self.debit as i128
    }
}

/// Gross flow from one payer to one payee in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BilateralRow {
    pub payer: ParticipantId,
    pub payee: ParticipantId,
    pub currency: Currency,
    pub gross: u128,
    pub count: u64,
}

/// Totals of one currency across every participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CurrencyTotal {
    pub currency: Currency,
    /// Sum of the entries' amounts.
    pub gross: u128,
    pub count: u64,
    /// Sum of the participants' nets; zero when the netting is sound.
    pub net_sum: i128,
}

/// The netting of one window, every table sorted so output is stable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NettingResult {
    pub epoch: Epoch,
    /// Sorted by (participant, currency).
    pub rows: Vec<NetRow>,
    /// Sorted by (currency, payer, payee).
    pub bilateral: Vec<BilateralRow>,
    /// Sorted by currency.
    pub totals: Vec<CurrencyTotal>,
    pub transactions: u64,
}

impl NettingResult {
    /// True when every currency's nets sum to exactly zero.
    pub fn zero_sum(&self) -> bool {
        self.totals.iter().all(|t| t.net_sum == 0)
    }
}

/// Nets `entries` of window `epoch`.
pub fn net(epoch: Epoch, entries: &[ClearingEntry]) -> NettingResult {
    let mut rows: FxHashMap<(ParticipantId, Currency), NetRow> = FxHashMap::default();
    let mut bilateral: FxHashMap<(ParticipantId, ParticipantId, Currency), BilateralRow> =
        FxHashMap::default();
    for e in entries {
        let amount = u128::from(e.amount);
        let payer = rows.entry((e.payer, e.currency)).or_insert_with(|| NetRow {
            participant: e.payer,
            currency: e.currency,
            ..NetRow::default()
        });
        payer.debit += amount;
        payer.count += 1;
        let payee = rows.entry((e.payee, e.currency)).or_insert_with(|| NetRow {
            participant: e.payee,
            currency: e.currency,
            ..NetRow::default()
        });
        payee.credit += amount;
        // A participant paying itself (on-us) takes part once.
        if e.payee != e.payer {
            payee.count += 1;
        }
        let pair = bilateral
            .entry((e.payer, e.payee, e.currency))
            .or_insert_with(|| BilateralRow {
                payer: e.payer,
                payee: e.payee,
                currency: e.currency,
                ..BilateralRow::default()
            });
        pair.gross += amount;
        pair.count += 1;
    }
    let mut rows: Vec<NetRow> = rows.into_values().collect();
    rows.sort_unstable_by_key(|r| (r.participant, r.currency));
    let mut bilateral: Vec<BilateralRow> = bilateral.into_values().collect();
    bilateral.sort_unstable_by_key(|b| (b.currency, b.payer, b.payee));
    let mut totals: FxHashMap<Currency, CurrencyTotal> = FxHashMap::default();
    for b in &bilateral {
        let t = totals.entry(b.currency).or_insert_with(|| CurrencyTotal {
            currency: b.currency,
            ..CurrencyTotal::default()
        });
        t.gross += b.gross;
        t.count += b.count;
    }
    for r in &rows {
        if let Some(t) = totals.get_mut(&r.currency) {
            t.net_sum += r.net();
        }
    }
    let mut totals: Vec<CurrencyTotal> = totals.into_values().collect();
    totals.sort_unstable_by_key(|t| t.currency);
    NettingResult {
        epoch,
        rows,
        bilateral,
        totals,
        transactions: entries.len() as u64,
    }
}
