//! The ledger: the control plane's money state as a deterministic fold over
//! journal records.
//!
//! Every change goes through [`Ledger::apply`], whether the record comes from
//! an lcore (holds, approvals, completions, reversals), from the control
//! plane (deposits, withdrawals, limits, cutoffs, settlements, hold
//! expiries) or from the journal at recovery. The command methods only
//! validate and build the record; the caller appends it to the journal and
//! applies it when it reads it back in LSN order. Replaying the same records
//! therefore rebuilds the same ledger, and applying a record twice — a
//! retried approval, a re-read segment, a resent deposit — changes nothing
//! the second time.
//!
//! Sign convention (the rule, Mojaloop's payer/payee model): the
//! originator of a money-moving request (the acquirer) is the **payer**. Its
//! reserve is checked, its holds grow on an approved 0100, and its net
//! position grows (it owes) on an approved 0200/0220; the issuer is the
//! **payee** and its position falls (it is owed). A reversal moves the same
//! amount back. See the crate documentation for the card-scheme caveat.

use std::collections::{BTreeMap, BTreeSet};

use journal::money::{
    Approved, Cutoff, Hold, HoldComplete, HoldRelease, LimitChange, LimitKind, MoneyRecord,
    ReleaseReason, ReserveMovement, Reversal, Settlement, MAX_REASON_LEN,
};
use rustc_hash::{FxHashMap, FxHashSet};
use thiserror::Error;

use crate::account::{ReserveAccount, Shortfall};
use crate::answers::{AnsweredRequest, RecentAnswers};
use crate::netting::{ClearingEntry, EntryKind};
use crate::txn_table::{Inserted, TxnTable};
use crate::types::{AccountKey, Currency, Epoch, ParticipantId, RecordMeta, TxnKey};

/// Milliseconds in a UTC day: daily limits restart with the first cutoff of
/// a new day.
const DAY_MS: u64 = 86_400_000;

/// The first clearing window.
pub const FIRST_EPOCH: Epoch = 1;

/// Where one transaction stands. Kept after it finishes so that a duplicate
/// or retried operation is recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    Held {
        payee: ParticipantId,
        currency: Currency,
        amount: u64,
        expires_at_ms: u64,
    },
    Posted {
        payee: ParticipantId,
        currency: Currency,
        amount: u64,
    },
    Released,
    Reversed,
}

/// One clearing window's transactions and progress.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Window {
    /// In journal order.
    pub entries: Vec<ClearingEntry>,
    /// Set by the cutoff that closed the window.
    pub closed_at_ms: Option<u64>,
    /// Accounts whose settlement record has been applied.
    pub settled: BTreeSet<AccountKey>,
}

impl Window {
    /// Once any settlement record is applied the window's result is fixed.
    pub fn settlement_started(&self) -> bool {
        !self.settled.is_empty()
    }
}

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Already applied (same transaction key, reference, epoch or LSN).
    Duplicate,
    /// A withdrawal that the account could not cover when its record was
    /// applied; nothing moved.
    Rejected(Shortfall),
    /// A record kind the money state does not keep (participant changes).
    Ignored,
}

/// A record that cannot be applied: recovery must stop, because going on
/// would build a state that differs from the one that produced the journal.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApplyError {
    #[error("record LSN {lsn}: {source}")]
    Payload {
        lsn: u64,
        source: journal::PayloadError,
    },
    #[error("record LSN {lsn} closes window {closed} but window {open} is open; cutoffs must close the open window in order — the journal is out of order or from another switch")]
    CutoffOutOfOrder {
        lsn: u64,
        closed: Epoch,
        open: Epoch,
    },
    #[error("record LSN {lsn} settles window {epoch}, which is still open (open window {open}); settle only after its cutoff")]
    SettlementOfOpenWindow { lsn: u64, epoch: Epoch, open: Epoch },
}

