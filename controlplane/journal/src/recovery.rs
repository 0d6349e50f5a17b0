//! Recovery: the latest valid snapshot, then every record after it in LSN
//! order.
//!
//! Rules, in the order they are checked:
//! - Segments fully covered by the snapshot are not read (this is what
//!   bounds recovery time).
//! - Records must carry consecutive LSNs, starting at the segment's name;
//!   a gap or overlap stops recovery with the segment and byte offset.
//! - A record that fails to decode in the LAST segment, with no valid record
//!   anywhere after it, is a torn tail: a crash interrupted the final write.
//!   It is truncated (nothing after it was ever acknowledged, since
//!   acknowledgement waits for `fdatasync`) and reported.
//! - A bad record followed by a valid one, or a bad record in any segment
//!   but the last (closed segments were fsynced whole before the next was
//!   created), is corruption in the middle: recovery stops with the segment
//!   and offset and never skips it, because skipping would lose money.
//!
//! Note: after a power loss (not a process crash) the disk may have
//! persisted a later page of the unsynced final batch but not an earlier
//! one; that also shows as a bad record followed by a valid one and stops
//! the start for an operator to decide, which is the conservative outcome.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::lock::{lock_dir, LockFailure};
use crate::read_ahead::with_read_ahead;
use crate::record::{decode, decode_with, CrcCheck, DecodeError, RecordView, MAGIC};
use crate::segment::{list_segments, SegmentFileInfo};
use crate::snapshot::{list_snapshots, read_snapshot, Snapshot};

/// A torn tail that recovery cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub segment: PathBuf,
    /// The segment's new length: the offset of the first bad byte.
    pub offset: u64,
    pub bytes_dropped: u64,
    /// Why the bytes at `offset` were not a record.
    pub cause: DecodeError,
}

/// A snapshot that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSnapshot {
    pub path: PathBuf,
    pub reason: String,
}

/// What recovery found and did; log it at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub dir: PathBuf,
    /// LSN covered by the snapshot used, if any.
    pub snapshot_lsn: Option<u64>,
    /// Newer snapshots that failed their checks and were passed over.
    pub skipped_snapshots: Vec<SkippedSnapshot>,
    pub segments_read: usize,
    pub records_replayed: u64,
    /// The last LSN in the recovered state (snapshot or record); 0 if empty.
    pub last_lsn: u64,
    /// The LSN the writer continues with.
    pub next_lsn: u64,
    pub torn_tail: Option<TornTail>,
}

