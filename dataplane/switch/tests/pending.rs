//! Specification of the pending table: forwarded requests awaiting the
//! issuer, fixed capacity, O(1) match and removal.

use std::collections::VecDeque;
use switch::hash::Seed;
use switch::pending::{
    PendingConfig, PendingConfigError, PendingEntry, PendingError, PendingKey, PendingSlot,
    PendingTable, ReversalState,
};
use switch::ParticipantIdx;

fn table(capacity: u32) -> PendingTable {
    PendingTable::with_seed(
        PendingConfig {
            capacity,
            request_copy: 64,
        },
        Seed::fixed(7),
    )
    .unwrap()
}

/// The key of transaction number `n` toward issuer `issuer`.
fn key(issuer: u32, n: u64) -> PendingKey {
    let digits = format!("{n:012}");
    let d = digits.as_bytes();
    PendingKey {
        issuer: ParticipantIdx(issuer),
        stan: d[6..12].try_into().unwrap(),
        transmitted_at: *b"1127184500",
        rrn: d.try_into().unwrap(),
    }
}

fn entry(key: PendingKey, amount: u64) -> PendingEntry {
    PendingEntry {
        key,
        originator: ParticipantIdx(3),
        mti: *b"0200",
        amount,
        currency: 978,
        epoch: 12,
        started: 0,
        deadline: 5_000_000,
        ..Default::default()
    }
}

#[test]
fn a_forwarded_request_is_matched_by_its_echoed_fields_and_removed_once() {
    let mut t = table(4);
    let slot = t
        .insert(entry(key(1, 42), 1_500), b"0200...request")
        .unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t.find(&key(1, 42)), Some(slot));
    assert_eq!(t.request(slot), Some(&b"0200...request"[..]));

    let (removed_slot, removed) = t.remove(&key(1, 42)).unwrap();
    assert_eq!(removed_slot, slot);
    assert_eq!(removed.amount, 1_500);
    assert_eq!(removed.currency, 978);
    assert!(t.is_empty());
    assert_eq!(
        t.remove(&key(1, 42)),
        None,
        "a second response is unmatched"
    );
    assert_eq!(t.get(slot), None);
    assert_eq!(t.request(slot), None);
}

#[test]
fn the_same_fields_toward_another_issuer_are_a_different_transaction() {
    let mut t = table(4);
    let a = t.insert(entry(key(1, 42), 1), b"").unwrap();
    let b = t.insert(entry(key(2, 42), 2), b"").unwrap();
    assert_ne!(a, b);
    assert_eq!(t.remove(&key(2, 42)).unwrap().1.amount, 2);
    assert_eq!(t.find(&key(1, 42)), Some(a));
}

#[test]
fn a_full_table_refuses_instead_of_growing() {
    let mut t = table(3);
    for n in 0..3 {
        t.insert(entry(key(1, n), n), b"").unwrap();
    }
    assert!(t.is_full());
    assert_eq!(
        t.insert(entry(key(1, 99), 0), b""),
        Err(PendingError::Full { capacity: 3 })
    );
    // Freeing one slot makes room for exactly one more.
    t.remove(&key(1, 1)).unwrap();
    t.insert(entry(key(1, 99), 0), b"").unwrap();
    assert!(t.insert(entry(key(1, 100), 0), b"").is_err());
}

#[test]
fn the_same_key_cannot_be_pending_twice() {
    let mut t = table(4);
    let slot = t.insert(entry(key(1, 5), 1), b"").unwrap();
    assert_eq!(
        t.insert(entry(key(1, 5), 2), b""),
        Err(PendingError::AlreadyPending { slot })
    );
    assert_eq!(t.len(), 1);
}

#[test]
fn a_request_larger_than_its_copy_slot_is_refused_not_truncated() {
    let mut t = table(4);
    let big = [b'x'; 65];
    assert_eq!(
        t.insert(entry(key(1, 1), 1), &big),
        Err(PendingError::RequestTooLong { len: 65, max: 64 })
    );
    assert!(t.is_empty());
    let slot = t.insert(entry(key(1, 1), 1), &big[..64]).unwrap();
    assert_eq!(t.request(slot).unwrap().len(), 64);
}

#[test]
fn a_reused_slot_carries_only_the_new_request() {
    let mut t = table(1);
    let s1 = t.insert(entry(key(1, 1), 1), b"first request").unwrap();
    t.remove_slot(s1).unwrap();
    let s2 = t.insert(entry(key(1, 2), 2), b"second").unwrap();
    assert_eq!(s1, s2);
    assert_eq!(t.request(s2), Some(&b"second"[..]));
    assert_eq!(t.find(&key(1, 1)), None);
}

#[test]
fn an_entry_updated_in_place_keeps_its_slot_and_key() {
    let mut t = table(2);
    let slot = t.insert(entry(key(1, 1), 1), b"").unwrap();
    let e = t.get_mut(slot).unwrap();
    e.deadline += 1_000;
    e.reversal = ReversalState::Sent { attempts: 1 };
    assert_eq!(t.find(&key(1, 1)), Some(slot));
    assert_eq!(
        t.get(slot).unwrap().reversal,
        ReversalState::Sent { attempts: 1 }
    );
}

