//! The clearing desk: the control plane's money loop in one place.
//!
//! Each [`ClearingDesk::tick`] (every few milliseconds on a control-plane
//! thread) does, in order:
//! 1. advances the lcores' coarse clock;
//! 2. applies the journal records made durable since the last tick
//!    (lcore approvals, and the desk's own records) to the ledger;
//! 3. refills the lcores' escrow slices from the updated ledger;
//! 4. journals the release of holds that have expired;
//! 5. cuts off when the schedule says so (flip, then journal the cutoff);
//! 6. settles every closed window whose in-flight grace is over: nets it,
//!    writes its files, journals its settlement records.
//!
//! Commands (deposit, withdrawal, limit change, cutoff now) validate against
//! the ledger and journal a record; like everything else they take effect
//! when the ledger reads the record back, so the live state is always the
//! journal's fold and a restart rebuilds it exactly.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use journal::money::{Cutoff, LimitKind, MoneyRecord};
use journal::{AppendError, Producer, RecoveryError};
use thiserror::Error;

use crate::epoch::{CoarseClock, CutoffSchedule, EpochBoard};
use crate::escrow::{EscrowError, Refiller};
use crate::ledger::{CommandError, Ledger};
use crate::replay::catch_up;
use crate::settlement::{settle, SettleError};
use crate::types::{AccountKey, Currency, Epoch, ParticipantId};

/// How the desk runs.
#[derive(Debug, Clone)]
pub struct DeskConfig {
    pub schedule: CutoffSchedule,
    /// How long after a cutoff requests stamped with the closed window may
    /// still be answered: the longest issuer timeout plus the reversal's.
    pub in_flight_grace_ms: u64,
    /// Most hold releases journaled per tick (bounds a tick's work).
    pub expiry_batch: usize,
    /// Where settlement files are written; must exist.
    pub settlement_dir: PathBuf,
}

