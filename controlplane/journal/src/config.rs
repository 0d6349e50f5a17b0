//! Journal settings, checked once at start.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

use crate::record::{HEADER_LEN, MAX_PAYLOAD};

/// When a producer may release a response whose record it appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Only after the record is fsynced (`durability = "sync"`, default).
    #[default]
    Sync,
    /// At once. Loss window on a crash: the records still in the rings plus
    /// the batch being written and not yet fsynced — at most
    /// `ring_capacity` records per producer plus one batch
    /// (`batch_max_bytes`), in time about one `fdatasync` (typically well
    /// under 10 ms). A process crash loses only the ring contents (written
    /// bytes are in the page cache); a power loss loses both.
    Async,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sync" => Ok(Durability::Sync),
            "async" => Ok(Durability::Async),
            other => Err(format!(
                "durability must be \"sync\" or \"async\", not {other:?}"
            )),
        }
    }
}

/// Everything the writer needs to know.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// Directory of segments and snapshots; it must exist.
    pub dir: PathBuf,
    pub durability: Durability,
    /// A segment is closed and a new one begun before it would exceed this.
    pub segment_max_bytes: u64,
    /// Largest payload a producer may append (at most 1 KiB); sizes ring slots.
    pub max_payload: usize,
    /// Records each producer's ring holds; a full ring is back-pressure.
    pub ring_capacity: usize,
    /// Number of producers (one per switch lcore), numbered 0..producers;
    /// the number is written as the record's source lcore.
    pub producers: u16,
    /// Largest batch written with one `fdatasync`.
    pub batch_max_bytes: usize,
    /// How long the writer sleeps when every ring is empty.
    pub idle_sleep: Duration,
}

impl JournalConfig {
    /// Defaults: sync durability, 64 MiB segments, 1 KiB payloads, 8192
    /// records per ring, 4 MiB batches, 20 µs idle sleep.
    pub fn new(dir: impl Into<PathBuf>, producers: u16) -> JournalConfig {
        JournalConfig {
            dir: dir.into(),
            durability: Durability::Sync,
            segment_max_bytes: 64 << 20,
            max_payload: MAX_PAYLOAD,
            ring_capacity: 8192,
            producers,
            batch_max_bytes: 4 << 20,
            idle_sleep: Duration::from_micros(20),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, problem: String| Err(ConfigError { field, problem });
        if self.producers == 0 {
            return bad(
                "producers",
                "must be at least 1 (one per switch lcore)".into(),
            );
        }
        if self.max_payload == 0 || self.max_payload > MAX_PAYLOAD {
            return bad(
                "max_payload",
                format!("{} is outside 1..={MAX_PAYLOAD}", self.max_payload),
            );
        }
        if self.ring_capacity == 0 || self.ring_capacity > 1 << 20 {
            return bad(
                "ring_capacity",
                format!("{} is outside 1..=1048576", self.ring_capacity),
            );
        }
        let record_max = HEADER_LEN + self.max_payload;
        if self.batch_max_bytes < record_max {
            return bad(
                "batch_max_bytes",
                format!(
                    "{} cannot hold one {record_max}-byte record",
                    self.batch_max_bytes
                ),
            );
        }
        if self.segment_max_bytes < record_max as u64 {
            return bad(
                "segment_max_bytes",
                format!(
                    "{} cannot hold one {record_max}-byte record",
                    self.segment_max_bytes
                ),
            );
        }
        Ok(())
    }
}

/// A setting that cannot work.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("journal setting `{field}`: {problem}")]
pub struct ConfigError {
    pub field: &'static str,
    pub problem: String,
}