#[test]
fn slots_outside_the_table_are_simply_absent() {
    let mut t = table(2);
    assert_eq!(t.get(PendingSlot(2)), None);
    assert_eq!(t.request(PendingSlot(u32::MAX)), None);
    assert_eq!(t.remove_slot(PendingSlot(7)), None);
}

#[test]
fn out_of_range_sizes_are_configuration_errors() {
    let cfg = |capacity, request_copy| PendingConfig {
        capacity,
        request_copy,
    };
    assert_eq!(
        PendingTable::new(cfg(0, 64)).unwrap_err(),
        PendingConfigError::Capacity(0)
    );
    assert_eq!(
        PendingTable::new(cfg(8, 0)).unwrap_err(),
        PendingConfigError::RequestCopy(0)
    );
}

/// Ten million insert/remove pairs through a full 1M table leave the index
/// as short to probe as a fresh table holding the same keys: deletion leaves
/// no tombstones behind.
#[test]
fn ten_million_inserts_and_removes_leave_no_tombstone_build_up() {
    const CAPACITY: u32 = 1_000_000;
    const CHURN: u64 = 10_000_000;
    let mut t = PendingTable::with_seed(
        PendingConfig {
            capacity: CAPACITY,
            request_copy: 8,
        },
        Seed::fixed(11),
    )
    .unwrap();
    let mut live: VecDeque<u64> = VecDeque::with_capacity(CAPACITY as usize);
    for n in 0..u64::from(CAPACITY) {
        t.insert(entry(key(n as u32 % 7, n), n), b"").unwrap();
        live.push_back(n);
    }
    let fresh = t.probe_stats();
    // Oldest answered first, one new request per answer: the table stays full.
    for n in u64::from(CAPACITY)..u64::from(CAPACITY) + CHURN {
        let old = live.pop_front().unwrap();
        let (_, e) = t.remove(&key(old as u32 % 7, old)).unwrap();
        assert_eq!(e.amount, old);
        t.insert(entry(key(n as u32 % 7, n), n), b"").unwrap();
        live.push_back(n);
    }
    assert_eq!(t.len(), CAPACITY as usize);
    let churned = t.probe_stats();
    assert!(
        churned.mean_displacement <= fresh.mean_displacement * 1.1 + 0.05,
        "fresh {fresh:?}, after churn {churned:?}"
    );
    assert!(churned.max_displacement < 64, "{churned:?}");
    // Every live key is still found; a sample of answered ones are not.
    for &n in live.iter().step_by(97) {
        assert!(t.find(&key(n as u32 % 7, n)).is_some());
    }
    for n in (0..u64::from(CAPACITY)).step_by(1013) {
        assert!(t.find(&key(n as u32 % 7, n)).is_none());
    }
}

mod against_a_model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        Remove(u64),
        RemoveSlotOf(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct keys so that repeats, misses and full tables happen.
        prop_oneof![
            3 => (0u64..24).prop_map(Op::Insert),
            2 => (0u64..24).prop_map(Op::Remove),
            1 => (0u64..24).prop_map(Op::RemoveSlotOf),
        ]
    }

    proptest! {
        /// Any sequence of inserts and removals leaves the table holding
        /// exactly what a map holding the same operations would, never more
        /// than its capacity, each entry with its own request bytes.
        #[test]
        fn the_table_behaves_like_a_bounded_map(ops in prop::collection::vec(op(), 1..400)) {
            let mut t = table(16);
            let mut model: HashMap<u64, PendingSlot> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(n) => {
                        let request = n.to_le_bytes();
                        match t.insert(entry(key(1, n), n), &request) {
                            Ok(slot) => {
                                prop_assert!(!model.contains_key(&n));
                                prop_assert!(model.len() < 16);
                                prop_assert!(!model.values().any(|s| *s == slot), "slot handed out twice");
                                model.insert(n, slot);
                            }
                            Err(PendingError::AlreadyPending { slot }) => {
                                prop_assert_eq!(model.get(&n), Some(&slot));
                            }
                            Err(PendingError::Full { capacity }) => {
                                prop_assert_eq!(capacity, 16);
                                prop_assert_eq!(model.len(), 16);
                            }
                            Err(e) => prop_assert!(false, "unexpected {:?}", e),
                        }
                    }
                    Op::Remove(n) => {
                        let got = t.remove(&key(1, n)).map(|(s, e)| (s, e.amount));
                        prop_assert_eq!(got, model.remove(&n).map(|s| (s, n)));
                    }
                    Op::RemoveSlotOf(n) => {
                        let slot = model.remove(&n).unwrap_or(PendingSlot(15));
                        let removed = t.remove_slot(slot);
                        if let Some(e) = removed {
                            // Either the modelled key or whatever the model holds there.
                            model.retain(|_, s| *s != slot);
                            prop_assert_eq!(e.key.issuer, ParticipantIdx(1));
                        }
                    }
                }
                prop_assert_eq!(t.len(), model.len());
                for (n, slot) in &model {
                    prop_assert_eq!(t.find(&key(1, *n)), Some(*slot));
                    prop_assert_eq!(t.request(*slot), Some(&n.to_le_bytes()[..]));
                }
            }
        }
    }
}
