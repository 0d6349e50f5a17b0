//! One writer per journal directory: an advisory `flock` on the directory
//! itself, held by recovery (which may truncate) and by a running journal.
//! The kernel drops it when the process dies, so a restart after `kill -9`
//! never finds a stale lock; a second clearwayd on the same directory is
//! refused instead of interleaving its records with the first one's.

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;

/// Why the directory lock was not taken.
pub(crate) enum LockFailure {
    /// Another open journal or recovery holds it.
    Busy,
    Io(io::Error),
}

/// Takes the lock; it is held as long as the returned file is open.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, LockFailure> {
    let file = File::open(dir).map_err(LockFailure::Io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(LockFailure::Busy),
        Err(TryLockError::Error(e)) => Err(LockFailure::Io(e)),
    }
}
