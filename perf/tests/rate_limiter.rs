//! The open-loop token bucket and the closed-loop pacer, on a mock clock.

use clearway_perf::rate::{Clock, MockClock, Pacer, RateError, TokenBucket};

const HZ: u64 = 2_000_000_000;

/// Polls the bucket like the generator does (32 at a time) every `step`
/// ticks for `seconds` simulated seconds; returns tokens granted.
fn granted(rate: u64, step: u64, seconds: u64) -> u64 {
    let clock = MockClock::new(HZ);
    let mut bucket = TokenBucket::new(rate, 32, HZ, clock.now()).unwrap();
    // Start empty so the initial full bucket does not count.
    bucket.take(clock.now(), u64::MAX);
    let mut total = 0;
    while clock.now() < seconds * HZ {
        clock.advance(step);
        total += bucket.take(clock.now(), 32);
    }
    total
}

#[test]
fn one_second_at_a_million_per_second_grants_a_million_tokens() {
    // Polls every 1000 ticks (0.5 us): 0.5 tokens per poll.
    assert_eq!(granted(1_000_000, 1000, 1), 1_000_000);
}

#[test]
fn uneven_polling_intervals_lose_nothing_to_rounding() {
    // 3 tokens per second polled every 7919 ticks: fractions carry over.
    let clock = MockClock::new(HZ);
    let mut bucket = TokenBucket::new(3_333_333, 1_000, HZ, 0).unwrap();
    bucket.take(0, u64::MAX);
    let mut total = 0;
    while clock.now() < 3 * HZ {
        clock.advance(7919);
        total += bucket.take(clock.now(), 32);
    }
    // Up to one poll's worth of ticks past 3 s is also credited.
    let expected = 3_333_333u64 * 3;
    assert!(total >= expected && total <= expected + 14, "{total}");
}

#[test]
fn a_slow_poller_is_held_to_the_rate_by_the_burst_cap() {
    // Asking only 32 per poll every 100 us at 1 M/s (100 due per poll): the
    // bucket keeps at most its depth (32), so the rest is not banked.
    let total = granted(1_000_000, HZ / 10_000, 1);
    assert_eq!(total, 10_000 * 32);
}

#[test]
fn an_idle_spell_does_not_turn_into_a_burst() {
    let clock = MockClock::new(HZ);
    let mut bucket = TokenBucket::new(1_000_000, 64, HZ, 0).unwrap();
    bucket.take(0, u64::MAX);
    clock.advance(HZ); // a second idle: a million tokens due, 64 kept
    assert_eq!(bucket.take(clock.now(), u64::MAX), 64);
    assert_eq!(bucket.take(clock.now(), u64::MAX), 0);
}

#[test]
fn a_clock_that_steps_back_grants_nothing_and_breaks_nothing() {
    let mut bucket = TokenBucket::new(1_000, 8, HZ, 5 * HZ).unwrap();
    bucket.take(5 * HZ, u64::MAX);
    assert_eq!(bucket.take(4 * HZ, 10), 0);
    assert_eq!(bucket.take(5 * HZ + HZ / 100, 100), 8, "10 due, depth 8");
}

#[test]
fn closed_loop_tops_up_to_the_outstanding_limit() {
    let mut pacer = Pacer::closed(100).unwrap();
    assert_eq!(pacer.allowance(0, 0, 32), 32, "limited by the burst room");
    assert_eq!(pacer.allowance(0, 90, 32), 10);
    assert_eq!(pacer.allowance(0, 100, 32), 0);
    assert_eq!(
        pacer.allowance(0, 150, 32),
        0,
        "over the limit never underflows"
    );
}

#[test]
fn impossible_settings_are_refused() {
    assert_eq!(
        TokenBucket::new(0, 1, HZ, 0).unwrap_err(),
        RateError::ZeroRate
    );
    assert_eq!(
        TokenBucket::new(1, 0, HZ, 0).unwrap_err(),
        RateError::ZeroDepth
    );
    assert_eq!(Pacer::closed(0).unwrap_err(), RateError::ZeroOutstanding);
}
