//! Read-only access to committed records while the journal runs, for the
//! control plane: netting a closed window, re-running its settlement,
//! building a snapshot, or shipping records to a standby.
//!
//! It never modifies files and never reads past `upto_lsn`, which the caller
//! takes from [`crate::Journal::durable_lsn`]: bytes after that may be a
//! batch the writer is still writing.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::record::{decode, RecordView};
use crate::recovery::RecoveryError;
use crate::segment::list_segments;

/// Calls `visit` for every record with `from_lsn <= LSN <= upto_lsn`, in LSN
/// order, and returns how many it visited. Fails with the segment and offset
/// if any record in that range is missing or unreadable, including when
/// `from_lsn` was already compacted away (read the snapshot instead).
pub fn read_records<F, E>(
    dir: &Path,
    from_lsn: u64,
    upto_lsn: u64,
    mut visit: F,
) -> Result<u64, RecoveryError>
where
    F: FnMut(&RecordView<'_>) -> Result<(), E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let from_lsn = from_lsn.max(1);
    if from_lsn > upto_lsn {
        return Ok(0);
    }
    let segments = list_segments(dir).map_err(|source| RecoveryError::Dir {
        dir: dir.to_path_buf(),
        op: "listing segments",
        source,
    })?;
    // The last segment starting at or before from_lsn holds it.
    let first = segments
        .iter()
        .rposition(|s| s.first_lsn <= from_lsn)
        .ok_or_else(|| RecoveryError::NotInJournal {
            dir: dir.to_path_buf(),
            lsn: from_lsn,
        })?;
    let mut expected = from_lsn;
    let mut visited = 0u64;
    let mut buf = Vec::new();
    for (n, seg) in segments[first..].iter().enumerate() {
        if n > 0 && seg.first_lsn != expected {
            return Err(RecoveryError::LsnGap {
                segment: seg.path.clone(),
                offset: 0,
                expected,
                found: seg.first_lsn,
            });
        }
        buf.clear();
        File::open(&seg.path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|source| RecoveryError::Io {
                segment: seg.path.clone(),
                op: "read",
                source,
            })?;
        let mut offset = 0usize;
        let mut file_lsn = seg.first_lsn;
        while offset < buf.len() && file_lsn <= upto_lsn {
            let view = decode(&buf[offset..], offset as u64).map_err(|cause| {
                RecoveryError::Unreadable {
                    segment: seg.path.clone(),
                    offset: offset as u64,
                    lsn: file_lsn,
                    cause,
                }
            })?;
            if view.header.lsn != file_lsn {
                return Err(RecoveryError::LsnGap {
                    segment: seg.path.clone(),
                    offset: offset as u64,
                    expected: file_lsn,
                    found: view.header.lsn,
                });
            }
            if file_lsn >= from_lsn {
                visit(&view).map_err(|e| RecoveryError::Apply {
                    lsn: file_lsn,
                    segment: seg.path.clone(),
                    offset: offset as u64,
                    source: e.into(),
                })?;
                visited += 1;
                expected = file_lsn + 1;
            }
            file_lsn += 1;
            offset += view.encoded_len();
        }
        if expected > upto_lsn {
            return Ok(visited);
        }
    }
    Err(RecoveryError::NotInJournal {
        dir: dir.to_path_buf(),
        lsn: expected,
    })
}
