//! Specification of the duplicate filter: a repeated request is recognised
//! within a window of the last N requests and answered as the first was.

use switch::dedup::{DedupConfigError, DedupKey, DuplicateFilter, Outcome, Seen, WindowPos};
use switch::hash::Seed;
use switch::ParticipantIdx;

fn key(originator: u32, n: u64) -> DedupKey {
    let digits = format!("{n:012}");
    let d = digits.as_bytes();
    DedupKey {
        originator: ParticipantIdx(originator),
        stan: d[6..12].try_into().unwrap(),
        transmitted_at: *b"1127184500",
        rrn: d.try_into().unwrap(),
    }
}

fn filter(capacity: u32) -> DuplicateFilter {
    DuplicateFilter::with_seed(capacity, Seed::fixed(3)).unwrap()
}

const APPROVED: Outcome = Outcome::Answered {
    response_code: *b"00",
    auth_code: Some(*b"A1B2C3"),
};

#[test]
fn a_first_request_is_new_and_its_repeat_is_a_duplicate() {
    let mut f = filter(8);
    assert!(matches!(f.check_and_insert(&key(1, 7)), Seen::New(_)));
    assert_eq!(
        f.check_and_insert(&key(1, 7)),
        Seen::Duplicate(Outcome::Pending)
    );
    assert_eq!(f.len(), 1, "a duplicate takes no room");
}

#[test]
fn a_repeat_after_the_answer_gets_the_same_answer() {
    let mut f = filter(8);
    f.check_and_insert(&key(1, 7));
    assert!(f.record_outcome(&key(1, 7), APPROVED));
    assert_eq!(f.check_and_insert(&key(1, 7)), Seen::Duplicate(APPROVED));
}

fn new_at(f: &mut DuplicateFilter, k: &DedupKey) -> WindowPos {
    match f.check_and_insert(k) {
        Seen::New(pos) => pos,
        seen => panic!("{k:?} expected new, was {seen:?}"),
    }
}

#[test]
fn an_outcome_recorded_at_the_key_position_is_found_by_the_key() {
    let mut f = filter(8);
    let pos = new_at(&mut f, &key(1, 7));
    new_at(&mut f, &key(1, 8));
    assert!(f.record_outcome_at(pos, &key(1, 7), APPROVED));
    assert_eq!(f.outcome(&key(1, 7)), Some(APPROVED));
    assert_eq!(f.outcome(&key(1, 8)), Some(Outcome::Pending));
}

/// A stale position (the key was evicted, or evicted and seen again at
/// another position) never writes over the key now there.
#[test]
fn an_outcome_at_a_stale_position_goes_to_the_key_or_nowhere() {
    let mut f = filter(2);
    let old = new_at(&mut f, &key(1, 1));
    new_at(&mut f, &key(1, 2));
    new_at(&mut f, &key(1, 3)); // evicts 1, takes its position
    assert!(!f.record_outcome_at(old, &key(1, 1), APPROVED));
    assert_eq!(f.outcome(&key(1, 3)), Some(Outcome::Pending));
    new_at(&mut f, &key(1, 1)); // back, at another position
    assert!(f.record_outcome_at(old, &key(1, 1), APPROVED));
    assert_eq!(f.outcome(&key(1, 1)), Some(APPROVED));
    assert_eq!(f.outcome(&key(1, 3)), Some(Outcome::Pending));
    assert_eq!(f.outcome(&key(1, 2)), None, "evicted by the return of 1");
}

#[test]
fn the_same_fields_from_another_acquirer_are_not_a_duplicate() {
    let mut f = filter(8);
    f.check_and_insert(&key(1, 7));
    assert!(matches!(f.check_and_insert(&key(2, 7)), Seen::New(_)));
    let mut other_rrn = key(1, 7);
    other_rrn.rrn[0] = b'9';
    assert!(matches!(f.check_and_insert(&other_rrn), Seen::New(_)));
}

#[test]
fn the_oldest_request_leaves_the_window_first() {
    let mut f = filter(3);
    for n in 0..3 {
        f.check_and_insert(&key(1, n));
    }
    f.record_outcome(&key(1, 2), APPROVED);
    // A fourth request evicts request 0, and only request 0.
    assert!(matches!(f.check_and_insert(&key(1, 3)), Seen::New(_)));
    assert_eq!(f.len(), 3);
    assert_eq!(f.outcome(&key(1, 0)), None);
    assert_eq!(f.outcome(&key(1, 1)), Some(Outcome::Pending));
    assert_eq!(f.outcome(&key(1, 2)), Some(APPROVED));
    assert!(!f.record_outcome(&key(1, 0), APPROVED), "evicted");
    // Request 0 repeated now is new again (it left the window).
    assert!(matches!(f.check_and_insert(&key(1, 0)), Seen::New(_)));
    assert_eq!(f.outcome(&key(1, 1)), None);
}

