//! The durable journal of Clearway's money state.
//!
//! Every state change that moves money — an approved transaction, a hold and
//! its completion or release, a reversal, a reserve deposit or withdrawal, a
//! limit change, a cutoff, a settlement — is appended as a CRC32C-checked
//! record to append-only segment files. Each switch lcore appends through
//! its own lock-free SPSC ring ([`Producer`]); one writer thread drains all
//! rings, writes a batch and `fdatasync`s it once (group commit), and only
//! then publishes the records as durable, so an lcore holding an approval
//! can release it when its record is on disk (`durability = "sync"`).
//! Disk full or a failed `fdatasync` turns the journal [`JournalState::Failed`]
//! for good, and the switch declines money-moving requests with 39=96.
//!
//! At start, [`Journal::recover`] loads the newest valid snapshot and
//! replays the records after it; a torn tail is truncated and reported,
//! corruption in the middle stops the start with the segment and offset.
//!
//! ```no_run
//! use journal::{Journal, JournalConfig, MoneyRecord, Release};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::path::Path::new("/var/lib/clearway/journal");
//! let recovery = Journal::recover(dir)?;
//! if let Some(snapshot) = recovery.snapshot() { /* load snapshot.state */ }
//! let report = recovery.replay(|record| {
//!     let _change = MoneyRecord::decode(record.header.kind, record.payload)?;
//!     /* apply it */
//!     Ok::<(), journal::PayloadError>(())
//! })?;
//! let (journal, mut producers) = Journal::start(JournalConfig::new(dir, 2), &report)?;
//! # let record = MoneyRecord::ParticipantChange(b"");
//! let seq = producers[0].append(7, &record)?;       // on the lcore
//! while producers[0].release(seq) == Release::Wait {} // poll on later bursts
//! journal.shutdown()?;
//! # Ok(()) }
//! ```
//!
//! What this crate is not: it does not know balances or netting (the money
//! state applies the records), and it does not ship the journal to a standby.
#![forbid(unsafe_code)]

mod config;
mod failure;
mod journal;
mod lock;
pub mod money;
mod read_ahead;
mod reader;
pub mod record;
mod recovery;
mod ring;
pub mod segment;
pub mod snapshot;
pub mod storage;
mod writer;

pub use config::{ConfigError, Durability, JournalConfig};
pub use failure::{FailureKind, JournalFailure, JournalState};
pub use journal::{
    AppendError, Journal, JournalStats, Producer, Release, Seq, SnapshotOutcome, StartError,
    SNAPSHOTS_KEPT,
};
pub use money::{MoneyRecord, PayloadError, RecordKind};
pub use reader::read_records;
pub use record::{DecodeError, RecordHeader, RecordView};
pub use recovery::{Recovery, RecoveryError, RecoveryReport, SkippedSnapshot, TornTail};
pub use snapshot::{Snapshot, SnapshotError};

impl Journal {
    /// Step one of a start: find the newest valid snapshot and the segments
    /// of `dir` (which must exist). Then load [`Recovery::snapshot`], call
    /// [`Recovery::replay`], and pass its report to [`Journal::start`].
    pub fn recover(dir: impl AsRef<std::path::Path>) -> Result<Recovery, RecoveryError> {
        Recovery::open(dir.as_ref())
    }
}
