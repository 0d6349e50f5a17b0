//! A real-file storage with injected faults, for tests of the journal and of
//! its callers (the switch must answer 39=96 once the journal has failed).
//!
//! Faults are set on a shared [`FaultPlan`] before or while the writer runs:
//! writes fail with `ENOSPC` once a byte budget is used up (the part that
//! fits is written first, like a real short write on a full disk), a chosen
//! `fdatasync` call fails with `EIO`, and `fdatasync` calls can be held open
//! until the test lets them return.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{FsStorage, SegmentFile, Storage};
pub use super::{EIO, ENOSPC};

#[derive(Debug, Default)]
struct Gate {
    holding: bool,
    entered: u64,
}

/// The faults to inject and counters of what the writer did.
#[derive(Debug)]
pub struct FaultPlan {
    write_budget: AtomicU64,
    fail_sync_number: AtomicU64,
    bytes_written: AtomicU64,
    syncs_completed: AtomicU64,
    gate: Mutex<Gate>,
    gate_changed: Condvar,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            write_budget: AtomicU64::new(u64::MAX),
            fail_sync_number: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            syncs_completed: AtomicU64::new(0),
            gate: Mutex::new(Gate::default()),
            gate_changed: Condvar::new(),
        }
    }
}

impl FaultPlan {
    pub fn new() -> Arc<FaultPlan> {
        Arc::new(FaultPlan::default())
    }

    /// After `bytes` more bytes in total, writes fail with `ENOSPC`.
    pub fn disk_full_after(&self, bytes: u64) {
        let written = self.bytes_written.load(Ordering::SeqCst);
        self.write_budget
            .store(written.saturating_add(bytes), Ordering::SeqCst);
    }

    /// The `n`-th `fdatasync` (1-based, counted over the storage's life)
    /// fails with `EIO`.
    pub fn fail_sync_number(&self, n: u64) {
        self.fail_sync_number.store(n, Ordering::SeqCst);
    }

    /// From now on `fdatasync` blocks until [`FaultPlan::release_syncs`].
    pub fn hold_syncs(&self) {
        self.lock().holding = true;
    }

    pub fn release_syncs(&self) {
        self.lock().holding = false;
        self.gate_changed.notify_all();
    }

    /// Waits until at least `n` `fdatasync` calls have started; false on
    /// timeout (a bound so a broken writer fails the test instead of hanging).
    pub fn wait_for_syncs_started(&self, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.lock();
        while g.entered < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            g = self
                .gate_changed
                .wait_timeout(g, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes_written.load(Ordering::SeqCst)
    }

    pub fn syncs_completed(&self) -> u64 {
        self.syncs_completed.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// [`FsStorage`] with the faults of a [`FaultPlan`].
#[derive(Debug, Clone)]
pub struct FaultyStorage {
    plan: Arc<FaultPlan>,
}

impl FaultyStorage {
    pub fn new(plan: Arc<FaultPlan>) -> FaultyStorage {
        FaultyStorage { plan }
    }
}

/// A segment file whose writes and syncs consult the plan.
#[derive(Debug)]
pub struct FaultySegment {
    file: File,
    plan: Arc<FaultPlan>,
}

impl Storage for FaultyStorage {
    type Segment = FaultySegment;

    fn create_segment(&mut self, path: &Path) -> io::Result<FaultySegment> {
        Ok(FaultySegment {
            file: FsStorage.create_segment(path)?,
            plan: Arc::clone(&self.plan),
        })
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        FsStorage.sync_dir(dir)
    }
}

impl SegmentFile for FaultySegment {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let written = self.plan.bytes_written.load(Ordering::SeqCst);
        let budget = self.plan.write_budget.load(Ordering::SeqCst);
        let room = budget.saturating_sub(written);
        if (buf.len() as u64) > room {
            let part = &buf[..room as usize];
            SegmentFile::write_all(&mut self.file, part)?;
            self.plan
                .bytes_written
                .fetch_add(part.len() as u64, Ordering::SeqCst);
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        SegmentFile::write_all(&mut self.file, buf)?;
        self.plan
            .bytes_written
            .fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let number = {
            let mut g = self.plan.lock();
            g.entered += 1;
            let number = g.entered;
            self.plan.gate_changed.notify_all();
            while g.holding {
                g = self
                    .plan
                    .gate_changed
                    .wait(g)
                    .unwrap_or_else(|e| e.into_inner());
            }
            number
        };
        if number == self.plan.fail_sync_number.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(EIO));
        }
        self.file.sync_data()?;
        self.plan.syncs_completed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Not faulted: shrinking a file needs no space, and the tests want to
    /// see what the writer does once the failed batch is cut off.
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        SegmentFile::truncate(&mut self.file, len)
    }
}
