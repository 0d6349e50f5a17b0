//! The running journal: the handle the control plane keeps, and the
//! per-lcore [`Producer`] handles the switch's lcores append through.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use thiserror::Error;

use crate::config::{ConfigError, Durability, JournalConfig};
use crate::failure::{Health, JournalFailure, JournalState};
use crate::lock::{lock_dir, LockFailure};
use crate::money::{MoneyEncodeError, MoneyRecord};
use crate::recovery::RecoveryReport;
use crate::ring::{Padded, Ring};
use crate::segment::list_segments;
use crate::snapshot::{list_snapshots, write_snapshot, SnapshotError};
use crate::storage::{FsStorage, Storage};
use crate::writer::Writer;

/// How many snapshots are kept. Segments are deleted only once covered by
/// the older of the two, so a damaged newest snapshot can still be
/// recovered from the previous one plus the journal.
pub const SNAPSHOTS_KEPT: usize = 2;

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) records: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) syncs: AtomicU64,
    pub(crate) sync_nanos: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

/// State shared by the writer, the producers and the journal handle.
pub(crate) struct Shared {
    pub(crate) rings: Box<[Ring]>,
    pub(crate) health: Health,
    pub(crate) durable_lsn: Padded,
    /// First LSN of the segment the writer appends to; never deleted.
    pub(crate) active_segment: AtomicU64,
    pub(crate) stop: AtomicBool,
    pub(crate) stats: Stats,
    durability: Durability,
    max_payload: usize,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JournalStats {
    /// Records written and fsynced.
    pub records: u64,
    /// Group commits (batches made durable).
    pub batches: u64,
    /// `fdatasync` calls that succeeded (a batch crossing a segment
    /// boundary needs two).
    pub syncs: u64,
    /// Total time spent inside `fdatasync`, in nanoseconds.
    pub sync_nanos: u64,
    pub bytes: u64,
    pub durable_lsn: u64,
}

/// A producer's sequence number for one appended record: 1 for its first
/// record, then consecutive. Durability is published per producer in this
/// numbering because the LSN is only assigned later by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(pub u64);

/// What an lcore may do with a response whose record it appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Send it: the record is durable (or the journal runs `async`).
    Now,
    /// Keep it and poll again on a later burst.
    Wait,
    /// Never send an approval: the record will not become durable. Answer
    /// 39=96 instead (see [`Producer::failure`] for why).
    Decline,
}

/// Why a record was not accepted. The lcore must not approve money then.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AppendError {
    #[error("journal ring of lcore {lcore} is full ({capacity} records waiting for the writer); decline with 39=96 or retry on the next burst")]
    Backpressure { lcore: u16, capacity: u64 },
    #[error("the journal has failed and accepts no records; answer 39=96 (the journal's failure says why)")]
    Failed,
    #[error("the journal is shut down and accepts no records")]
    Stopped,
    #[error("record payload of {len} bytes exceeds the configured max_payload of {max}")]
    PayloadTooLarge { len: usize, max: usize },
    #[error("record could not be encoded: {0}")]
    Encode(#[from] MoneyEncodeError),
}

/// Why the journal could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the recovery report is for {report_dir} but journal.dir is {config_dir}; recover the directory you start")]
    WrongDirectory {
        report_dir: PathBuf,
        config_dir: PathBuf,
    },
    #[error("journal directory {dir} is in use by another running journal (directory lock held); stop the other clearwayd first")]
    Locked { dir: PathBuf },
    #[error("cannot open journal segment {path}: {source}; check that the directory exists and is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a snapshot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOutcome {
    pub path: PathBuf,
    pub segments_deleted: Vec<PathBuf>,
    pub snapshots_deleted: Vec<PathBuf>,
}

/// The running journal. Dropping it shuts the writer down in order.
pub struct Journal {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
    dir: PathBuf,
    /// The directory lock; a field, so it is released only after `Drop`
    /// has joined the writer.
    _lock: std::fs::File,
}

impl Journal {
    /// Starts the writer on the real file system after recovery, continuing
    /// at `report.next_lsn`. Returns one producer per configured lcore.
    pub fn start(
        config: JournalConfig,
        report: &RecoveryReport,
    ) -> Result<(Journal, Vec<Producer>), StartError> {
        Journal::start_with_storage(config, report, FsStorage)
    }

