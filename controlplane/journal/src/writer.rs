//! The one writer thread: drains every producer ring into a batch, writes
//! it, `fdatasync`s once (group commit), then publishes durability.
//!
//! Order per batch, which the tests check with a held `fdatasync`:
//! 1. copy records out of the rings, assign consecutive LSNs, free the slots;
//! 2. `write` the batch to the active segment;
//! 3. `fdatasync`;
//! 4. publish each producer's durable sequence and the global durable LSN.
//!
//! Nothing is published before step 3 returns, and after any failure nothing
//! is published again (the state turns `Failed`, the thread exits).
//!
//! Budget: copying an 80-byte record out of a ring, CRC32C-ing it (SSE4.2)
//! and the kernel's copy into the page cache cost ~190 ns of writer CPU per
//! record as measured (about half of it in the kernel), so one writer core
//! sustains ~5 M records/s; `fdatasync` took 0.3–12 ms on the reference VM
//! depending on batch size and neighbours, so at saturation batches grow to
//! `batch_max_bytes` (~50 k records) and the disk, not the CPU, is the limit.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::failure::{FailureKind, JournalFailure};
use crate::journal::Shared;
use crate::record::{encode_append, RecordHeader, HEADER_LEN, MAX_PAYLOAD};
use crate::segment::segment_file_name;
use crate::storage::{SegmentFile, Storage, ENOSPC};

pub(crate) struct Writer<S: Storage> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) storage: S,
    pub(crate) dir: PathBuf,
    pub(crate) segment: S::Segment,
    pub(crate) segment_path: PathBuf,
    pub(crate) segment_len: u64,
    pub(crate) segment_max: u64,
    pub(crate) next_lsn: u64,
    pub(crate) batch: Vec<u8>,
    pub(crate) batch_max: usize,
    /// Header plus the configured max payload: the most one record adds.
    pub(crate) record_max: usize,
    pub(crate) scratch: Box<[u8]>,
    /// Per ring: consumed count after the current batch, published as the
    /// producer's durable sequence once the batch is synced.
    pub(crate) drained: Vec<u64>,
    pub(crate) idle_sleep: Duration,
    pub(crate) rotation: usize,
}

impl<S: Storage> Writer<S> {
    /// Opens the segment that will receive `next_lsn` (reusing a
    /// leftover empty one of the same name) and makes its entry durable.
    pub(crate) fn open_segment(
        storage: &mut S,
        dir: &Path,
        next_lsn: u64,
    ) -> std::io::Result<(S::Segment, PathBuf)> {
        let path = dir.join(segment_file_name(next_lsn));
        let segment = storage.create_segment(&path)?;
        storage.sync_dir(dir)?;
        Ok((segment, path))
    }

    pub(crate) fn with_capacity_buffers(
        batch_max: usize,
        record_max: usize,
    ) -> (Vec<u8>, Box<[u8]>) {
        (
            // One record of slack: a batch closes once it cannot take a
            // maximum-size record, so it never grows past this.
            Vec::with_capacity(batch_max + record_max),
            vec![0u8; MAX_PAYLOAD].into_boxed_slice(),
        )
    }

    pub(crate) fn run(mut self) {
        loop {
            // Read the stop flag before draining: whatever was pushed before
            // shutdown was requested is committed by this last pass.
            let stopping = self.shared.stop.load(Ordering::Acquire);
            match self.commit_batch() {
                Ok(0) if stopping => break,
                Ok(0) => std::thread::sleep(self.idle_sleep),
                Ok(_) => {}
                Err(failure) => {
                    self.shared.health.fail(failure);
                    return;
                }
            }
        }
        self.shared.health.stop();
    }

    fn failure(&self, kind: FailureKind, path: &Path, err: &std::io::Error) -> JournalFailure {
        JournalFailure {
            kind,
            path: path.to_path_buf(),
            detail: err.to_string(),
            durable_lsn: self.shared.durable_lsn.0.load(Ordering::Acquire),
            tail_kept: None,
        }
    }

    /// After a failed write or `fdatasync` the batch's answers leave as 96
    /// (and 0420s): cut its bytes off the segment so recovery never replays
    /// money the acquirers were told did not move.
    fn cut_back(&mut self, mut failure: JournalFailure, len: u64) -> JournalFailure {
        match self.segment.truncate(len) {
            Ok(()) => self.segment_len = len,
            Err(e) => failure.tail_kept = Some(e.to_string()),
        }
        failure
    }

