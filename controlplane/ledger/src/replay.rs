//! Recovery: replay the journal into a fresh ledger; and catch-up: apply
//! what the lcores and the control plane appended since.

use std::path::{Path, PathBuf};

use journal::money::MoneyRecord;
use journal::{read_records, Journal, RecordView, RecoveryError, RecoveryReport};
use thiserror::Error;

use crate::ledger::{ApplyError, Ledger};
use crate::snapshot::SnapshotDecodeError;
use crate::types::RecordMeta;

/// Transaction records applied together by [`BatchApplier`]: enough to keep
/// a core's outstanding cache misses busy, few enough to stay in L1.
const BATCH: usize = 32;

/// A transaction record's typical size on disk: the 32-byte header and an
/// approval's payload with its answer (48 + 25 bytes). Overestimating the
/// count would double the transaction index (a power of two) for nothing;
/// an older journal's shorter records only make the index grow once.
const RECORD_BYTES_ESTIMATE: u64 =
    (journal::record::HEADER_LEN + 48 + journal::money::ANSWER_LEN) as u64;

/// Why the money state could not be rebuilt.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error(transparent)]
    Journal(#[from] RecoveryError),
    /// A record held in the last batch failed to apply (transaction
    /// records do not fail; this is a guard, the error names the LSN).
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("journal snapshot {snapshot} holds no valid ledger state: {source}; move it aside to recover from the previous snapshot and the journal")]
    Snapshot {
        snapshot: PathBuf,
        source: SnapshotDecodeError,
    },
}

/// Rebuilds the ledger from the journal in `dir`: the newest snapshot (see
/// [`Ledger::to_snapshot`]), then every record after it — the balances,
/// positions, holds, windows and duplicate keys as they were after the last
/// durable record. Truncates a torn tail (see the report); stops on
/// corruption in the middle with the segment and offset.
pub fn recover(dir: &Path) -> Result<(Ledger, RecoveryReport), ReplayError> {
    recover_keeping(dir, crate::answers::DEFAULT_RECENT_ANSWERS)
}

/// [`recover`], keeping the newest `recent_answers` answered requests (see
/// [`Ledger::recent_answers`]): pass the switch's duplicate window.
pub fn recover_keeping(
    dir: &Path,
    recent_answers: usize,
) -> Result<(Ledger, RecoveryReport), ReplayError> {
    let recovery = Journal::recover(dir)?;
    let mut ledger = match recovery.snapshot() {
        Some(snapshot) => {
            let mut ledger =
                Ledger::from_snapshot(&snapshot.state).map_err(|source| ReplayError::Snapshot {
                    snapshot: snapshot.path.clone(),
                    source,
                })?;
            // The journal's word for what the snapshot covers wins.
            ledger.last_lsn = snapshot.lsn;
            ledger
        }
        None => Ledger::new(),
    };
    ledger.keep_recent_answers(recent_answers);
    // Most records are transactions of about RECORD_BYTES_ESTIMATE bytes: size the
    // duplicate keys once instead of doubling through the replay.
    let journal_bytes: u64 = journal::segment::list_segments(dir)
        .map(|segments| {
            segments
                .iter()
                .filter_map(|s| std::fs::metadata(&s.path).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    ledger.reserve_transactions((journal_bytes / RECORD_BYTES_ESTIMATE) as usize);
    let mut applier = BatchApplier::new(&mut ledger);
    let report = recovery.replay(|view| applier.apply_view(view))?;
    applier.flush()?;
    Ok((ledger, report))
}

/// Applies journal records to a ledger in LSN order, holding transaction
/// records (approvals, holds, completions, releases, reversals) back in
/// batches of [`BATCH`] for [`Ledger::apply_batch`]. Any other record
/// applies the held batch first and then itself, so the order is the
/// journal's. Transaction records cannot fail to apply, so an error is
/// always reported for the record being visited; call [`BatchApplier::flush`]
/// after the last record.
pub struct BatchApplier<'l> {
    ledger: &'l mut Ledger,
    held: Vec<(RecordMeta, MoneyRecord<'static>)>,
}

impl<'l> BatchApplier<'l> {
    pub fn new(ledger: &'l mut Ledger) -> BatchApplier<'l> {
        BatchApplier {
            ledger,
            held: Vec::with_capacity(BATCH),
        }
    }

    /// Decodes `view` and applies it (now, or with its batch).
    pub fn apply_view(&mut self, view: &RecordView<'_>) -> Result<(), ApplyError> {
        let record = MoneyRecord::decode(view.header.kind, view.payload).map_err(|source| {
            ApplyError::Payload {
                lsn: view.header.lsn,
                source,
            }
        })?;
        self.apply(RecordMeta::of(&view.header), record)
    }

    /// Applies `record` (now, or with its batch).
    pub fn apply(&mut self, meta: RecordMeta, record: MoneyRecord<'_>) -> Result<(), ApplyError> {
        match owned_txn_record(record) {
            Some(txn) => {
                self.held.push((meta, txn));
                if self.held.len() == BATCH {
                    self.flush()?;
                }
                Ok(())
            }
            None => {
                self.flush()?;
                self.ledger.apply(meta, &record).map(|_| ())
            }
        }
    }

    /// Applies the records held back.
    pub fn flush(&mut self) -> Result<(), ApplyError> {
        let result = self.ledger.apply_batch(&self.held);
        self.held.clear();
        result
    }
}

/// A transaction record, which borrows nothing from its payload, as a
/// `'static` value that can wait in a batch; `None` for other kinds.
fn owned_txn_record(record: MoneyRecord<'_>) -> Option<MoneyRecord<'static>> {
    Some(match record {
        MoneyRecord::Approved(a) => MoneyRecord::Approved(a),
        MoneyRecord::Hold(h) => MoneyRecord::Hold(h),
        MoneyRecord::HoldComplete(c) => MoneyRecord::HoldComplete(c),
        MoneyRecord::HoldRelease(r) => MoneyRecord::HoldRelease(r),
        MoneyRecord::Reversal(r) => MoneyRecord::Reversal(r),
        _ => return None,
    })
}

/// Applies the records after `ledger.last_lsn()` up to `upto_lsn` (the
/// journal's durable LSN) and returns how many were read.
pub fn catch_up(ledger: &mut Ledger, dir: &Path, upto_lsn: u64) -> Result<u64, RecoveryError> {
    // A few records every few milliseconds: no batching needed.
    read_records(dir, ledger.last_lsn() + 1, upto_lsn, |view| {
        ledger.apply_view(view).map(|_| ())
    })
}