    /// [`Journal::start`] over any storage (tests inject faults this way).
    pub fn start_with_storage<S: Storage>(
        config: JournalConfig,
        report: &RecoveryReport,
        mut storage: S,
    ) -> Result<(Journal, Vec<Producer>), StartError> {
        config.validate()?;
        if report.dir != config.dir {
            return Err(StartError::WrongDirectory {
                report_dir: report.dir.clone(),
                config_dir: config.dir.clone(),
            });
        }
        let lock = match lock_dir(&config.dir) {
            Ok(f) => f,
            Err(LockFailure::Busy) => {
                return Err(StartError::Locked {
                    dir: config.dir.clone(),
                })
            }
            Err(LockFailure::Io(source)) => {
                return Err(StartError::Io {
                    path: config.dir.clone(),
                    source,
                })
            }
        };
        let next_lsn = report.next_lsn;
        let (segment, segment_path) = Writer::open_segment(&mut storage, &config.dir, next_lsn)
            .map_err(|source| StartError::Io {
                path: config.dir.join(crate::segment::segment_file_name(next_lsn)),
                source,
            })?;
        let rings = (0..config.producers)
            .map(|_| Ring::new(config.ring_capacity, config.max_payload))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        let shared = Arc::new(Shared {
            rings,
            health: Health::default(),
            durable_lsn: Padded(AtomicU64::new(next_lsn - 1)),
            active_segment: AtomicU64::new(next_lsn),
            stop: AtomicBool::new(false),
            stats: Stats::default(),
            durability: config.durability,
            max_payload: config.max_payload,
        });
        let record_max = crate::record::HEADER_LEN + config.max_payload;
        let (batch, scratch) =
            Writer::<S>::with_capacity_buffers(config.batch_max_bytes, record_max);
        let writer = Writer {
            shared: Arc::clone(&shared),
            storage,
            dir: config.dir.clone(),
            segment,
            segment_path,
            segment_len: 0,
            segment_max: config.segment_max_bytes,
            next_lsn,
            batch,
            batch_max: config.batch_max_bytes,
            record_max,
            scratch,
            drained: vec![0; config.producers as usize],
            idle_sleep: config.idle_sleep,
            rotation: 0,
        };
        let handle = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer.run())
            .map_err(|source| StartError::Io {
                path: config.dir.clone(),
                source,
            })?;
        let producers = (0..config.producers)
            .map(|i| Producer {
                shared: Arc::clone(&shared),
                index: i as usize,
                tail: 0,
                cached_head: 0,
                scratch: vec![0u8; config.max_payload].into_boxed_slice(),
            })
            .collect();
        Ok((
            Journal {
                shared,
                writer: Some(handle),
                dir: config.dir,
                _lock: lock,
            },
            producers,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn state(&self) -> JournalState {
        self.shared.health.state()
    }

    /// Why the journal failed, once it has.
    pub fn failure(&self) -> Option<&JournalFailure> {
        self.shared.health.failure()
    }

    /// Every record up to this LSN is fsynced.
    pub fn durable_lsn(&self) -> u64 {
        self.shared.durable_lsn.0.load(Ordering::Acquire)
    }

    /// Records appended by the producers that the writer has not taken into
    /// a batch yet, summed over the rings (read while they move, so a
    /// snapshot); the batch being written and fsynced is not counted.
    pub fn queued_records(&self) -> u64 {
        self.shared
            .rings
            .iter()
            .map(|r| {
                let (head, tail) = r.readable();
                tail.saturating_sub(head)
            })
            .sum()
    }

    pub fn stats(&self) -> JournalStats {
        let s = &self.shared.stats;
        JournalStats {
            records: s.records.load(Ordering::Relaxed),
            batches: s.batches.load(Ordering::Relaxed),
            syncs: s.syncs.load(Ordering::Relaxed),
            sync_nanos: s.sync_nanos.load(Ordering::Relaxed),
            bytes: s.bytes.load(Ordering::Relaxed),
            durable_lsn: self.durable_lsn(),
        }
    }

    /// Stores `state` as the money state after applying every record up to
    /// and including `lsn` (which must be durable), then deletes snapshots
    /// older than the newest [`SNAPSHOTS_KEPT`] and the segments whose
    /// records the oldest kept snapshot covers.
    pub fn snapshot(&self, lsn: u64, state: &[u8]) -> Result<SnapshotOutcome, SnapshotError> {
        let durable_lsn = self.durable_lsn();
        if lsn > durable_lsn {
            return Err(SnapshotError::AheadOfJournal { lsn, durable_lsn });
        }
        let io = |op| {
            let dir = self.dir.clone();
            move |source| SnapshotError::Io {
                path: dir,
                op,
                source,
            }
        };
        if let Some(&(newest, _)) = list_snapshots(&self.dir).map_err(io("list"))?.last() {
            if newest > lsn {
                return Err(SnapshotError::OlderThanNewest { lsn, newest });
            }
        }
        let path = write_snapshot(&self.dir, lsn, state)?;
        let snapshots = list_snapshots(&self.dir).map_err(io("list"))?;
        let mut snapshots_deleted = Vec::new();
        let keep_from = snapshots.len().saturating_sub(SNAPSHOTS_KEPT);
        for (_, old) in &snapshots[..keep_from] {
            std::fs::remove_file(old).map_err(io("remove old snapshot"))?;
            snapshots_deleted.push(old.clone());
        }
        let mut segments_deleted = Vec::new();
        if snapshots.len() >= SNAPSHOTS_KEPT {
            let covered = snapshots[keep_from].0;
            let active = self.shared.active_segment.load(Ordering::Acquire);
            let segments = list_segments(&self.dir).map_err(io("list"))?;
            // A segment is fully covered when the next one starts at or
            // before covered + 1; the writer only appends to the newest, so
            // a segment with a successor is closed.
            for pair in segments.windows(2) {
                if pair[1].first_lsn <= covered + 1 && pair[0].first_lsn < active {
                    std::fs::remove_file(&pair[0].path).map_err(io("remove covered segment"))?;
                    segments_deleted.push(pair[0].path.clone());
                }
            }
        }
        if !snapshots_deleted.is_empty() || !segments_deleted.is_empty() {
            crate::storage::sync_dir(&self.dir).map_err(io("directory fsync"))?;
        }
        Ok(SnapshotOutcome {
            path,
            segments_deleted,
            snapshots_deleted,
        })
    }

    /// Commits everything appended so far, stops the writer and returns the
    /// final counters, or the failure that stopped it earlier.
    pub fn shutdown(mut self) -> Result<JournalStats, JournalFailure> {
        self.stop_writer();
        match self.failure() {
            Some(f) => Err(f.clone()),
            None => Ok(self.stats()),
        }
    }

    fn stop_writer(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(handle) = self.writer.take() {
            if handle.join().is_err() {
                self.shared.health.fail(JournalFailure {
                    kind: crate::failure::FailureKind::WriteFailed,
                    path: self.dir.clone(),
                    detail: "the journal writer thread panicked".into(),
                    durable_lsn: self.durable_lsn(),
                    tail_kept: Some(
                        "the writer stopped mid-batch; its segment tail was not checked".into(),
                    ),
                });
            }
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop_writer();
    }
}

/// One lcore's append handle: the producer end of its SPSC ring. `Send`
/// but not `Clone`: exactly one thread appends through it.
pub struct Producer {
    shared: Arc<Shared>,
    index: usize,
    tail: u64,
    cached_head: u64,
    scratch: Box<[u8]>,
}

impl Producer {
    /// The lcore number written into this producer's records.
    pub fn lcore(&self) -> u16 {
        self.index as u16
    }

    /// Encodes `record` into a preallocated scratch buffer and appends it.
    /// Never allocates and never blocks.
    pub fn append(&mut self, epoch: u32, record: &MoneyRecord<'_>) -> Result<Seq, AppendError> {
        let len = record.encode(&mut self.scratch)?;
        let kind = record.kind() as u16;
        push(
            &self.shared,
            self.index,
            &mut self.tail,
            &mut self.cached_head,
            kind,
            epoch,
            &self.scratch[..len],
        )
    }

    /// Appends an already-encoded payload of any kind.
    pub fn append_raw(
        &mut self,
        kind: u16,
        epoch: u32,
        payload: &[u8],
    ) -> Result<Seq, AppendError> {
        push(
            &self.shared,
            self.index,
            &mut self.tail,
            &mut self.cached_head,
            kind,
            epoch,
            payload,
        )
    }

    /// True once record `seq` of this producer is fsynced. One atomic load.
    pub fn is_durable(&self, seq: Seq) -> bool {
        self.durable_seq() >= seq
    }

    /// The highest sequence number known durable (0 before the first).
    pub fn durable_seq(&self) -> Seq {
        Seq(self.shared.rings[self.index]
            .durable
            .0
            .load(Ordering::Acquire))
    }

    /// The decision for a response waiting on record `seq`, honouring the
    /// configured durability mode.
    pub fn release(&self, seq: Seq) -> Release {
        if self.is_durable(seq) {
            return Release::Now;
        }
        if !self.shared.health.is_running() {
            // Durability is published before a later failure is; having seen
            // the failure, a re-read of the durable count is final.
            return if self.is_durable(seq) {
                Release::Now
            } else {
                Release::Decline
            };
        }
        match self.shared.durability {
            Durability::Sync => Release::Wait,
            Durability::Async => Release::Now,
        }
    }

    pub fn state(&self) -> JournalState {
        self.shared.health.state()
    }

    /// Why the journal failed, once it has (lock-free).
    pub fn failure(&self) -> Option<&JournalFailure> {
        self.shared.health.failure()
    }
}

fn push(
    shared: &Shared,
    index: usize,
    tail: &mut u64,
    cached_head: &mut u64,
    kind: u16,
    epoch: u32,
    payload: &[u8],
) -> Result<Seq, AppendError> {
    match shared.health.state() {
        JournalState::Running => {}
        JournalState::Failed => return Err(AppendError::Failed),
        JournalState::Stopped => return Err(AppendError::Stopped),
    }
    if shared.stop.load(Ordering::Relaxed) {
        return Err(AppendError::Stopped);
    }
    if payload.len() > shared.max_payload {
        return Err(AppendError::PayloadTooLarge {
            len: payload.len(),
            max: shared.max_payload,
        });
    }
    let ring = &shared.rings[index];
    if !ring.try_push(*tail, cached_head, kind, epoch, payload) {
        return Err(AppendError::Backpressure {
            lcore: index as u16,
            capacity: ring.capacity(),
        });
    }
    *tail += 1;
    Ok(Seq(*tail))
}
