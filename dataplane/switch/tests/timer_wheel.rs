//! Specification of the per-lcore timer wheel: every armed timer fires
//! exactly once, never before its deadline, at most a tick after it (plus
//! the polling interval); cancelled timers never fire; work per poll is
//! bounded.

use proptest::prelude::*;
use switch::pending::PendingSlot;
use switch::timer_wheel::{Expired, TimerWheel, TimerWheelConfig, TimerWheelError};

const TICK: u64 = 100;

fn wheel(slots: u32, buckets: u32, max_expirations: u32) -> TimerWheel {
    TimerWheel::new(
        TimerWheelConfig {
            slots,
            buckets,
            tick_cycles: TICK,
            max_expirations,
            max_visits: 1 << 20,
        },
        0,
    )
    .unwrap()
}

fn fired_at(w: &mut TimerWheel, now: u64) -> Vec<u32> {
    let mut out = Vec::new();
    w.expire(now, |s| out.push(s.0));
    out
}

#[test]
fn a_timer_fires_after_its_deadline_and_only_once() {
    let mut w = wheel(4, 16, 64);
    w.schedule(PendingSlot(2), 1_050).unwrap();
    assert!(
        fired_at(&mut w, 1_049).is_empty(),
        "not before the deadline"
    );
    // Tick 10 (1000..1100) is processed once it is wholly past.
    assert!(fired_at(&mut w, 1_099).is_empty());
    assert_eq!(fired_at(&mut w, 1_100), vec![2]);
    assert!(fired_at(&mut w, 5_000).is_empty(), "fired once only");
    assert!(!w.is_scheduled(PendingSlot(2)));
}

#[test]
fn a_cancelled_timer_never_fires() {
    let mut w = wheel(4, 16, 64);
    w.schedule(PendingSlot(0), 500).unwrap();
    w.schedule(PendingSlot(1), 500).unwrap();
    assert_eq!(w.cancel(PendingSlot(0)), Ok(true));
    assert_eq!(w.cancel(PendingSlot(0)), Ok(false));
    assert_eq!(fired_at(&mut w, 10_000), vec![1]);
}

#[test]
fn rescheduling_moves_the_timer_instead_of_adding_one() {
    let mut w = wheel(4, 16, 64);
    w.schedule(PendingSlot(3), 500).unwrap();
    w.schedule(PendingSlot(3), 2_000).unwrap();
    assert_eq!(w.len(), 1);
    assert!(fired_at(&mut w, 1_000).is_empty());
    assert_eq!(fired_at(&mut w, 2_100), vec![3]);
}

#[test]
fn a_deadline_several_rotations_ahead_waits_for_its_rotation() {
    // 8 buckets of 100 cycles: one rotation is 800 cycles.
    let mut w = wheel(2, 8, 64);
    w.schedule(PendingSlot(0), 3 * 800 + 250).unwrap();
    for now in (0..3 * 800 + 300).step_by(50) {
        assert!(fired_at(&mut w, now).is_empty(), "fired early at {now}");
    }
    assert_eq!(fired_at(&mut w, 3 * 800 + 300), vec![0]);
}

#[test]
fn a_deadline_already_past_fires_on_the_next_tick() {
    let mut w = wheel(2, 8, 64);
    assert!(fired_at(&mut w, 5_000).is_empty());
    w.schedule(PendingSlot(1), 10).unwrap();
    assert!(fired_at(&mut w, 5_050).is_empty());
    assert_eq!(fired_at(&mut w, 5_100), vec![1]);
}

#[test]
fn a_poll_fires_at_most_its_budget_and_the_next_poll_continues() {
    let mut w = wheel(100, 16, 10);
    for s in 0..25 {
        w.schedule(PendingSlot(s), 150).unwrap();
    }
    let mut all = Vec::new();
    let r = w.expire(1_000, |s| all.push(s.0));
    assert_eq!(
        r,
        Expired {
            fired: 10,
            caught_up: false
        }
    );
    assert_eq!(w.expire(1_000, |s| all.push(s.0)).fired, 10);
    assert_eq!(
        w.expire(1_000, |s| all.push(s.0)),
        Expired {
            fired: 5,
            caught_up: true
        }
    );
    all.sort_unstable();
    assert_eq!(all, (0..25).collect::<Vec<_>>());
}

#[test]
fn cancelling_where_a_partial_poll_stopped_loses_no_other_timer() {
    let mut w = wheel(10, 16, 3);
    for s in 0..8 {
        w.schedule(PendingSlot(s), 150).unwrap();
    }
    assert_eq!(fired_at(&mut w, 1_000), vec![0, 1, 2]);
    // The poll stopped at slot 3; cancel it and schedule a late arrival.
    w.cancel(PendingSlot(3)).unwrap();
    w.schedule(PendingSlot(9), 0).unwrap();
    let mut rest = Vec::new();
    while !w.is_empty() {
        w.expire(1_000, |s| rest.push(s.0));
    }
    rest.sort_unstable();
    assert_eq!(rest, vec![4, 5, 6, 7, 9]);
}