/// Why a command was refused before anything was journaled.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("amount must be positive; a zero {what} changes nothing")]
    ZeroAmount { what: &'static str },
    #[error("no reserve account for participant {participant} in currency {currency}; deposit into it first")]
    NoAccount {
        participant: ParticipantId,
        currency: Currency,
    },
    #[error("withdrawal of {amount} from participant {participant} currency {currency} exceeds the available {available}")]
    WithdrawalExceedsAvailable {
        participant: ParticipantId,
        currency: Currency,
        amount: u64,
        available: i128,
    },
    #[error("reference {reference} was already used for a movement of participant {participant}; use a new reference for a new movement")]
    ReferenceReused {
        participant: ParticipantId,
        reference: u64,
    },
    #[error("a limit change needs a reason of 1..={MAX_REASON_LEN} bytes, got {len}")]
    BadReason { len: usize },
    #[error("cutoff must close the open window {open}, not {closed}, and open a later one (asked to open {opened})")]
    BadCutoff {
        closed: Epoch,
        opened: Epoch,
        open: Epoch,
    },
}

/// The money state. `PartialEq` so recovery can be checked against the
/// state that wrote the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    pub(crate) accounts: FxHashMap<AccountKey, ReserveAccount>,
    pub(crate) txns: TxnTable,
    pub(crate) expiries: BTreeSet<(u64, TxnKey)>,
    pub(crate) movements: FxHashSet<(ParticipantId, u64)>,
    pub(crate) open_epoch: Epoch,
    pub(crate) windows: BTreeMap<Epoch, Window>,
    pub(crate) escrow_resolved: FxHashMap<(AccountKey, u16), u128>,
    pub(crate) business_day: Option<u64>,
    pub(crate) last_lsn: u64,
    pub(crate) late_entries: u64,
    pub(crate) answers: RecentAnswers,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    /// An empty ledger with window [`FIRST_EPOCH`] open.
    pub fn new() -> Ledger {
        Ledger {
            accounts: FxHashMap::default(),
            txns: TxnTable::new(),
            expiries: BTreeSet::new(),
            movements: FxHashSet::default(),
            open_epoch: FIRST_EPOCH,
            windows: BTreeMap::new(),
            escrow_resolved: FxHashMap::default(),
            business_day: None,
            last_lsn: 0,
            late_entries: 0,
            answers: RecentAnswers::default(),
        }
    }

    /// Makes room for about `transactions` more transactions, so a replay
    /// of a long journal does not rehash its duplicate keys over and over.
    pub fn reserve_transactions(&mut self, transactions: usize) {
        self.txns.reserve(transactions);
    }

    /// Keeps the newest `capacity` answered requests (for the switch's
    /// duplicate filters; default [`crate::DEFAULT_RECENT_ANSWERS`]).
    pub fn keep_recent_answers(&mut self, capacity: usize) {
        self.answers.set_capacity(capacity);
    }

    // ----- queries -----

    /// How the newest requests that changed money were answered, oldest
    /// first: what a restarted switch seeds its duplicate filters with.
    pub fn recent_answers(&self) -> &RecentAnswers {
        &self.answers
    }

    pub fn account(&self, key: AccountKey) -> Option<&ReserveAccount> {
        self.accounts.get(&key)
    }

    /// Every account, sorted by (participant, currency).
    pub fn accounts(&self) -> impl Iterator<Item = (&AccountKey, &ReserveAccount)> {
        let mut all: Vec<_> = self.accounts.iter().collect();
        all.sort_unstable_by_key(|(k, _)| **k);
        all.into_iter()
    }

    pub fn transaction(&self, key: &TxnKey) -> Option<&TxnState> {
        self.txns.get(key)
    }

    pub fn open_epoch(&self) -> Epoch {
        self.open_epoch
    }

    pub fn window(&self, epoch: Epoch) -> Option<&Window> {
        self.windows.get(&epoch)
    }

    /// Windows that hold entries or are closed, by epoch.
    pub fn windows(&self) -> impl Iterator<Item = (&Epoch, &Window)> {
        self.windows.iter()
    }

    /// The LSN of the last record applied (0 before any).
    pub fn last_lsn(&self) -> u64 {
        self.last_lsn
    }

    /// Entries whose stamped window had already begun settling; they were
    /// booked into the open window instead (see [`Ledger::apply`]).
    pub fn late_entries(&self) -> u64 {
        self.late_entries
    }

    /// Sum of the escrow-consuming debits (approved 0100 holds and 0200
    /// approvals) of `account` that records from `lcore` carried, including
    /// duplicates: the escrow refiller counts them as resolved.
    pub fn escrow_resolved(&self, account: AccountKey, lcore: u16) -> u128 {
        self.escrow_resolved
            .get(&(account, lcore))
            .copied()
            .unwrap_or(0)
    }

    /// Whether a deposit or withdrawal with this reference has been applied
    /// (or rejected) for the participant.
    pub fn movement_seen(&self, participant: ParticipantId, reference: u64) -> bool {
        self.movements.contains(&(participant, reference))
    }

    /// Holds that expire at or before `now_ms`, oldest first, at most `max`.
    pub fn expired_holds(&self, now_ms: u64, max: usize) -> Vec<MoneyRecord<'static>> {
        self.expiries
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .filter_map(|(_, key)| match self.txns.get(key) {
                Some(TxnState::Held {
                    payee,
                    currency,
                    amount,
                    ..
                }) => Some(MoneyRecord::HoldRelease(HoldRelease {
                    originator: key.originator,
                    issuer: *payee,
                    key: key.journal_key(),
                    amount: *amount,
                    currency: *currency,
                    reason: ReleaseReason::Expired,
                })),
                _ => None,
            })
            .take(max)
            .collect()
    }

    // ----- commands: validate and build the record to journal -----

    pub fn deposit(
        &self,
        participant: ParticipantId,
        currency: Currency,
        amount: u64,
        reference: u64,
    ) -> Result<MoneyRecord<'static>, CommandError> {
        self.movement_checks(participant, amount, reference, "deposit")?;
        Ok(MoneyRecord::Deposit(ReserveMovement {
            participant,
            currency,
            amount,
            reference,
        }))
    }

    /// A withdrawal the account can cover now. `committed` is what the
    /// escrow has already handed to the lcores for this account (the
    /// refiller's figure): it is not available for withdrawal.
    pub fn withdraw(
        &self,
        participant: ParticipantId,
        currency: Currency,
        amount: u64,
        reference: u64,
        committed: u128,
    ) -> Result<MoneyRecord<'static>, CommandError> {
        self.movement_checks(participant, amount, reference, "withdrawal")?;
        let account = self
            .accounts
            .get(&AccountKey::new(participant, currency))
            .ok_or(CommandError::NoAccount {
                participant,
                currency,
            })?;
        let available = account.available() - committed as i128;
        if i128::from(amount) > available {
            return Err(CommandError::WithdrawalExceedsAvailable {
                participant,
                currency,
                amount,
                available,
            });
        }
        Ok(MoneyRecord::Withdrawal(ReserveMovement {
            participant,
            currency,
            amount,
            reference,
        }))
    }

    /// A limit change with the operator's reason (required, at most 128
    /// bytes, so the journal says why a limit moved).
    pub fn set_limit<'a>(
        &self,
        participant: ParticipantId,
        currency: Currency,
        limit: LimitKind,
        value: u64,
        reason: &'a str,
    ) -> Result<MoneyRecord<'a>, CommandError> {
        if reason.is_empty() || reason.len() > MAX_REASON_LEN {
            return Err(CommandError::BadReason { len: reason.len() });
        }
        Ok(MoneyRecord::LimitChange(LimitChange {
            participant,
            currency,
            limit,
            value,
            reason,
        }))
    }

    /// The cutoff record for a flip of the epoch board from `closed` to
    /// `opened`.
    pub fn cutoff(
        &self,
        closed: Epoch,
        opened: Epoch,
        at_unix_ms: u64,
    ) -> Result<MoneyRecord<'static>, CommandError> {
        if closed != self.open_epoch || opened <= closed {
            return Err(CommandError::BadCutoff {
                closed,
                opened,
                open: self.open_epoch,
            });
        }
        Ok(MoneyRecord::Cutoff(Cutoff {
            closed_epoch: closed,
            opened_epoch: opened,
            at_unix_ms,
        }))
    }

    fn movement_checks(
        &self,
        participant: ParticipantId,
        amount: u64,
        reference: u64,
        what: &'static str,
    ) -> Result<(), CommandError> {
        if amount == 0 {
            return Err(CommandError::ZeroAmount { what });
        }
        if self.movements.contains(&(participant, reference)) {
            return Err(CommandError::ReferenceReused {
                participant,
                reference,
            });
        }
        Ok(())
    }

    // ----- the state transition -----

    /// Applies `records` in order, as [`Ledger::apply`] one by one would,
    /// after loading the transaction-table slots of all their keys first:
    /// the cache misses of a batch then overlap instead of stalling each
    /// apply in turn. This is what makes a ten-million-record replay fit
    /// its time budget (see `benches/replay.rs`). Stops at the first error.
    pub fn apply_batch(
        &mut self,
        records: &[(RecordMeta, MoneyRecord<'_>)],
    ) -> Result<(), ApplyError> {
        self.txns
            .warm(records.iter().filter_map(|(_, r)| txn_key_of(r)));
        for (meta, record) in records {
            self.apply(*meta, record)?;
        }
        Ok(())
    }

    /// Decodes and applies one journal record.
    pub fn apply_view(&mut self, view: &journal::RecordView<'_>) -> Result<Applied, ApplyError> {
        let record = MoneyRecord::decode(view.header.kind, view.payload).map_err(|source| {
            ApplyError::Payload {
                lsn: view.header.lsn,
                source,
            }
        })?;
        self.apply(RecordMeta::of(&view.header), &record)
    }

    /// Applies one record. `meta.lsn` 0 means "not from a journal" (tests,
    /// dry runs); a non-zero LSN at or below the last applied one is a
    /// re-read and changes nothing.
    ///
    /// A transaction belongs to the window `meta.epoch` its request was
    /// stamped with, even when its record arrives after the cutoff. If that
    /// window has already begun settling (the operator settled before the
    /// in-flight grace ended), the entry is booked into the open window and
    /// counted in [`Ledger::late_entries`] rather than lost.
    pub fn apply(
        &mut self,
        meta: RecordMeta,
        record: &MoneyRecord<'_>,
    ) -> Result<Applied, ApplyError> {
        if meta.lsn != 0 {
            if meta.lsn <= self.last_lsn {
                return Ok(Applied::Duplicate);
            }
            self.last_lsn = meta.lsn;
        }
        // Every answer the acquirer got counts, a retried request's too
        // (the newest answer wins when the filter is seeded).
        if let Some(answered) = AnsweredRequest::of_record(record) {
            self.answers.push(answered);
        }
        let applied = match record {
            MoneyRecord::Approved(a) => self.approved(meta, a),
            MoneyRecord::Hold(h) => self.hold(meta, h),
            MoneyRecord::HoldComplete(c) => self.complete(meta, c),
            MoneyRecord::HoldRelease(r) => self.release(r),
            MoneyRecord::Reversal(r) => self.reverse(meta, r),
            MoneyRecord::Deposit(m) => self.deposit_applied(m),
            MoneyRecord::Withdrawal(m) => self.withdrawal_applied(m),
            MoneyRecord::LimitChange(l) => self.limit_applied(l),
            MoneyRecord::Cutoff(c) => self.cutoff_applied(meta, c)?,
            MoneyRecord::Settlement(s) => self.settlement_applied(meta, s)?,
            MoneyRecord::ParticipantChange(_) => Applied::Ignored,
        };
        Ok(applied)
    }

    fn acct(&mut self, participant: ParticipantId, currency: Currency) -> &mut ReserveAccount {
        self.accounts
            .entry(AccountKey::new(participant, currency))
            .or_default()
    }

    fn resolve_escrow(&mut self, meta: RecordMeta, payer: AccountKey, amount: u64) {
        *self.escrow_resolved.entry((payer, meta.lcore)).or_insert(0) += u128::from(amount);
    }

    fn book(&mut self, stamped: Epoch, entry: ClearingEntry) {
        let settling = self
            .windows
            .get(&stamped)
            .is_some_and(Window::settlement_started);
        let epoch = if settling {
            self.late_entries += 1;
            self.open_epoch.max(stamped + 1)
        } else {
            stamped
        };
        self.windows.entry(epoch).or_default().entries.push(entry);
    }

    /// Moves the entry's amount from payer to payee positions and books it
    /// into the window its request was stamped with.
    fn post(&mut self, stamped: Epoch, entry: ClearingEntry) {
        self.acct(entry.payer, entry.currency).net_position += i128::from(entry.amount);
        self.acct(entry.payee, entry.currency).net_position -= i128::from(entry.amount);
        self.book(stamped, entry);
    }

    fn approved(&mut self, meta: RecordMeta, a: &Approved) -> Applied {
        let key = TxnKey::from_journal(a.originator, &a.key);
        let payer = AccountKey::new(a.originator, a.currency);
        // An approval of a 0200 consumed escrow on its lcore; a 0220 advice
        // without a hold did not (the lcore does not check completions).
        let consumed_escrow = a.mti.0 / 10 == 20;
        if consumed_escrow {
            self.resolve_escrow(meta, payer, a.amount);
        }
        let state = TxnState::Posted {
            payee: a.issuer,
            currency: a.currency,
            amount: a.amount,
        };
        if self.txns.insert_new(key, state) == Inserted::Existing {
            return Applied::Duplicate;
        }
        if consumed_escrow {
            self.acct(a.originator, a.currency).daily_used += u128::from(a.amount);
        }
        let kind = if consumed_escrow {
            EntryKind::Financial
        } else {
            EntryKind::Completion
        };
        self.post(
            meta.epoch,
            ClearingEntry {
                key,
                payer: a.originator,
                payee: a.issuer,
                amount: a.amount,
                currency: a.currency,
                kind,
            },
        );
        Applied::Changed
    }

    fn hold(&mut self, meta: RecordMeta, h: &Hold) -> Applied {
        let key = TxnKey::from_journal(h.originator, &h.key);
        self.resolve_escrow(meta, AccountKey::new(h.originator, h.currency), h.amount);
        let state = TxnState::Held {
            payee: h.issuer,
            currency: h.currency,
            amount: h.amount,
            expires_at_ms: h.expires_at_ms,
        };
        if self.txns.insert_new(key, state) == Inserted::Existing {
            return Applied::Duplicate;
        }
        let account = self.acct(h.originator, h.currency);
        account.holds += i128::from(h.amount);
        account.daily_used += u128::from(h.amount);
        self.acct(h.issuer, h.currency);
        self.expiries.insert((h.expires_at_ms, key));
        Applied::Changed
    }

    /// Removes a live hold and returns it.
    fn take_hold(&mut self, key: &TxnKey) -> Option<(ParticipantId, Currency, u64)> {
        match self.txns.get(key).copied() {
            Some(TxnState::Held {
                payee,
                currency,
                amount,
                expires_at_ms,
            }) => {
                self.acct(key.originator, currency).holds -= i128::from(amount);
                self.expiries.remove(&(expires_at_ms, *key));
                Some((payee, currency, amount))
            }
            _ => None,
        }
    }

    fn complete(&mut self, meta: RecordMeta, c: &HoldComplete) -> Applied {
        let key = TxnKey::from_journal(c.originator, &c.key);
        match self.txns.get(&key) {
            Some(TxnState::Posted { .. } | TxnState::Reversed) => return Applied::Duplicate,
            // A completion after expiry (or without any hold) is still an
            // advice of money that moved: it is posted.
            Some(TxnState::Held { .. } | TxnState::Released) | None => {}
        }
        self.take_hold(&key);
        self.post(
            meta.epoch,
            ClearingEntry {
                key,
                payer: c.originator,
                payee: c.issuer,
                amount: c.amount,
                currency: c.currency,
                kind: EntryKind::Completion,
            },
        );
        self.txns.insert(
            key,
            TxnState::Posted {
                payee: c.issuer,
                currency: c.currency,
                amount: c.amount,
            },
        );
        Applied::Changed
    }

    fn release(&mut self, r: &HoldRelease) -> Applied {
        let key = TxnKey::from_journal(r.originator, &r.key);
        if self.take_hold(&key).is_none() {
            if self.txns.contains_key(&key) {
                return Applied::Duplicate;
            }
            // A release for a hold never seen: remember it, as a reversal
            // of an unknown original is remembered, so a hold arriving
            // later under the same key is not placed after its release.
            self.txns.insert(key, TxnState::Released);
            return Applied::Changed;
        }
        let state = match r.reason {
            ReleaseReason::Reversed => TxnState::Reversed,
            ReleaseReason::Expired | ReleaseReason::Declined => TxnState::Released,
        };
        self.txns.insert(key, state);
        Applied::Changed
    }

    fn reverse(&mut self, meta: RecordMeta, r: &Reversal) -> Applied {
        let key = TxnKey::from_journal(r.originator, &r.key);
        match self.txns.get(&key).copied() {
            Some(TxnState::Held { .. }) => {
                self.take_hold(&key);
            }
            Some(TxnState::Posted {
                payee,
                currency,
                amount,
            }) => {
                // A partial reversal names a lower amount; never more than
                // was posted.
                let back = r.amount.min(amount);
                self.post(
                    meta.epoch,
                    ClearingEntry {
                        key,
                        payer: payee,
                        payee: key.originator,
                        amount: back,
                        currency,
                        kind: EntryKind::Reversal,
                    },
                );
            }
            Some(TxnState::Reversed) => return Applied::Duplicate,
            // The hold had expired: no money to move, but the transaction
            // is now reversed, so neither a late completion nor a retry of
            // this reversal can move money afterwards.
            Some(TxnState::Released) => {}
            // The original was never approved here (its answer came after
            // the stand-in). Remember the key so a late copy of the
            // original is not posted after its own reversal.
            None => {}
        }
        self.txns.insert(key, TxnState::Reversed);
        Applied::Changed
    }

    fn deposit_applied(&mut self, m: &ReserveMovement) -> Applied {
        if !self.movements.insert((m.participant, m.reference)) {
            return Applied::Duplicate;
        }
        self.acct(m.participant, m.currency).reserve_balance += i128::from(m.amount);
        Applied::Changed
    }

    fn withdrawal_applied(&mut self, m: &ReserveMovement) -> Applied {
        if !self.movements.insert((m.participant, m.reference)) {
            return Applied::Duplicate;
        }
        let account = self.acct(m.participant, m.currency);
        let available = account.available();
        if i128::from(m.amount) > available {
            return Applied::Rejected(Shortfall::Insufficient {
                available,
                amount: m.amount,
            });
        }
        account.reserve_balance -= i128::from(m.amount);
        Applied::Changed
    }

    fn limit_applied(&mut self, l: &LimitChange<'_>) -> Applied {
        let account = self.acct(l.participant, l.currency);
        let slot = match l.limit {
            LimitKind::NetDebitCap => &mut account.net_debit_cap,
            LimitKind::PerTransaction => &mut account.per_transaction_limit,
            LimitKind::Daily => &mut account.daily_limit,
        };
        if *slot == l.value {
            return Applied::Duplicate;
        }
        *slot = l.value;
        Applied::Changed
    }

    fn cutoff_applied(&mut self, meta: RecordMeta, c: &Cutoff) -> Result<Applied, ApplyError> {
        if c.closed_epoch < self.open_epoch {
            return Ok(Applied::Duplicate);
        }
        if c.closed_epoch > self.open_epoch || c.opened_epoch <= c.closed_epoch {
            return Err(ApplyError::CutoffOutOfOrder {
                lsn: meta.lsn,
                closed: c.closed_epoch,
                open: self.open_epoch,
            });
        }
        self.windows.entry(c.closed_epoch).or_default().closed_at_ms = Some(c.at_unix_ms);
        self.open_epoch = c.opened_epoch;
        let day = c.at_unix_ms / DAY_MS;
        if self.business_day != Some(day) {
            self.business_day = Some(day);
            for account in self.accounts.values_mut() {
                account.daily_used = 0;
            }
        }
        Ok(Applied::Changed)
    }

    fn settlement_applied(
        &mut self,
        meta: RecordMeta,
        s: &Settlement,
    ) -> Result<Applied, ApplyError> {
        if s.epoch >= self.open_epoch {
            return Err(ApplyError::SettlementOfOpenWindow {
                lsn: meta.lsn,
                epoch: s.epoch,
                open: self.open_epoch,
            });
        }
        let key = AccountKey::new(s.participant, s.currency);
        if !self.windows.entry(s.epoch).or_default().settled.insert(key) {
            return Ok(Applied::Duplicate);
        }
        // Settlement turns the window's net into reserve money: available
        // does not change, the position owed becomes a reserve paid.
        let net = i128::from(s.credit) - i128::from(s.debit);
        let account = self.acct(s.participant, s.currency);
        account.reserve_balance += net;
        account.net_position += net;
        Ok(Applied::Changed)
    }
}

/// The ledger key of a transaction record; `None` for other kinds.
pub(crate) fn txn_key_of(record: &MoneyRecord<'_>) -> Option<TxnKey> {
    let (originator, key) = match record {
        MoneyRecord::Approved(a) => (a.originator, &a.key),
        MoneyRecord::Hold(h) => (h.originator, &h.key),
        MoneyRecord::HoldComplete(c) => (c.originator, &c.key),
        MoneyRecord::HoldRelease(r) => (r.originator, &r.key),
        MoneyRecord::Reversal(r) => (r.originator, &r.key),
        _ => return None,
    };
    Some(TxnKey::from_journal(originator, key))
}
