//! Where the writer thread's bytes go: a trait over the three file
//! operations it needs, the real file system, and a fault-injecting wrapper.
//!
//! The trait exists so tests (here and in the switch) can make a write or an
//! `fdatasync` fail deterministically, or hold an `fdatasync` open to observe
//! that nothing is reported durable before it returns.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

pub mod fault;

/// Linux errno for "No space left on device".
pub const ENOSPC: i32 = 28;
/// Linux errno for "Input/output error".
pub const EIO: i32 = 5;

/// The writer's view of the journal directory.
pub trait Storage: Send + 'static {
    type Segment: SegmentFile;
    /// Creates the segment file at `path` for appending; an existing empty
    /// file is reused, an existing non-empty one is an error.
    fn create_segment(&mut self, path: &Path) -> io::Result<Self::Segment>;
    /// Makes the directory entries in `dir` durable (after a create).
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()>;
}

/// One open segment file.
pub trait SegmentFile: Send + 'static {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// `fdatasync`: data and the size needed to read it back are on disk.
    fn sync_data(&mut self) -> io::Result<()>;
    /// Cuts the file back to `len` bytes (and syncs that): the writer's
    /// undo of a batch it could not make durable.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsStorage;

impl Storage for FsStorage {
    type Segment = File;

    fn create_segment(&mut self, path: &Path) -> io::Result<File> {
        // Never truncate: a segment that already holds bytes means another
        // writer owns this directory or recovery was skipped, and clobbering
        // it would destroy committed money records. An empty leftover (a
        // crash right after creation, or a torn tail cut to zero) is reused.
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if file.metadata()?.len() > 0 {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the segment already holds records: another process may be writing this journal, or it was started without recovering first",
            ));
        }
        Ok(file)
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        sync_dir(dir)
    }
}

impl SegmentFile for File {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(self, buf)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)?;
        File::sync_data(self)
    }
}

/// `fsync` on a directory, so a created, renamed or removed entry survives
/// power loss.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
