//! Specification of per-lcore counters: one writer per lcore, lock-free
//! readers, totals over lcores.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use switch::counters::{DropReason, Event, LcoreCounters, MtiClass, ResponseCode};

#[test]
fn an_lcore_counts_and_the_control_plane_reads_plain_numbers() {
    let (w, r) = LcoreCounters::new_pair();
    w.add(Event::Rx, 32);
    w.add(Event::Tx, 30);
    w.mti(MtiClass::of(b"0200"));
    w.mti(MtiClass::of(b"0201"));
    w.response(ResponseCode::of(b"91"));
    w.dropped(DropReason::UnknownSender);
    w.dropped_many(DropReason::BadChecksum, 2);
    w.set_pending(17);
    let s = r.snapshot();
    assert_eq!(s.event(Event::Rx), 32);
    assert_eq!(s.event(Event::Tx), 30);
    assert_eq!(s.mti(MtiClass::Financial0200), 2, "a repeat counts as 0200");
    assert_eq!(s.response(ResponseCode::IssuerUnavailable), 1);
    assert_eq!(s.dropped(DropReason::BadChecksum), 2);
    assert_eq!(s.dropped_total(), 3);
    assert_eq!(s.pending, 17);
}

#[test]
fn unknown_codes_count_as_other() {
    assert_eq!(MtiClass::of(b"0620"), MtiClass::Other);
    assert_eq!(MtiClass::of(b"1200"), MtiClass::Other);
    assert_eq!(MtiClass::of(b"0430"), MtiClass::ReversalAdvice0430);
    assert_eq!(ResponseCode::of(b"12"), ResponseCode::Other);
    assert_eq!(ResponseCode::of(b"63"), ResponseCode::SecurityViolation);
}

#[test]
fn totals_add_up_every_lcore() {
    let (w1, r1) = LcoreCounters::new_pair();
    let (w2, r2) = LcoreCounters::new_pair();
    w1.add(Event::Rx, 5);
    w2.add(Event::Rx, 7);
    w1.dropped(DropReason::Duplicate);
    w2.set_pending(3);
    w1.set_pending(4);
    let total = LcoreCounters::sum([&*r1, &*r2]);
    assert_eq!(total.event(Event::Rx), 12);
    assert_eq!(total.dropped(DropReason::Duplicate), 1);
    assert_eq!(total.pending, 7);
}

#[test]
fn every_counter_has_a_distinct_metric_name() {
    let (_w, r) = LcoreCounters::new_pair();
    let mut names = Vec::new();
    r.snapshot().for_each(|n, _| names.push(n.to_string()));
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count);
    assert!(names.contains(&"drop_unmatched_response".to_string()));
    assert!(names.contains(&"response_00".to_string()));
    assert_eq!(
        count,
        Event::COUNT + MtiClass::COUNT + ResponseCode::COUNT + DropReason::COUNT + 1
    );
}

#[test]
fn a_reader_on_another_thread_sees_counts_only_grow_and_finally_all_of_them() {
    const N: u64 = 200_000;
    let (w, r) = LcoreCounters::new_pair();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (r, done) = (Arc::clone(&r), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut last = 0;
            let mut reads = 0u64;
            while !done.load(Ordering::Acquire) || reads == 0 {
                let now = r.snapshot().event(Event::Rx);
                assert!(now >= last, "counter went back from {last} to {now}");
                assert!(now <= N);
                last = now;
                reads += 1;
            }
        })
    };
    for _ in 0..N {
        w.add(Event::Rx, 1);
    }
    done.store(true, Ordering::Release);
    reader.join().unwrap();
    assert_eq!(r.snapshot().event(Event::Rx), N);
}
