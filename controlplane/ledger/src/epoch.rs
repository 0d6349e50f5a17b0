//! Clearing windows on the lcores: the epoch they stamp requests with, the
//! control plane's flip at a cutoff, and the cutoff schedule.
//!
//! A cutoff is one atomic store of the next epoch: no lcore waits. Each lcore
//! reads the epoch once per burst ([`EpochBoard::observe`]), stamps the
//! requests of that burst with it (and keeps the stamp with the pending
//! request, so the outcome record carries the request's window), and
//! publishes that it has seen it. Window `e` can be netted once every lcore
//! has observed `e + 1` and the longest issuer timeout has passed since, so
//! no request stamped `e` is still waiting for its answer.

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use thiserror::Error;

use crate::ledger::FIRST_EPOCH;
use crate::types::Epoch;

#[repr(align(64))]
#[derive(Debug, Default)]
struct Padded<T>(T);

/// The current epoch and what each lcore has seen of it.
#[derive(Debug)]
pub struct EpochBoard {
    current: Padded<AtomicU32>,
    seen: Box<[Padded<AtomicU32>]>,
}

impl EpochBoard {
    /// A board for `lcores` lcores whose open window is `open` (the
    /// recovered ledger's open epoch, [`FIRST_EPOCH`] on a new switch).
    pub fn new(lcores: usize, open: Epoch) -> EpochBoard {
        let open = open.max(FIRST_EPOCH);
        EpochBoard {
            current: Padded(AtomicU32::new(open)),
            seen: (0..lcores)
                .map(|_| Padded(AtomicU32::new(open.saturating_sub(1))))
                .collect(),
        }
    }

    /// The open window.
    pub fn current(&self) -> Epoch {
        self.current.0.load(Ordering::Acquire)
    }

    /// On the lcore, once per burst: the epoch to stamp this burst's
    /// requests with. One load and one store to the lcore's own line.
    #[inline]
    pub fn observe(&self, lcore: usize) -> Epoch {
        let epoch = self.current.0.load(Ordering::Acquire);
        self.seen[lcore].0.store(epoch, Ordering::Release);
        epoch
    }

    /// The control plane's cutoff: opens the next window and returns
    /// `(closed, opened)`. Only the control plane flips.
    pub fn flip(&self) -> (Epoch, Epoch) {
        let closed = self.current.0.fetch_add(1, Ordering::AcqRel);
        (closed, closed + 1)
    }

    /// True once every lcore has observed an epoch after `epoch`: no lcore
    /// will stamp a new request with it.
    pub fn all_passed(&self, epoch: Epoch) -> bool {
        self.seen
            .iter()
            .all(|s| s.0.load(Ordering::Acquire) > epoch)
    }
}

/// A wall clock the control plane ticks and the lcores read with one load
/// (hold expiry times), instead of a system call per message.
#[derive(Debug, Default)]
pub struct CoarseClock(AtomicU64);

impl CoarseClock {
    pub fn new(now_unix_ms: u64) -> CoarseClock {
        CoarseClock(AtomicU64::new(now_unix_ms))
    }
    pub fn set(&self, now_unix_ms: u64) {
        self.0.store(now_unix_ms, Ordering::Release);
    }
    pub fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

const MINUTE_MS: u64 = 60_000;
const DAY_MINUTES: u16 = 24 * 60;

/// When cutoffs happen (besides the operator's command, always possible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutoffSchedule {
    /// Only on command.
    OnCommand,
    /// Every `minutes`, aligned to UTC midnight (every 30: hh:00 and hh:30).
    Every { minutes: u16 },
    /// At these minutes of the UTC day, sorted, like a clearing house's
    /// T+0 batches.
    TimesOfDay { minutes: Vec<u16> },
}

/// Why a schedule text is not valid.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("cutoff schedule {text:?}: expected \"command\", \"every <minutes>m\" (1..=1440) or \"at HH:MM,HH:MM,...\" (UTC)")]
    Syntax { text: String },
    #[error("cutoff schedule: {value:?} is not a time of day HH:MM between 00:00 and 23:59")]
    BadTime { value: String },
}

impl FromStr for CutoffSchedule {
    type Err = ScheduleError;
    fn from_str(text: &str) -> Result<Self, ScheduleError> {
        let syntax = || ScheduleError::Syntax {
            text: text.to_string(),
        };
        let t = text.trim();
        if t == "command" {
            return Ok(CutoffSchedule::OnCommand);
        }
        if let Some(rest) = t.strip_prefix("every ") {
            let minutes: u16 = rest
                .trim()
                .strip_suffix('m')
                .and_then(|m| m.parse().ok())
                .ok_or_else(syntax)?;
            if minutes == 0 || minutes > DAY_MINUTES {
                return Err(syntax());
            }
            return Ok(CutoffSchedule::Every { minutes });
        }
        if let Some(rest) = t.strip_prefix("at ") {
            let mut minutes = Vec::new();
            for part in rest.split(',') {
                let part = part.trim();
                let bad = || ScheduleError::BadTime {
                    value: part.to_string(),
                };
                let (h, m) = part.split_once(':').ok_or_else(bad)?;
                let (h, m): (u16, u16) =
                    (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
                if h > 23 || m > 59 || part.len() != 5 {
                    return Err(bad());
                }
                minutes.push(h * 60 + m);
            }
            minutes.sort_unstable();
            minutes.dedup();
            return Ok(CutoffSchedule::TimesOfDay { minutes });
        }
        Err(syntax())
    }
}

impl CutoffSchedule {
    /// The first scheduled cutoff strictly after `now_ms` (Unix ms, UTC).
    pub fn next_after(&self, now_ms: u64) -> Option<u64> {
        match self {
            CutoffSchedule::OnCommand => None,
            CutoffSchedule::Every { minutes } => {
                let step = u64::from(*minutes) * MINUTE_MS;
                let day = now_ms - now_ms % (u64::from(DAY_MINUTES) * MINUTE_MS);
                let into_day = now_ms - day;
                let next = (into_day / step + 1) * step;
                // The last slot of a day that does not divide evenly ends
                // at midnight.
                Some(day + next.min(u64::from(DAY_MINUTES) * MINUTE_MS))
            }
            CutoffSchedule::TimesOfDay { minutes } => {
                let day_ms = u64::from(DAY_MINUTES) * MINUTE_MS;
                let day = now_ms - now_ms % day_ms;
                minutes
                    .iter()
                    .map(|m| day + u64::from(*m) * MINUTE_MS)
                    .find(|t| *t > now_ms)
                    .or_else(|| {
                        minutes
                            .first()
                            .map(|m| day + day_ms + u64::from(*m) * MINUTE_MS)
                    })
            }
        }
    }
}
