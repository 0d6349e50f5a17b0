//! Recovery: replay the journal into a fresh ledger; and catch-up: apply
//! what the lcores and the control plane appended since.

use std::path::{Path, PathBuf};

use journal::{read_records, Journal, RecoveryError, RecoveryReport};
use thiserror::Error;

use crate::ledger::Ledger;
use crate::snapshot::SnapshotDecodeError;

/// A transaction record's typical size on disk (32-byte header + payload).
const RECORD_BYTES_ESTIMATE: u64 = 80;

/// Why the money state could not be rebuilt.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error(transparent)]
    Journal(#[from] RecoveryError),
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
    // Most records are transactions of roughly 80 bytes: size the
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
    let report = recovery.replay(|view| ledger.apply_view(view).map(|_| ()))?;
    Ok((ledger, report))
}

/// Applies the records after `ledger.last_lsn()` up to `upto_lsn` (the
/// journal's durable LSN) and returns how many were read.
pub fn catch_up(ledger: &mut Ledger, dir: &Path, upto_lsn: u64) -> Result<u64, RecoveryError> {
    read_records(dir, ledger.last_lsn() + 1, upto_lsn, |view| {
        ledger.apply_view(view).map(|_| ())
    })
}