/// Why a tick or command failed. The desk can be ticked again: nothing is
/// half-applied, because the ledger changes only by journal records.
#[derive(Debug, Error)]
pub enum DeskError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("journal append from the control plane failed: {0}")]
    Append(#[from] AppendError),
    #[error("reading the journal back failed: {0}")]
    Journal(#[from] RecoveryError),
    #[error(transparent)]
    Escrow(#[from] EscrowError),
    #[error(transparent)]
    Settle(#[from] SettleError),
    #[error("withdrawal {reference} of {amount} for participant {participant} currency {currency}: the lcores hold that money in escrow; it is being reclaimed — send the same withdrawal again after the next tick")]
    Reclaiming {
        participant: ParticipantId,
        currency: Currency,
        amount: u64,
        reference: u64,
    },
}

/// A withdrawal the desk keeps money back for until the ledger has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingWithdrawal {
    key: AccountKey,
    reference: u64,
    amount: u64,
    journaled: bool,
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub records_applied: u64,
    pub holds_released: usize,
    pub cutoff: Option<(Epoch, Epoch)>,
    pub settled: Vec<Epoch>,
}

/// The control plane's money loop (see the module documentation).
pub struct ClearingDesk {
    ledger: Ledger,
    refiller: Refiller,
    epochs: Arc<EpochBoard>,
    clock: Arc<CoarseClock>,
    producer: Producer,
    journal_dir: PathBuf,
    config: DeskConfig,
    next_cutoff_ms: Option<u64>,
    /// Windows whose settlement records are journaled but not yet read back.
    settling: BTreeSet<Epoch>,
    /// Closed windows without a single entry: their (empty) files are
    /// written and there is no settlement record to journal, so the ledger
    /// never sees them start settling. After a restart they are settled
    /// again, to the same bytes.
    settled_empty: BTreeSet<Epoch>,
    /// Holds whose release is journaled but not yet read back.
    releasing: usize,
    /// The desk's last appended record.
    last_seq: Option<journal::Seq>,
    withdrawals: Vec<PendingWithdrawal>,
}

impl ClearingDesk {
    /// A desk over a recovered `ledger`. `epochs` must have been created
    /// with `ledger.open_epoch()`; `producer` is the control plane's own
    /// journal producer (one more than the lcores).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ledger: Ledger,
        refiller: Refiller,
        epochs: Arc<EpochBoard>,
        clock: Arc<CoarseClock>,
        producer: Producer,
        journal_dir: PathBuf,
        config: DeskConfig,
        now_ms: u64,
    ) -> ClearingDesk {
        let next_cutoff_ms = config.schedule.next_after(now_ms);
        ClearingDesk {
            ledger,
            refiller,
            epochs,
            clock,
            producer,
            journal_dir,
            config,
            next_cutoff_ms,
            settling: BTreeSet::new(),
            settled_empty: BTreeSet::new(),
            releasing: 0,
            last_seq: None,
            withdrawals: Vec::new(),
        }
    }

    /// True when every record the desk appended is durable.
    pub fn journaled(&self) -> bool {
        match self.last_seq {
            Some(seq) => self.producer.is_durable(seq),
            None => true,
        }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn refiller(&self) -> &Refiller {
        &self.refiller
    }

    /// When the next scheduled cutoff is due.
    pub fn next_cutoff_ms(&self) -> Option<u64> {
        self.next_cutoff_ms
    }

    fn append(&mut self, record: &MoneyRecord<'_>) -> Result<(), DeskError> {
        self.last_seq = Some(self.producer.append(self.epochs.current(), record)?);
        Ok(())
    }

    /// One pass of the loop. `durable_lsn` is `Journal::durable_lsn()`.
    pub fn tick(&mut self, now_ms: u64, durable_lsn: u64) -> Result<TickReport, DeskError> {
        let mut report = TickReport::default();
        self.clock.set(now_ms);
        if durable_lsn > self.ledger.last_lsn() {
            report.records_applied = catch_up(&mut self.ledger, &self.journal_dir, durable_lsn)?;
            self.releasing = 0;
            let ledger = &self.ledger;
            self.settling
                .retain(|e| !ledger.window(*e).is_some_and(|w| w.settlement_started()));
            let before = self.withdrawals.len();
            self.withdrawals
                .retain(|w| !(w.journaled && ledger.movement_seen(w.key.participant, w.reference)));
            if self.withdrawals.len() != before {
                self.publish_held_back();
            }
        }
        self.refiller.refill(&self.ledger)?;
        if self.releasing == 0 {
            let due = self.ledger.expired_holds(now_ms, self.config.expiry_batch);
            for r in &due {
                self.append(r)?;
            }
            self.releasing = due.len();
            report.holds_released = due.len();
        }
        if self.next_cutoff_ms.is_some_and(|at| now_ms >= at) {
            report.cutoff = Some(self.cutoff_now(now_ms)?);
            self.next_cutoff_ms = self.config.schedule.next_after(now_ms);
        }
        report.settled = self.settle_due(now_ms)?;
        Ok(report)
    }

    /// A cutoff on command: opens the next window at once (the lcores see
    /// it on their next burst) and journals the cutoff.
    pub fn cutoff_now(&mut self, now_ms: u64) -> Result<(Epoch, Epoch), DeskError> {
        let (closed, opened) = self.epochs.flip();
        self.append(&MoneyRecord::Cutoff(Cutoff {
            closed_epoch: closed,
            opened_epoch: opened,
            at_unix_ms: now_ms,
        }))?;
        Ok((closed, opened))
    }

    fn settle_due(&mut self, now_ms: u64) -> Result<Vec<Epoch>, DeskError> {
        let due: Vec<Epoch> = self
            .ledger
            .windows()
            .filter(|(e, w)| {
                **e < self.ledger.open_epoch()
                    && !w.settlement_started()
                    && !self.settling.contains(*e)
                    && !self.settled_empty.contains(*e)
                    && w.closed_at_ms.is_some_and(|at| {
                        now_ms >= at.saturating_add(self.config.in_flight_grace_ms)
                    })
                    && self.epochs.all_passed(**e)
            })
            .map(|(e, _)| *e)
            .collect();
        for &epoch in &due {
            let run = settle(&self.ledger, epoch)?;
            run.write_files(&self.config.settlement_dir)?;
            let mut journaled = 0;
            for r in run.journal_records() {
                self.append(&r)?;
                journaled += 1;
            }
            if journaled == 0 {
                self.settled_empty.insert(epoch);
            } else {
                self.settling.insert(epoch);
            }
        }
        Ok(due)
    }

    /// Whether closed window `epoch` is settled: its settlement records
    /// read back by the ledger, or it had nothing to settle and its files
    /// are written.
    pub fn window_settled(&self, epoch: Epoch) -> bool {
        self.settled_empty.contains(&epoch)
            || self
                .ledger
                .window(epoch)
                .is_some_and(|w| w.settlement_started())
    }

    /// Journals a reserve deposit (`reference` makes it exactly-once).
    pub fn deposit(
        &mut self,
        participant: ParticipantId,
        currency: Currency,
        amount: u64,
        reference: u64,
    ) -> Result<(), DeskError> {
        let r = self
            .ledger
            .deposit(participant, currency, amount, reference)?;
        self.append(&r)
    }

    /// Journals a withdrawal the account can cover net of the escrow the
    /// lcores hold for it. The amount is held back from refills until the
    /// ledger has applied the record, so no lcore can be handed it in
    /// between. When the lcores hold the money, it is reclaimed and
    /// [`DeskError::Reclaiming`] asks for the same withdrawal again.
    pub fn withdraw(
        &mut self,
        participant: ParticipantId,
        currency: Currency,
        amount: u64,
        reference: u64,
    ) -> Result<(), DeskError> {
        let key = AccountKey::new(participant, currency);
        let pending = self
            .withdrawals
            .iter()
            .position(|w| w.key == key && w.reference == reference);
        if pending.is_some_and(|i| self.withdrawals[i].journaled) {
            return Ok(());
        }
        let committed = self.refiller.outstanding(&self.ledger, key);
        let already_held = pending.map_or(0, |i| u128::from(self.withdrawals[i].amount));
        // Money held back for this withdrawal is not in `committed`.
        let other_holds = self.held_back(key) - already_held;
        match self.ledger.withdraw(
            participant,
            currency,
            amount,
            reference,
            committed + other_holds,
        ) {
            Ok(record) => {
                self.append(&record)?;
                let w = PendingWithdrawal {
                    key,
                    reference,
                    amount,
                    journaled: true,
                };
                match pending {
                    Some(i) => self.withdrawals[i] = w,
                    None => self.withdrawals.push(w),
                }
                self.publish_held_back();
                Ok(())
            }
            Err(CommandError::WithdrawalExceedsAvailable { .. })
                if self
                    .ledger
                    .withdraw(participant, currency, amount, reference, other_holds)
                    .is_ok() =>
            {
                if pending.is_none() {
                    self.withdrawals.push(PendingWithdrawal {
                        key,
                        reference,
                        amount,
                        journaled: false,
                    });
                }
                self.publish_held_back();
                self.refiller.reclaim(key);
                Err(DeskError::Reclaiming {
                    participant,
                    currency,
                    amount,
                    reference,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Gives up a withdrawal still waiting for the lcores to surrender (one
    /// already journaled cannot be cancelled; it is applied or rejected).
    pub fn cancel_withdrawal(
        &mut self,
        participant: ParticipantId,
        currency: Currency,
        reference: u64,
    ) -> bool {
        let key = AccountKey::new(participant, currency);
        let before = self.withdrawals.len();
        self.withdrawals
            .retain(|w| w.journaled || w.key != key || w.reference != reference);
        let cancelled = self.withdrawals.len() != before;
        if cancelled {
            self.publish_held_back();
        }
        cancelled
    }

    fn held_back(&self, key: AccountKey) -> u128 {
        self.withdrawals
            .iter()
            .filter(|w| w.key == key)
            .map(|w| u128::from(w.amount))
            .sum()
    }

    fn publish_held_back(&mut self) {
        let mut keys: Vec<AccountKey> = self.withdrawals.iter().map(|w| w.key).collect();
        keys.extend(self.ledger.accounts().map(|(k, _)| *k));
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let amount = self.held_back(key);
            self.refiller.set_held_back(key, amount);
        }
    }

    /// Journals a limit change with the operator's reason.
    pub fn set_limit(
        &mut self,
        participant: ParticipantId,
        currency: Currency,
        limit: LimitKind,
        value: u64,
        reason: &str,
    ) -> Result<(), DeskError> {
        let r = self
            .ledger
            .set_limit(participant, currency, limit, value, reason)?;
        self.append(&r)
    }
}
