//! Snapshots: opaque state bytes from the caller plus the LSN they cover,
//! written atomically (temp file, fsync, rename, directory fsync) and
//! CRC32C-checked, so recovery reads a snapshot and only the records after it.
//!
//! ```text
//! offset size field
//!      0    4 magic     b"CWJS"
//!      4    2 version   1
//!      6    2 reserved  zero
//!      8    8 LSN       last record the state includes
//!     16    8 length    bytes of state after the header
//!     24    4 CRC32C    over bytes 0..24 and the state bytes
//!     28    4 reserved  zero
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::storage::sync_dir;

const MAGIC: [u8; 4] = *b"CWJS";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 32;
const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".snap";
const DIGITS: usize = 20;

/// A snapshot read back from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every record with an LSN up to and including this one is in `state`.
    pub lsn: u64,
    pub state: Vec<u8>,
    pub path: PathBuf,
}

/// Why a snapshot could not be written or read.
#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("snapshot {path}: {op} failed: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error("snapshot {path} is invalid: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("snapshot for LSN {lsn} refused: only LSNs up to {durable_lsn} are durable; take snapshots of state built from durable records only")]
    AheadOfJournal { lsn: u64, durable_lsn: u64 },
    #[error("snapshot for LSN {lsn} refused: a snapshot for the later LSN {newest} exists; snapshot LSNs must increase")]
    OlderThanNewest { lsn: u64, newest: u64 },
}

/// The file name of the snapshot covering up to `lsn`.
pub fn snapshot_file_name(lsn: u64) -> String {
    format!("{PREFIX}{lsn:0DIGITS$}{SUFFIX}")
}

fn parse_snapshot_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Snapshot files in `dir` as `(lsn, path)`, oldest first. Leftover
/// `.tmp` files of an interrupted write are not listed.
pub fn list_snapshots(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(lsn) = entry.file_name().to_str().and_then(parse_snapshot_name) {
            out.push((lsn, entry.path()));
        }
    }
    out.sort_by_key(|s| s.0);
    Ok(out)
}

fn io_err<'p>(path: &'p Path, op: &'static str) -> impl FnOnce(io::Error) -> SnapshotError + 'p {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

fn crc(header: &[u8], state: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header[..24]), state)
}

/// Writes a snapshot atomically: a crash leaves either the previous set of
/// snapshots or the new one complete, never a half-written `.snap`.
pub fn write_snapshot(dir: &Path, lsn: u64, state: &[u8]) -> Result<PathBuf, SnapshotError> {
    let path = dir.join(snapshot_file_name(lsn));
    let tmp = dir.join(format!("{}.tmp", snapshot_file_name(lsn)));
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&MAGIC);
    header[4..6].copy_from_slice(&VERSION.to_le_bytes());
    header[8..16].copy_from_slice(&lsn.to_le_bytes());
    header[16..24].copy_from_slice(&(state.len() as u64).to_le_bytes());
    let sum = crc(&header, state);
    header[24..28].copy_from_slice(&sum.to_le_bytes());

    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io_err(&tmp, "create"))?;
    file.write_all(&header).map_err(io_err(&tmp, "write"))?;
    file.write_all(state).map_err(io_err(&tmp, "write"))?;
    file.sync_all().map_err(io_err(&tmp, "fsync"))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err(&path, "rename"))?;
    sync_dir(dir).map_err(io_err(dir, "directory fsync"))?;
    Ok(path)
}

/// Reads and checks one snapshot file.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, SnapshotError> {
    let invalid = |problem: String| SnapshotError::Invalid {
        path: path.to_path_buf(),
        problem,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path, "read"))?;
    if bytes.len() < HEADER_LEN {
        return Err(invalid(format!(
            "{} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let (header, state) = bytes.split_at(HEADER_LEN);
    if header[0..4] != MAGIC {
        return Err(invalid(format!("bad magic {:02x?}", &header[0..4])));
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    if version != VERSION {
        return Err(invalid(format!(
            "version {version}, this build reads {VERSION}"
        )));
    }
    let word = |r: std::ops::Range<usize>| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[r]);
        u64::from_le_bytes(b)
    };
    let lsn = word(8..16);
    let len = word(16..24);
    if len != state.len() as u64 {
        return Err(invalid(format!(
            "header says {len} state bytes, file has {}",
            state.len()
        )));
    }
    let stored = u32::from_le_bytes([header[24], header[25], header[26], header[27]]);
    let computed = crc(header, state);
    if stored != computed {
        return Err(invalid(format!(
            "CRC32C mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    if parse_snapshot_name(&path.file_name().unwrap_or_default().to_string_lossy()) != Some(lsn) {
        return Err(invalid(format!("file name does not match its LSN {lsn}")));
    }
    Ok(Snapshot {
        lsn,
        state: state.to_vec(),
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_snapshot_reads_back_and_a_flipped_byte_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_snapshot(dir.path(), 42, b"balances").unwrap();
        let snap = read_snapshot(&path).unwrap();
        assert_eq!((snap.lsn, &snap.state[..]), (42, &b"balances"[..]));
        assert_eq!(
            list_snapshots(dir.path()).unwrap(),
            vec![(42, path.clone())]
        );

        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        fs::write(&path, bytes).unwrap();
        assert!(matches!(
            read_snapshot(&path),
            Err(SnapshotError::Invalid { .. })
        ));
    }
}