#[test]
fn a_long_idle_gap_is_caught_up_in_bounded_polls() {
    let mut w = TimerWheel::new(
        TimerWheelConfig {
            slots: 4,
            buckets: 1024,
            tick_cycles: TICK,
            max_expirations: 64,
            max_visits: 100,
        },
        0,
    )
    .unwrap();
    w.schedule(PendingSlot(0), 50_000).unwrap();
    let mut polls = 0;
    let mut fired = Vec::new();
    loop {
        polls += 1;
        let r = w.expire(60_000, |s| fired.push(s.0));
        if r.caught_up {
            break;
        }
        assert!(polls < 1_000);
    }
    assert_eq!(fired, vec![0]);
    assert!(polls > 1, "600 ticks cannot be walked within 100 visits");
}

#[test]
fn slots_outside_the_wheel_and_bad_configs_are_errors() {
    let mut w = wheel(4, 16, 64);
    assert_eq!(
        w.schedule(PendingSlot(4), 1),
        Err(TimerWheelError::SlotOutOfRange {
            slot: 4,
            capacity: 4
        })
    );
    let cfg = TimerWheelConfig {
        buckets: 1000,
        ..TimerWheelConfig::for_tsc_hz(4, 2_000_000_000)
    };
    assert!(matches!(
        TimerWheel::new(cfg, 0),
        Err(TimerWheelError::Config { .. })
    ));
}

#[derive(Debug, Clone)]
enum Op {
    Schedule { slot: u32, delay: u64 },
    Cancel { slot: u32 },
    Advance { by: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..64, 0u64..5_000).prop_map(|(slot, delay)| Op::Schedule { slot, delay }),
        1 => (0u32..64).prop_map(|slot| Op::Cancel { slot }),
        3 => (0u64..700).prop_map(|by| Op::Advance { by }),
    ]
}

proptest! {
    /// Against a model of armed deadlines: each fire is for an armed,
    /// uncancelled timer, never before its deadline, and no later than one
    /// tick past it as of the previous poll; at the end every armed timer has
    /// fired exactly once.
    #[test]
    fn timers_fire_exactly_once_never_early_and_at_most_a_tick_late(
        ops in prop::collection::vec(op(), 1..300),
        budget in 1u32..8,
    ) {
        // 8 buckets × 100 cycles: delays up to 5000 span six rotations.
        let mut w = wheel(64, 8, budget);
        let mut armed: [Option<u64>; 64] = [None; 64];
        let mut now = 0u64;
        let mut last_caught_up_at = 0u64;
        let check = |w: &mut TimerWheel, armed: &mut [Option<u64>; 64], now: u64, since: u64| -> Result<bool, TestCaseError> {
            let mut fired = Vec::new();
            let r = w.expire(now, |s| fired.push(s.0));
            for s in fired {
                let deadline = armed[s as usize].take();
                prop_assert!(deadline.is_some(), "slot {} fired unarmed", s);
                let d = deadline.unwrap();
                prop_assert!(d <= now, "slot {} fired early: deadline {} now {}", s, d, now);
            }
            // After a full catch-up nothing due more than a tick ago remains.
            if r.caught_up {
                for (s, d) in armed.iter().enumerate() {
                    if let Some(d) = d {
                        prop_assert!(d / TICK >= now / TICK, "slot {} overdue: deadline {} now {} since {}", s, d, now, since);
                    }
                }
            }
            Ok(r.caught_up)
        };
        for op in ops {
            match op {
                Op::Schedule { slot, delay } => {
                    w.schedule(PendingSlot(slot), now + delay).unwrap();
                    armed[slot as usize] = Some(now + delay);
                }
                Op::Cancel { slot } => {
                    let was = w.cancel(PendingSlot(slot)).unwrap();
                    prop_assert_eq!(was, armed[slot as usize].take().is_some());
                }
                Op::Advance { by } => {
                    now += by;
                    if check(&mut w, &mut armed, now, last_caught_up_at)? {
                        last_caught_up_at = now;
                    }
                }
            }
        }
        // Drain: far in the future, poll until caught up.
        now += 100_000;
        for _ in 0..10_000 {
            if check(&mut w, &mut armed, now, last_caught_up_at)? {
                break;
            }
        }
        prop_assert!(armed.iter().all(|d| d.is_none()), "unfired: {:?}", armed);
        prop_assert!(w.is_empty());
    }
}
