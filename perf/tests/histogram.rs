//! Latency histograms: recording, quantiles, merging runs.

use clearway_perf::latency::{ticks_to_ns, LatencyHistogram};

#[test]
fn quantiles_come_out_in_microseconds_within_three_significant_digits() {
    let mut h = LatencyHistogram::new();
    for us in 1..=1000u64 {
        h.record_ns(us * 1000);
    }
    assert_eq!(h.count(), 1000);
    let p50 = h.quantile_us(0.5);
    let p99 = h.quantile_us(0.99);
    assert!((499.0..=501.0).contains(&p50), "{p50}");
    assert!((989.0..=991.0).contains(&p99), "{p99}");
}

#[test]
fn merging_two_runs_equals_recording_both_into_one() {
    let mut fast = LatencyHistogram::new();
    let mut slow = LatencyHistogram::new();
    let mut both = LatencyHistogram::new();
    for i in 0..10_000u64 {
        fast.record_ns(2_000 + i % 500);
        both.record_ns(2_000 + i % 500);
    }
    for i in 0..100u64 {
        slow.record_ns(1_000_000 + i * 10);
        both.record_ns(1_000_000 + i * 10);
    }
    let mut merged = fast.clone();
    merged.merge(&slow).unwrap();
    assert_eq!(merged.count(), 10_100);
    for q in [0.5, 0.9, 0.99, 0.995, 0.999, 1.0] {
        assert_eq!(merged.quantile_us(q), both.quantile_us(q), "q={q}");
    }
    // The slow run shows only in the tail.
    assert!(merged.quantile_us(0.5) < 3.0);
    assert!(merged.quantile_us(0.999) > 900.0);
}

#[test]
fn out_of_range_samples_saturate_and_an_empty_histogram_reads_zero() {
    let mut h = LatencyHistogram::new();
    assert_eq!(h.quantile_us(0.99), 0.0);
    h.record_ns(0);
    h.record_ns(u64::MAX);
    assert_eq!(h.count(), 2);
    assert!(h.max_us() >= 59_000_000.0);
    h.reset();
    assert_eq!(h.count(), 0);
}

#[test]
fn the_cdf_ends_at_one_and_never_decreases() {
    let mut h = LatencyHistogram::new();
    for i in 0..1000u64 {
        h.record_ticks(2_000 + i * 37, 2_000_000_000);
    }
    let cdf = h.cdf();
    assert!(cdf.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    assert_eq!(cdf.last().unwrap().1, 1.0);
    assert_eq!(ticks_to_ns(3_000, 3_000_000_000), 1_000);
}
