//! The journal's sticky health state, readable without locks.
//!
//! Once a write or an `fdatasync` fails the journal never recovers in the
//! same process: after a failed `fdatasync` the kernel may already have
//! dropped the dirty pages, so retrying could report durable what is not.
//! Producers see the state with one atomic load per poll and the switch
//! then declines money-moving requests with 39=96.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A write returned `ENOSPC`.
    DiskFull,
    /// A write failed for another reason.
    WriteFailed,
    /// `fdatasync` failed: the batch's durability is unknown.
    SyncFailed,
    /// Creating the next segment file (or syncing its directory) failed.
    SegmentCreateFailed,
}

/// Why the journal stopped accepting records, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalFailure {
    pub kind: FailureKind,
    /// The segment file (or directory) the failed operation was on.
    pub path: PathBuf,
    /// The operating system's error text.
    pub detail: String,
    /// Every record up to this LSN was fsynced before the failure.
    pub durable_lsn: u64,
    /// `None`: the failed batch was cut off the segment, so a restart
    /// recovers exactly the records up to `durable_lsn` — the ones whose
    /// answers left the switch. `Some(why)`: it could not be cut; records
    /// after `durable_lsn` (answered 96 and reversed) may reappear at
    /// recovery and must be reconciled by hand.
    pub tail_kept: Option<String>,
}

impl JournalFailure {
    /// What the operator should do, in one sentence.
    pub fn remedy(&self) -> &'static str {
        match self.kind {
            FailureKind::DiskFull => {
                "free space on the journal volume (or point journal.dir at a larger one), then restart clearwayd; recovery truncates the partly written tail"
            }
            FailureKind::WriteFailed | FailureKind::SegmentCreateFailed => {
                "check the journal volume (permissions, mount state, kernel log), then restart clearwayd"
            }
            FailureKind::SyncFailed => {
                "the disk did not confirm the write: check it (kernel log, SMART) before restarting clearwayd; do not reuse a disk that keeps failing fsync"
            }
        }
    }
}

impl fmt::Display for JournalFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FailureKind::DiskFull => "disk full",
            FailureKind::WriteFailed => "write failed",
            FailureKind::SyncFailed => "fdatasync failed",
            FailureKind::SegmentCreateFailed => "creating a segment failed",
        };
        write!(
            f,
            "journal {what} on {}: {}. Records up to LSN {} are durable, nothing later was acknowledged; the switch declines money-moving requests (39=96) until this is fixed: {}",
            self.path.display(),
            self.detail,
            self.durable_lsn,
            self.remedy()
        )?;
        match &self.tail_kept {
            None => write!(f, " (the unacknowledged batch was cut off the segment)"),
            Some(why) => write!(
                f,
                " WARNING: the unacknowledged batch could not be cut off ({why}); records after LSN {} may reappear at recovery and must be reconciled against the 96 answers",
                self.durable_lsn
            ),
        }
    }
}

impl std::error::Error for JournalFailure {}

/// The life stage of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalState {
    /// Accepting and committing records.
    Running,
    /// Shut down in order: every record accepted before was committed.
    Stopped,
    /// Failed; see [`JournalFailure`]. Sticky for the life of the process.
    Failed,
}

const RUNNING: u8 = 0;
const STOPPED: u8 = 1;
const FAILED: u8 = 2;

/// The state word plus the failure reason, set once.
#[derive(Debug, Default)]
pub(crate) struct Health {
    state: AtomicU8,
    failure: OnceLock<JournalFailure>,
}

impl Health {
    pub(crate) fn state(&self) -> JournalState {
        match self.state.load(Ordering::Acquire) {
            RUNNING => JournalState::Running,
            STOPPED => JournalState::Stopped,
            _ => JournalState::Failed,
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.state.load(Ordering::Acquire) == RUNNING
    }

    /// The reason, once failed. Lock-free after the first set.
    pub(crate) fn failure(&self) -> Option<&JournalFailure> {
        self.failure.get()
    }

    /// Records the first failure; later ones are ignored (the first is the
    /// cause, later ones are consequences).
    pub(crate) fn fail(&self, failure: JournalFailure) {
        let _ = self.failure.set(failure);
        self.state.store(FAILED, Ordering::Release);
    }

    pub(crate) fn stop(&self) {
        // A failure stays a failure: only Running becomes Stopped.
        let _ = self
            .state
            .compare_exchange(RUNNING, STOPPED, Ordering::AcqRel, Ordering::Acquire);
    }
}
