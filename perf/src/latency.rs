//! End-to-end latency in an HDR histogram (nanoseconds, 3 significant digits).
//!
//! One histogram per trial and one per second; trials and repeats merge
//! into the report's figures. Recording is a few array operations and never
//! allocates (the bucket array is sized once, for 1 ns to 60 s).

use hdrhistogram::Histogram;

/// Largest latency tracked: anything slower is recorded as 60 s.
const MAX_NS: u64 = 60_000_000_000;

/// Latency distribution of answered transactions.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
}

/// Two histograms could not be merged.
#[derive(Debug, thiserror::Error)]
#[error("cannot merge latency histograms: {0}")]
pub struct MergeError(String);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> LatencyHistogram {
        // Bounds are constants that hdrhistogram accepts (low >= 1,
        // high >= 2 * low, sigfig <= 5), so this cannot fail.
        let h = Histogram::new_with_bounds(1, MAX_NS, 3).expect("constant histogram bounds");
        LatencyHistogram { h }
    }

    /// Records one latency; 0 counts as 1 ns, above 60 s as 60 s.
    #[inline]
    pub fn record_ns(&mut self, ns: u64) {
        self.h.saturating_record(ns.clamp(1, MAX_NS));
    }

    /// Records a latency measured in TSC ticks at `hz`.
    #[inline]
    pub fn record_ticks(&mut self, ticks: u64, hz: u64) {
        self.record_ns(ticks_to_ns(ticks, hz));
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) -> Result<(), MergeError> {
        self.h
            .add(&other.h)
            .map_err(|e| MergeError(format!("{e:?}")))
    }

    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// The latency at quantile `q` (0..=1) in microseconds; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.h.is_empty() {
            return 0.0;
        }
        self.h.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_us(&self) -> f64 {
        self.h.max() as f64 / 1000.0
    }

    pub fn mean_us(&self) -> f64 {
        self.h.mean() / 1000.0
    }

    /// Points of the cumulative distribution, (latency µs, fraction at or
    /// below it), one per distinct recorded bucket, for the CDF chart.
    pub fn cdf(&self) -> Vec<(f64, f64)> {
        let total = self.h.len().max(1) as f64;
        let mut seen = 0u64;
        self.h
            .iter_recorded()
            .map(|v| {
                seen += v.count_at_value();
                (v.value_iterated_to() as f64 / 1000.0, seen as f64 / total)
            })
            .collect()
    }

    /// Empties the histogram, keeping its buckets (no allocation).
    pub fn reset(&mut self) {
        self.h.reset();
    }
}

/// TSC ticks at `hz` to nanoseconds.
#[inline]
pub fn ticks_to_ns(ticks: u64, hz: u64) -> u64 {
    (ticks as u128 * 1_000_000_000 / hz.max(1) as u128) as u64
}

/// Microseconds to TSC ticks at `hz`.
pub fn us_to_ticks(us: u64, hz: u64) -> u64 {
    (us as u128 * hz as u128 / 1_000_000) as u64
}
