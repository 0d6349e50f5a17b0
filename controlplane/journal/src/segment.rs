//! Segment files: append-only runs of records named by their first LSN,
//! e.g. `00000000000000000001.wal`, so a directory listing sorted by name is
//! sorted by LSN and the name alone tells which LSNs a file should hold.

use std::io;
use std::path::{Path, PathBuf};

/// File name suffix of segments.
pub const SEGMENT_SUFFIX: &str = ".wal";
const DIGITS: usize = 20;

/// A segment file found in the journal directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFileInfo {
    /// LSN of the first record the file holds (or will hold, when empty).
    pub first_lsn: u64,
    pub path: PathBuf,
}

/// The file name of the segment whose first record has `first_lsn`.
pub fn segment_file_name(first_lsn: u64) -> String {
    format!("{first_lsn:0DIGITS$}{SEGMENT_SUFFIX}")
}

/// The first LSN encoded in a segment file name, or `None` for any other
/// file (snapshots, temp files, an operator's notes).
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, in LSN order.
pub fn list_segments(dir: &Path) -> io::Result<Vec<SegmentFileInfo>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(first_lsn) = name.to_str().and_then(parse_segment_name) {
            out.push(SegmentFileInfo {
                first_lsn,
                path: entry.path(),
            });
        }
    }
    out.sort_by_key(|s| s.first_lsn);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_lsn() {
        assert_eq!(segment_file_name(1), "00000000000000000001.wal");
        assert_eq!(parse_segment_name("00000000000000000001.wal"), Some(1));
        assert_eq!(
            parse_segment_name(&segment_file_name(u64::MAX)),
            Some(u64::MAX)
        );
        assert!(segment_file_name(9) < segment_file_name(10));
    }

    #[test]
    fn other_files_are_not_segments() {
        for name in [
            "1.wal",
            "0000000000000000000a.wal",
            "00000000000000000001.wal.tmp",
            "snapshot-00000000000000000001.snap",
        ] {
            assert_eq!(parse_segment_name(name), None, "{name}");
        }
    }
}