#[test]
fn a_long_stream_never_grows_the_filter_and_keeps_exactly_the_last_n() {
    const N: u32 = 1_000;
    let mut f = filter(N);
    let bytes = f.memory_bytes();
    for n in 0..50_000u64 {
        assert!(matches!(f.check_and_insert(&key(1, n)), Seen::New(_)));
    }
    assert_eq!(f.len(), N as usize);
    assert_eq!(f.memory_bytes(), bytes);
    for n in 49_000..50_000 {
        assert_eq!(f.outcome(&key(1, n)), Some(Outcome::Pending));
    }
    for n in 0..49_000 {
        assert_eq!(f.outcome(&key(1, n)), None);
    }
    assert!(f.probe_stats().max_displacement < 32);
}

#[test]
fn a_zero_window_is_a_configuration_error() {
    assert_eq!(
        DuplicateFilter::new(0).unwrap_err(),
        DedupConfigError::Capacity(0)
    );
}

mod against_a_model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    proptest! {
        /// The filter answers like a FIFO list of the last N distinct keys
        /// with their recorded outcomes.
        #[test]
        fn the_filter_behaves_like_a_fifo_window(
            ops in prop::collection::vec((0u64..40, any::<bool>()), 1..500),
        ) {
            const N: usize = 8;
            let mut f = filter(N as u32);
            let mut window: VecDeque<(u64, Outcome)> = VecDeque::new();
            for (n, answer) in ops {
                let k = key(1, n);
                let expected = window.iter().find(|(m, _)| *m == n).map(|(_, o)| *o);
                match f.check_and_insert(&k) {
                    Seen::New(_) => {
                        prop_assert_eq!(expected, None);
                        if window.len() == N {
                            window.pop_front();
                        }
                        window.push_back((n, Outcome::Pending));
                    }
                    Seen::Duplicate(o) => prop_assert_eq!(Some(o), expected),
                }
                if answer {
                    let code = [b'0' + (n % 10) as u8, b'5'];
                    let outcome = Outcome::Answered { response_code: code, auth_code: None };
                    let in_window = window.iter_mut().find(|(m, _)| *m == n);
                    let recorded = f.record_outcome(&k, outcome);
                    prop_assert_eq!(recorded, in_window.is_some());
                    if let Some(entry) = in_window {
                        entry.1 = outcome;
                    }
                }
                prop_assert_eq!(f.len(), window.len());
            }
        }
    }
}

fn declined(rc: &[u8; 2]) -> Outcome {
    Outcome::Answered {
        response_code: *rc,
        auth_code: None,
    }
}

#[test]
fn a_seeded_request_is_answered_as_before_the_restart() {
    let mut f = filter(8);
    let taken = f.seed(&[(key(1, 1), APPROVED), (key(1, 2), declined(b"51"))]);
    assert_eq!(taken, 2);
    assert_eq!(f.check_and_insert(&key(1, 1)), Seen::Duplicate(APPROVED));
    assert_eq!(
        f.check_and_insert(&key(1, 2)),
        Seen::Duplicate(declined(b"51"))
    );
    assert!(
        matches!(f.check_and_insert(&key(1, 3)), Seen::New(_)),
        "not seeded"
    );
}

#[test]
fn seeding_more_than_the_window_keeps_the_newest() {
    let mut f = filter(4);
    let answered: Vec<_> = (1..=10).map(|n| (key(1, n), APPROVED)).collect();
    assert_eq!(f.seed(&answered), 4);
    assert_eq!(f.len(), 4);
    for n in 1..=6 {
        assert_eq!(f.outcome(&key(1, n)), None, "older request {n} was kept");
    }
    for n in 7..=10 {
        assert_eq!(f.outcome(&key(1, n)), Some(APPROVED), "newest request {n}");
    }
    // The seeded keys are the oldest in the window: the next arrival
    // evicts the oldest of them.
    assert!(matches!(f.check_and_insert(&key(1, 11)), Seen::New(_)));
    assert_eq!(f.outcome(&key(1, 7)), None);
    assert_eq!(f.outcome(&key(1, 8)), Some(APPROVED));
}

#[test]
fn a_key_seeded_twice_takes_the_later_answer_and_one_place() {
    let mut f = filter(8);
    let taken = f.seed(&[
        (key(1, 1), declined(b"96")),
        (key(2, 1), APPROVED),
        (key(1, 1), APPROVED),
    ]);
    assert_eq!(taken, 3);
    assert_eq!(f.len(), 2);
    assert_eq!(f.outcome(&key(1, 1)), Some(APPROVED));
    assert_eq!(f.outcome(&key(2, 1)), Some(APPROVED));
}

#[test]
fn seeding_nothing_changes_nothing() {
    let mut f = filter(8);
    assert_eq!(f.seed(&[]), 0);
    assert!(f.is_empty());
}
