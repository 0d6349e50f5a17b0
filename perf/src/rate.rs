//! Pacing: how many requests the generator may send now.
//!
//! Open loop is a token bucket on the TSC: credit grows by `rate` tokens a
//! second, at most `depth` tokens are kept (so an idle spell does not turn
//! into a burst), and each request spends one. Closed loop keeps a fixed
//! number of transactions outstanding. Both read time through [`Clock`], so
//! tests drive them with [`MockClock`] and never depend on real time.

use std::cell::Cell;

/// A source of ticks: the TSC in the generator, a counter in tests.
pub trait Clock {
    fn now(&self) -> u64;
    /// Ticks per second.
    fn hz(&self) -> u64;
}

/// The CPU time-stamp counter at the rate the EAL measured.
#[derive(Debug, Clone, Copy)]
pub struct TscClock {
    pub hz: u64,
}

impl Clock for TscClock {
    #[inline(always)]
    fn now(&self) -> u64 {
        rte::tsc::now()
    }
    fn hz(&self) -> u64 {
        self.hz
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct MockClock {
    now: Cell<u64>,
    hz: u64,
}

impl MockClock {
    pub fn new(hz: u64) -> MockClock {
        MockClock {
            now: Cell::new(0),
            hz,
        }
    }
    pub fn advance(&self, ticks: u64) {
        self.now.set(self.now.get() + ticks);
    }
}

impl Clock for MockClock {
    fn now(&self) -> u64 {
        self.now.get()
    }
    fn hz(&self) -> u64 {
        self.hz
    }
}

/// A pacing setting that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RateError {
    #[error(
        "rate must be at least 1 transaction per second (got 0): use --rate N or --outstanding N"
    )]
    ZeroRate,
    #[error("bucket depth must be at least 1 token (got 0)")]
    ZeroDepth,
    #[error("outstanding transactions must be at least 1 (got 0)")]
    ZeroOutstanding,
}

/// Open-loop token bucket. Credit is kept in units of 1/hz token so the
/// arithmetic is exact integers: one token costs `hz` units and `elapsed`
/// ticks add `elapsed * rate` units.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: u64,
    hz: u64,
    cap_units: u128,
    units: u128,
    last: u64,
}

impl TokenBucket {
    /// A full bucket of `depth` tokens filling at `rate` per second, as of `now`.
    pub fn new(rate: u64, depth: u64, hz: u64, now: u64) -> Result<TokenBucket, RateError> {
        if rate == 0 {
            return Err(RateError::ZeroRate);
        }
        if depth == 0 {
            return Err(RateError::ZeroDepth);
        }
        let cap_units = depth as u128 * hz as u128;
        Ok(TokenBucket {
            rate,
            hz,
            cap_units,
            units: cap_units,
            last: now,
        })
    }

    /// Tokens per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Takes up to `want` tokens at time `now`; returns how many it got.
    #[inline]
    pub fn take(&mut self, now: u64, want: u64) -> u64 {
        let elapsed = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        self.units = (self.units + elapsed as u128 * self.rate as u128).min(self.cap_units);
        let have = (self.units / self.hz as u128) as u64;
        let got = have.min(want);
        self.units -= got as u128 * self.hz as u128;
        got
    }
}

/// Open or closed loop.
#[derive(Debug, Clone)]
pub enum Pacer {
    Open(TokenBucket),
    Closed { outstanding: u64 },
}

impl Pacer {
    pub fn closed(outstanding: u64) -> Result<Pacer, RateError> {
        if outstanding == 0 {
            return Err(RateError::ZeroOutstanding);
        }
        Ok(Pacer::Closed { outstanding })
    }

    /// Requests that may go out now, given `open` transactions awaiting an
    /// answer and room for at most `room` more in this burst.
    #[inline]
    pub fn allowance(&mut self, now: u64, open: u64, room: u64) -> u64 {
        match self {
            Pacer::Open(bucket) => bucket.take(now, room),
            Pacer::Closed { outstanding } => outstanding.saturating_sub(open).min(room),
        }
    }
}