/// Why recovery stopped. Every variant names the file and, for records,
/// the byte offset, so an operator can look at exactly that place.
#[derive(Debug, Error)]
pub enum RecoveryError {
    #[error("journal directory {dir}: {op} failed: {source}; for a new switch create the directory, otherwise fix journal.dir")]
    Dir {
        dir: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error("journal directory {dir} is in use by another running journal or recovery (directory lock held); stop the other clearwayd first")]
    Locked { dir: PathBuf },
    #[error("journal segment {segment}: {op} failed: {source}")]
    Io {
        segment: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error("journal segment {segment} is corrupt at byte {offset} ({cause}) and a valid record follows at byte {next_valid_offset}; refusing to start because skipping it would lose money state. Restore the segment from a replica or backup; only after investigation truncate it at byte {offset} by hand")]
    CorruptMiddle {
        segment: PathBuf,
        offset: u64,
        cause: DecodeError,
        next_valid_offset: u64,
    },
    #[error("journal segment {segment} is corrupt at byte {offset} ({cause}) but is not the last segment (closed segments are fsynced whole); refusing to start. Restore the segment from a replica or backup")]
    CorruptClosedSegment {
        segment: PathBuf,
        offset: u64,
        cause: DecodeError,
    },
    #[error("journal segment {segment} at byte {offset}: expected LSN {expected}, found {found}; records are missing or duplicated. Restore the missing segment; do not start on a journal with a gap")]
    LsnGap {
        segment: PathBuf,
        offset: u64,
        expected: u64,
        found: u64,
    },
    #[error("snapshot {snapshot} covers LSN {snapshot_lsn} but the journal ends at LSN {journal_end}: records the snapshot includes are missing from the journal. Restore the journal's newest segment")]
    JournalBehindSnapshot {
        snapshot: PathBuf,
        snapshot_lsn: u64,
        journal_end: u64,
    },
    #[error("journal segment {segment} at byte {offset} should hold durable record LSN {lsn} but cannot be read ({cause}); restore the segment from a replica or backup")]
    Unreadable {
        segment: PathBuf,
        offset: u64,
        lsn: u64,
        cause: DecodeError,
    },
    #[error("LSN {lsn} is not in the journal at {dir}: compacted into a snapshot (read the snapshot) or not yet written")]
    NotInJournal { dir: PathBuf, lsn: u64 },
    #[error("applying record LSN {lsn} (segment {segment}, byte {offset}) failed: {source}")]
    Apply {
        lsn: u64,
        segment: PathBuf,
        offset: u64,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Recovery in progress: the snapshot to load first, then [`Recovery::replay`].
#[derive(Debug)]
pub struct Recovery {
    dir: PathBuf,
    snapshot: Option<Snapshot>,
    skipped_snapshots: Vec<SkippedSnapshot>,
    segments: Vec<SegmentFileInfo>,
    /// Held until replay (and any truncation) is done.
    _lock: std::fs::File,
}

impl Recovery {
    /// Finds the newest valid snapshot and the segments in `dir`.
    pub fn open(dir: &Path) -> Result<Recovery, RecoveryError> {
        let dir_err = |op| {
            move |source| RecoveryError::Dir {
                dir: dir.to_path_buf(),
                op,
                source,
            }
        };
        let lock = match lock_dir(dir) {
            Ok(f) => f,
            Err(LockFailure::Busy) => {
                return Err(RecoveryError::Locked {
                    dir: dir.to_path_buf(),
                })
            }
            Err(LockFailure::Io(e)) => return Err(dir_err("opening")(e)),
        };
        let segments = list_segments(dir).map_err(dir_err("listing segments"))?;
        let mut snapshots = list_snapshots(dir).map_err(dir_err("listing snapshots"))?;
        let mut skipped_snapshots = Vec::new();
        let mut snapshot = None;
        while let Some((_, path)) = snapshots.pop() {
            match read_snapshot(&path) {
                Ok(s) => {
                    snapshot = Some(s);
                    break;
                }
                Err(e) => skipped_snapshots.push(SkippedSnapshot {
                    path,
                    reason: e.to_string(),
                }),
            }
        }
        Ok(Recovery {
            dir: dir.to_path_buf(),
            snapshot,
            skipped_snapshots,
            segments,
            _lock: lock,
        })
    }

    /// The snapshot to load before replaying, if there is one.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Calls `apply` for every record after the snapshot, in LSN order,
    /// truncates a torn tail, and reports. If this returns an error the
    /// state built so far is incomplete and must be discarded.
    pub fn replay<F, E>(self, mut apply: F) -> Result<RecoveryReport, RecoveryError>
    where
        F: FnMut(&RecordView<'_>) -> Result<(), E>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let snapshot_lsn = self.snapshot.as_ref().map(|s| s.lsn);
        let start = snapshot_lsn.unwrap_or(0);
        let mut report = RecoveryReport {
            dir: self.dir.clone(),
            snapshot_lsn,
            skipped_snapshots: self.skipped_snapshots,
            segments_read: 0,
            records_replayed: 0,
            last_lsn: start,
            next_lsn: start + 1,
            torn_tail: None,
        };
        // Skip segments whose successor begins at or before the first LSN
        // we need: everything in them is in the snapshot.
        let first = self
            .segments
            .windows(2)
            .take_while(|pair| pair[1].first_lsn <= start + 1)
            .count();
        let segments = &self.segments[first..];
        let mut expected = start + 1;
        // The next segment is read on a second thread while this one is
        // applied (see `read_ahead`).
        let paths = segments.iter().map(|s| s.path.clone()).collect();
        with_read_ahead(paths, |reader| {
            for (n, seg) in segments.iter().enumerate() {
                let is_last = n + 1 == segments.len();
                // The first segment read may begin before the snapshot's end
                // (its early records are skipped); every later one must begin
                // exactly where the previous ended.
                if seg.first_lsn > expected || (n > 0 && seg.first_lsn != expected) {
                    return Err(RecoveryError::LsnGap {
                        segment: seg.path.clone(),
                        offset: 0,
                        expected,
                        found: seg.first_lsn,
                    });
                }
                let (buf, verified) = match reader.next_segment() {
                    Some(Ok(read)) => read,
                    Some(Err(source)) => {
                        return Err(RecoveryError::Io {
                            segment: seg.path.clone(),
                            op: "read",
                            source,
                        })
                    }
                    None => {
                        return Err(RecoveryError::Io {
                            segment: seg.path.clone(),
                            op: "read",
                            source: io::Error::other("the segment reader stopped early"),
                        })
                    }
                };
                report.segments_read += 1;
                let outcome = scan(seg, buf, verified, &mut expected, |view, offset| {
                    apply(view).map_err(|e| RecoveryError::Apply {
                        lsn: view.header.lsn,
                        segment: seg.path.clone(),
                        offset,
                        source: e.into(),
                    })?;
                    report.records_replayed += 1;
                    Ok(())
                })?;
                if let Some((offset, cause)) = outcome {
                    match find_valid_record(buf, offset + 1) {
                        Some(next_valid_offset) => {
                            return Err(RecoveryError::CorruptMiddle {
                                segment: seg.path.clone(),
                                offset,
                                cause,
                                next_valid_offset,
                            })
                        }
                        None if !is_last => {
                            return Err(RecoveryError::CorruptClosedSegment {
                                segment: seg.path.clone(),
                                offset,
                                cause,
                            })
                        }
                        None => {
                            truncate(&seg.path, offset)?;
                            report.torn_tail = Some(TornTail {
                                segment: seg.path.clone(),
                                offset,
                                bytes_dropped: buf.len() as u64 - offset,
                                cause,
                            });
                        }
                    }
                }
            }
            Ok(())
        })?;
        let journal_end = expected - 1;
        if let (Some(snap), true) = (&self.snapshot, !segments.is_empty()) {
            if journal_end < snap.lsn {
                return Err(RecoveryError::JournalBehindSnapshot {
                    snapshot: snap.path.clone(),
                    snapshot_lsn: snap.lsn,
                    journal_end,
                });
            }
        }
        report.last_lsn = journal_end.max(start);
        report.next_lsn = report.last_lsn + 1;
        Ok(report)
    }
}

/// Walks the records of one segment; the first `verified` bytes are records
/// whose CRC was already checked. Records below `expected` (covered by
/// the snapshot) are checked but not applied. Returns the offset and cause
/// of the first undecodable record, if any; LSN errors are returned as
/// errors directly because a valid record with a wrong LSN is never a tear.
fn scan<F>(
    seg: &SegmentFileInfo,
    buf: &[u8],
    verified: usize,
    expected: &mut u64,
    mut visit: F,
) -> Result<Option<(u64, DecodeError)>, RecoveryError>
where
    F: FnMut(&RecordView<'_>, u64) -> Result<(), RecoveryError>,
{
    let mut offset = 0usize;
    let mut file_lsn = seg.first_lsn;
    while offset < buf.len() {
        // Records before `verified` passed the read-ahead's CRC check; the
        // rest (normally none) are checked here.
        let crc = if offset < verified {
            CrcCheck::AlreadyVerified
        } else {
            CrcCheck::Compute
        };
        let view = match decode_with(&buf[offset..], offset as u64, crc) {
            Ok(v) => v,
            Err(cause) => return Ok(Some((offset as u64, cause))),
        };
        if view.header.lsn != file_lsn {
            return Err(RecoveryError::LsnGap {
                segment: seg.path.clone(),
                offset: offset as u64,
                expected: file_lsn,
                found: view.header.lsn,
            });
        }
        if file_lsn == *expected {
            visit(&view, offset as u64)?;
            *expected += 1;
        }
        file_lsn += 1;
        offset += view.encoded_len();
    }
    // A segment that ends before the snapshot's LSN leaves `expected`
    // untouched; the next segment's name check catches a hole.
    if file_lsn > *expected {
        *expected = file_lsn;
    }
    Ok(None)
}

/// The offset of the first valid record at or after `from`, if any.
fn find_valid_record(buf: &[u8], from: u64) -> Option<u64> {
    let from = from as usize;
    if from >= buf.len() {
        return None;
    }
    buf[from..]
        .windows(MAGIC.len())
        .enumerate()
        .filter(|(_, w)| *w == MAGIC)
        .map(|(i, _)| from + i)
        .find(|&at| decode(&buf[at..], at as u64).is_ok())
        .map(|at| at as u64)
}

fn truncate(path: &Path, len: u64) -> Result<(), RecoveryError> {
    let io = |op| {
        move |source| RecoveryError::Io {
            segment: path.to_path_buf(),
            op,
            source,
        }
    };
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io("open to truncate the torn tail"))?;
    file.set_len(len).map_err(io("truncate the torn tail"))?;
    file.sync_all().map_err(io("fsync after truncating"))?;
    Ok(())
}
