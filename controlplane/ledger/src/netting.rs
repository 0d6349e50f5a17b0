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

/// Largest dense bilateral matrix (cells); beyond it a hash map is used.
/// 16 Mi cells of 16 bytes = 256 MiB, inside the 2 GiB netting budget.
const DENSE_MATRIX_MAX_CELLS: usize = 1 << 24;

/// A 96-bit sum and a count in 16 bytes: dense matrix cells stay small so
/// more of the matrix stays in cache, and no sum of `u64` amounts can
/// overflow (2^32 carries).
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    low: u64,
    high: u32,
    count: u32,
}

impl Cell {
    #[inline]
    fn add(&mut self, amount: u64) {
        let (low, carry) = self.low.overflowing_add(amount);
        self.low = low;
        self.high += u32::from(carry);
        self.count += 1;
    }
    fn gross(&self) -> u128 {
        (u128::from(self.high) << 64) | u128::from(self.low)
    }
}

/// Participant numbers up to this are numbered through a direct look-up
/// table (4 bytes each, 16 MiB at most); larger ones through a hash map.
const DIRECT_MAX_ID: u32 = 1 << 22;

const ABSENT: u32 = u32::MAX;

/// Dense numbering, in sorted order, of the participants or currencies that
/// occur in a window.
struct Dense {
    /// `direct[id]`: dense number, or `ABSENT`.
    direct: Vec<u32>,
    hashed: FxHashMap<u32, u32>,
    keys: Vec<u32>,
}

impl Dense {
    fn new() -> Self {
        Dense {
            direct: Vec::new(),
            hashed: FxHashMap::default(),
            keys: Vec::new(),
        }
    }
    #[inline]
    fn add(&mut self, k: u32) {
        if k < DIRECT_MAX_ID {
            let i = k as usize;
            if i >= self.direct.len() {
                self.direct.resize((i + 1).next_power_of_two(), ABSENT);
            }
            if self.direct[i] == ABSENT {
                self.direct[i] = 0;
                self.keys.push(k);
            }
        } else if let std::collections::hash_map::Entry::Vacant(v) = self.hashed.entry(k) {
            v.insert(0);
            self.keys.push(k);
        }
    }
    /// Numbers the keys in sorted order, so dense order is output order.
    fn seal(&mut self) {
        self.keys.sort_unstable();
        for (i, &k) in self.keys.iter().enumerate() {
            if k < DIRECT_MAX_ID {
                self.direct[k as usize] = i as u32;
            } else {
                self.hashed.insert(k, i as u32);
            }
        }
    }
    #[inline]
    fn of(&self, k: u32) -> usize {
        if k < DIRECT_MAX_ID {
            self.direct[k as usize] as usize
        } else {
            self.hashed[&k] as usize
        }
    }
}

/// Nets `entries` of window `epoch`.
///
/// Two passes: the first numbers the participants and currencies that
/// occur (small tables that stay in cache); the second adds every entry
/// into dense per-account rows and a dense bilateral matrix (or a hash map
/// when participants² × currencies is too large for a dense one).
pub fn net(epoch: Epoch, entries: &[ClearingEntry]) -> NettingResult {
    // Cell counts are u32: a window of 2^32 entries would need 240 GB of
    // entries in memory, far beyond any configuration.
    debug_assert!(entries.len() < u32::MAX as usize);
    let mut parts = Dense::new();
    let mut curs = Dense::new();
    for e in entries {
        parts.add(e.payer);
        parts.add(e.payee);
        curs.add(u32::from(e.currency));
    }
    parts.seal();
    curs.seal();
    let (np, nc) = (parts.keys.len(), curs.keys.len());
    let mut rows = vec![(0u128, 0u128, 0u64); np * nc];
    let dense = np * np * nc <= DENSE_MATRIX_MAX_CELLS;
    let mut matrix = if dense {
        vec![Cell::default(); np * np * nc]
    } else {
        Vec::new()
    };
    let mut sparse: FxHashMap<(u32, u32, u32), Cell> = FxHashMap::default();
    for e in entries {
        let (c, payer, payee) = (
            curs.of(u32::from(e.currency)),
            parts.of(e.payer),
            parts.of(e.payee),
        );
        let amount = u128::from(e.amount);
        let r = &mut rows[c * np + payer];
        r.0 += amount;
        r.2 += 1;
        let r = &mut rows[c * np + payee];
        r.1 += amount;
        // A participant paying itself (on-us) takes part once.
        if payee != payer {
            r.2 += 1;
        }
        if dense {
            matrix[(c * np + payer) * np + payee].add(e.amount);
        } else {
            sparse
                .entry((c as u32, payer as u32, payee as u32))
                .or_default()
                .add(e.amount);
        }
    }
    let mut net_rows = Vec::new();
    let mut totals: Vec<CurrencyTotal> = curs
        .keys
        .iter()
        .map(|&currency| CurrencyTotal {
            currency: currency as Currency,
            ..CurrencyTotal::default()
        })
        .collect();
    // Output order (participant, currency): participants outer.
    for (p, &participant) in parts.keys.iter().enumerate() {
        for (c, &currency) in curs.keys.iter().enumerate() {
            let (debit, credit, count) = rows[c * np + p];
            if count == 0 {
                continue;
            }
            let row = NetRow {
                participant,
                currency: currency as Currency,
                debit,
                credit,
                count,
            };
            totals[c].net_sum += row.net();
            net_rows.push(row);
        }
    }
    let bilateral_row = |c: usize, payer: usize, payee: usize, cell: &Cell| BilateralRow {
        payer: parts.keys[payer],
        payee: parts.keys[payee],
        currency: curs.keys[c] as Currency,
        gross: cell.gross(),
        count: u64::from(cell.count),
    };
    let mut bilateral = Vec::new();
    if dense {
        for (i, cell) in matrix.iter().enumerate().filter(|(_, cell)| cell.count > 0) {
            let (c, payer, payee) = (i / (np * np), (i / np) % np, i % np);
            bilateral.push(bilateral_row(c, payer, payee, cell));
        }
    } else {
        let mut cells: Vec<_> = sparse.into_iter().collect();
        cells.sort_unstable_by_key(|(k, _)| *k);
        for ((c, payer, payee), cell) in &cells {
            bilateral.push(bilateral_row(
                *c as usize,
                *payer as usize,
                *payee as usize,
                cell,
            ));
        }
    }
    for b in &bilateral {
        let t = &mut totals[curs.of(u32::from(b.currency))];
        t.gross += b.gross;
        t.count += b.count;
    }
    NettingResult {
        epoch,
        rows: net_rows,
        bilateral,
        totals,
        transactions: entries.len() as u64,
    }
}
