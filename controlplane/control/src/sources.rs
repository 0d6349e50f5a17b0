//! What the control plane reads from and writes to the rest of the daemon,
//! as traits, so the API and metrics run the same against clearwayd and
//! against the in-memory fakes of [`crate::testkit`].
//!
//! Every method is called on the API thread, never on an lcore, and may
//! take a lock or read atomics; none may block for long (a scrape calls
//! several of them).

use crate::types::{
    Account, CutoffOutcome, LcoreStatus, LimitChange, PortStatus, ReserveChange, SettlementFiles,
    WindowDetail, WindowSummary,
};
use serde::{Deserialize, Serialize};
use switch::counters::CounterSnapshot;
use thiserror::Error;

/// The daemon's live state: ports, lcores, switch counters.
pub trait StatusSource: Send + Sync {
    /// Switch counters summed over lcores (`LcoreCounters::sum`).
    fn counters(&self) -> CounterSnapshot;
    /// Every port with its basic stats and xstats.
    fn ports(&self) -> Vec<PortStatus>;
    /// Every worker lcore's poll counts.
    fn lcores(&self) -> Vec<LcoreStatus>;
    /// Time since the daemon started; `None` = since the API started.
    fn uptime(&self) -> Option<std::time::Duration> {
        None
    }
    /// Request-to-response latency, if the daemon measures it.
    fn latency(&self) -> Option<LatencyHistogram> {
        None
    }
}

/// A cumulative latency histogram (Prometheus semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    /// (upper bound in seconds, observations ≤ bound), ascending bounds,
    /// cumulative counts; the `+Inf` bucket is `count`.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    /// The switch lcores' transaction latency buckets (summed counters) in
    /// Prometheus form.
    pub fn from_counters(c: &CounterSnapshot) -> LatencyHistogram {
        let mut cumulative = 0;
        let buckets = switch::counters::LATENCY_BOUNDS_US
            .iter()
            .zip(c.latency_buckets())
            .map(|(bound_us, n)| {
                cumulative += n;
                (*bound_us as f64 / 1e6, cumulative)
            })
            .collect();
        LatencyHistogram {
            buckets,
            count: c.latency_count(),
            sum_seconds: c.latency_sum_us as f64 / 1e6,
        }
    }
}

/// The journal's figures (mirrors `journal::JournalStats` plus lag).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalFigures {
    /// Records appended but not yet durable.
    pub lag_records: u64,
    pub records: u64,
    pub bytes: u64,
    pub syncs: u64,
    /// Total time inside `fdatasync`.
    pub sync_seconds: f64,
    /// Whether the journal has failed (disk full, fsync error).
    pub failed: bool,
    /// Why, with what to do (set when `failed`).
    pub failure: Option<String>,
}

pub trait JournalSource: Send + Sync {
    fn figures(&self) -> JournalFigures;
}

/// Why a money-state operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("{what} not found; list them with `clearctl {list}`")]
    NotFound { what: String, list: &'static str },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
}

/// Reserve accounts, clearing windows and settlement (the ledger). The lead
/// implements it over `ledger`; each change must be journaled before it
/// returns `Ok`.
pub trait MoneyState: Send + Sync {
    fn accounts(&self) -> Result<Vec<Account>, MoneyError>;
    /// All accounts of `participant` (one per currency).
    fn account(&self, participant: &str) -> Result<Vec<Account>, MoneyError>;
    fn deposit(&self, participant: &str, change: &ReserveChange) -> Result<Account, MoneyError>;
    fn withdraw(&self, participant: &str, change: &ReserveChange) -> Result<Account, MoneyError>;
    fn set_limit(&self, participant: &str, change: &LimitChange) -> Result<Account, MoneyError>;
    /// Windows, newest first.
    fn windows(&self) -> Result<Vec<WindowSummary>, MoneyError>;
    fn window(&self, number: u64) -> Result<WindowDetail, MoneyError>;
    /// The open window.
    fn current_window(&self) -> Option<WindowSummary>;
    /// Closes the open window now, nets and settles it.
    fn cutoff(&self) -> Result<CutoffOutcome, MoneyError>;
    /// The settlement files of a closed window (byte-identical on re-runs).
    fn settlement_files(&self, window: u64) -> Result<SettlementFiles, MoneyError>;
    /// Duration of the last cutoff (flip to settled), for metrics.
    fn last_cutoff_seconds(&self) -> Option<f64>;
}