    /// Tells producers that everything in the segment so far is durable.
    fn publish_durable(&mut self) {
        for (ring, drained) in self.shared.rings.iter().zip(&self.drained) {
            ring.durable.0.store(*drained, Ordering::Release);
        }
        self.shared
            .durable_lsn
            .0
            .store(self.next_lsn.saturating_sub(1), Ordering::Release);
    }

    /// Commits one batch; returns how many records it held.
    fn commit_batch(&mut self) -> Result<u64, JournalFailure> {
        self.batch.clear();
        let rings = self.shared.rings.len();
        let mut total = 0u64;
        self.rotation = (self.rotation + 1) % rings;
        for step in 0..rings {
            // Start at a different ring each batch so a busy lcore cannot
            // keep the others' records out of full batches.
            let i = (self.rotation + step) % rings;
            let (head, tail) = self.shared.rings[i].readable();
            let mut h = head;
            while h < tail && self.batch.len() + self.record_max <= self.batch_max {
                let meta = self.shared.rings[i].read(h, &mut self.scratch);
                let record_len = (HEADER_LEN + meta.len) as u64;
                if self.segment_len + self.batch.len() as u64 + record_len > self.segment_max {
                    // What is batched so far goes to the full segment and is
                    // published before the roll, so a failure in the next
                    // segment never leaves synced records unacknowledged.
                    self.shared.rings[i].release_to(h);
                    self.drained[i] = h;
                    self.flush()?;
                    self.publish_durable();
                    self.roll()?;
                }
                let header = RecordHeader {
                    kind: meta.kind,
                    payload_len: meta.len as u32,
                    lsn: self.next_lsn,
                    epoch: meta.epoch,
                    lcore: i as u16,
                };
                // Cannot fail: the producer checked the length against
                // max_payload <= MAX_PAYLOAD and the batch has room.
                encode_append(&header, &self.scratch[..meta.len], &mut self.batch)
                    .expect("ring slot holds at most MAX_PAYLOAD bytes");
                self.next_lsn += 1;
                h += 1;
            }
            if h > head {
                self.shared.rings[i].release_to(h);
                self.drained[i] = h;
                total += h - head;
            }
        }
        if total == 0 {
            return Ok(0);
        }
        self.flush()?;
        self.publish_durable();
        self.shared
            .stats
            .records
            .fetch_add(total, Ordering::Relaxed);
        self.shared.stats.batches.fetch_add(1, Ordering::Relaxed);
        Ok(total)
    }

    /// Writes the pending batch bytes and `fdatasync`s the segment.
    fn flush(&mut self) -> Result<(), JournalFailure> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let before = self.segment_len;
        if let Err(e) = self.segment.write_all(&self.batch) {
            let kind = if e.raw_os_error() == Some(ENOSPC) {
                FailureKind::DiskFull
            } else {
                FailureKind::WriteFailed
            };
            let failure = self.failure(kind, &self.segment_path.clone(), &e);
            return Err(self.cut_back(failure, before));
        }
        self.segment_len += self.batch.len() as u64;
        self.shared
            .stats
            .bytes
            .fetch_add(self.batch.len() as u64, Ordering::Relaxed);
        self.batch.clear();
        let started = std::time::Instant::now();
        let synced = self.segment.sync_data();
        self.shared
            .stats
            .sync_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if let Err(e) = synced {
            let failure = self.failure(FailureKind::SyncFailed, &self.segment_path.clone(), &e);
            return Err(self.cut_back(failure, before));
        }
        self.shared.stats.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Closes the full segment (already synced by `flush`) and opens the
    /// next, named by the LSN of the record that did not fit.
    fn roll(&mut self) -> Result<(), JournalFailure> {
        match Self::open_segment(&mut self.storage, &self.dir, self.next_lsn) {
            Ok((segment, path)) => {
                self.segment = segment;
                self.segment_path = path;
                self.segment_len = 0;
                self.shared
                    .active_segment
                    .store(self.next_lsn, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                let path = self.dir.join(segment_file_name(self.next_lsn));
                let kind = if e.raw_os_error() == Some(ENOSPC) {
                    FailureKind::DiskFull
                } else {
                    FailureKind::SegmentCreateFailed
                };
                Err(self.failure(kind, &path, &e))
            }
        }
    }
}