/// A configuration change, journaled before it is published.
///
/// [`Change::encode`] gives the record payload (compact JSON, at most
/// [`MAX_CHANGE_LEN`] bytes: one journal record). A route import is too big
/// for a record; it is journaled as its row count and CRC32C, and the table
/// itself is written to the control plane's state file before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change<'a> {
    ParticipantAdded {
        spec: &'a crate::types::ParticipantSpec,
    },
    ParticipantUpdated {
        spec: &'a crate::types::ParticipantSpec,
        revision: u64,
    },
    ParticipantSuspended {
        id: &'a str,
    },
    ParticipantResumed {
        id: &'a str,
    },
    RouteAdded {
        prefix: &'a str,
        participant: &'a str,
    },
    RouteDeleted {
        prefix: &'a str,
    },
    RoutesReplaced {
        rows: u64,
        crc32c: u32,
    },
    /// `participants rotate-key`: the key file and its id (never the key),
    /// when (Unix ms) and for how long the previous key keeps verifying.
    ParticipantKeyRotated {
        id: &'a str,
        mac: &'a crate::types::MacSpec,
        key_id: &'a str,
        overlap_ms: u64,
        at_ms: u64,
    },
}

/// Largest encoded change (the journal's record payload limit).
pub const MAX_CHANGE_LEN: usize = 1024;

impl Change<'_> {
    /// The journal payload: compact JSON.
    pub fn encode(&self) -> Result<Vec<u8>, ChangeLogError> {
        let bytes = serde_json::to_vec(self).map_err(|e| ChangeLogError::Encode(e.to_string()))?;
        if bytes.len() > MAX_CHANGE_LEN {
            return Err(ChangeLogError::TooLarge { len: bytes.len() });
        }
        Ok(bytes)
    }
}

/// A journaled [`Change`] read back (recovery), for
/// [`crate::ControlPlane::replay`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ChangeRecord {
    ParticipantAdded {
        spec: crate::types::ParticipantSpec,
    },
    ParticipantUpdated {
        spec: crate::types::ParticipantSpec,
        revision: u64,
    },
    ParticipantSuspended {
        id: String,
    },
    ParticipantResumed {
        id: String,
    },
    RouteAdded {
        prefix: String,
        participant: String,
    },
    RouteDeleted {
        prefix: String,
    },
    RoutesReplaced {
        rows: u64,
        crc32c: u32,
    },
    ParticipantKeyRotated {
        id: String,
        mac: crate::types::MacSpec,
        key_id: String,
        overlap_ms: u64,
        at_ms: u64,
    },
}

impl ChangeRecord {
    /// Parses a `ParticipantChange` record's payload.
    pub fn decode(payload: &[u8]) -> Result<Self, ChangeLogError> {
        serde_json::from_slice(payload).map_err(|e| ChangeLogError::Decode(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChangeLogError {
    #[error("journaled change cannot be read back: {0}; the journal was written by another version or is damaged")]
    Decode(String),
    #[error("change is {len} bytes encoded, over the journal's {MAX_CHANGE_LEN}-byte record; use fewer sources or institution ids per participant")]
    TooLarge { len: usize },
    #[error("cannot encode the change: {0}")]
    Encode(String),
    #[error("journal refused the change: {0}; check the journal disk, nothing was applied")]
    Journal(String),
}

/// Where configuration changes are journaled (the daemon appends
/// `MoneyRecord::ParticipantChange(change.encode()?)` and waits for it to be
/// durable). A change is published only after `record` returned `Ok`.
pub trait ChangeLog: Send + Sync {
    fn record(&self, change: &Change<'_>) -> Result<(), ChangeLogError>;
}
