//! Specification: clearing windows. A cutoff flips the epoch while lcores
//! keep appending; nothing is lost and every transaction lands in exactly
//! the window its request was stamped with.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::*;
use journal::money::MoneyRecord;
use journal::{AppendError, Journal, JournalConfig, Producer};
use ledger::{CutoffSchedule, EpochBoard, ScheduleError, TxnKey};

fn append(p: &mut Producer, epoch: u32, r: &MoneyRecord<'_>) {
    loop {
        match p.append(epoch, r) {
            Ok(_) => return,
            Err(AppendError::Backpressure { .. }) => std::thread::yield_now(),
            Err(e) => panic!("append failed: {e}"),
        }
    }
}

#[test]
fn cutoffs_during_traffic_lose_nothing_and_each_transaction_lands_in_its_stamped_window() {
    const LCORES: usize = 2;
    const PER_LCORE: u32 = 20_000;
    const CUTOFFS: u32 = 6;
    let dir = tempfile::tempdir().unwrap();
    let report = Journal::recover(dir.path())
        .unwrap()
        .replay(|_| Ok::<(), std::io::Error>(()))
        .unwrap();
    let mut config = JournalConfig::new(dir.path(), LCORES as u16 + 1);
    config.ring_capacity = 1024;
    let (journal, mut producers) = Journal::start(config, &report).unwrap();
    let mut cp = producers.pop().unwrap();
    let board = Arc::new(EpochBoard::new(LCORES, ledger::FIRST_EPOCH));
    let progress = Arc::new(AtomicU32::new(0));
    let lcores: Vec<_> = producers
        .into_iter()
        .enumerate()
        .map(|(l, mut p)| {
            let board = Arc::clone(&board);
            let progress = Arc::clone(&progress);
            std::thread::spawn(move || {
                let mut stamped = Vec::with_capacity(PER_LCORE as usize);
                let step = PER_LCORE / (CUTOFFS + 2);
                for n in 0..PER_LCORE {
                    // Checkpoints keep the test deterministic on a busy
                    // machine: at each, wait until the cutoff it expects has
                    // happened (the other lcore keeps going meanwhile). The
                    // burst in progress keeps its old stamp, so records of
                    // the closed window follow the cutoff record.
                    let checkpoint = n / step;
                    if n % step == 0 && (1..=CUTOFFS).contains(&checkpoint) {
                        while board.current() < ledger::FIRST_EPOCH + checkpoint {
                            std::thread::yield_now();
                        }
                    }
                    // A burst of 32 shares one observed epoch.
                    let epoch = if n % 32 == 0 {
                        board.observe(l)
                    } else {
                        stamped.last().map_or(board.observe(l), |(_, e)| *e)
                    };
                    let k = key(10 + l as u32, n);
                    append(
                        &mut p,
                        epoch,
                        &approved(k, ISS, EUR, 1 + u64::from(n % 1000)),
                    );
                    stamped.push((k, epoch));
                    progress.fetch_add(1, Ordering::Relaxed);
                }
                stamped
            })
        })
        .collect();
    let flipper = {
        let board = Arc::clone(&board);
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            // Cut off at evenly spread points of the traffic, while it runs.
            let total = LCORES as u32 * PER_LCORE;
            for i in 0..CUTOFFS {
                while progress.load(Ordering::Relaxed) < (i + 1) * total / (CUTOFFS + 2) {
                    std::thread::yield_now();
                }
                let (closed, _) = board.flip();
                append(&mut cp, 0, &cutoff(closed, 1_000 + u64::from(i)));
            }
            cp
        })
    };
    let mut stamped: HashMap<TxnKey, u32> = HashMap::new();
    for l in lcores {
        stamped.extend(l.join().unwrap());
    }
    let _cp = flipper.join().unwrap();
    journal.shutdown().unwrap();

    let (recovered, _) = ledger::recover(dir.path()).unwrap();
    assert_eq!(recovered.open_epoch(), ledger::FIRST_EPOCH + CUTOFFS);
    let mut seen: HashMap<TxnKey, u32> = HashMap::new();
    for (epoch, window) in recovered.windows() {
        for e in &window.entries {
            assert!(
                seen.insert(e.key, *epoch).is_none(),
                "{:?} in two windows",
                e.key
            );
        }
    }
    assert_eq!(
        seen.len(),
        (LCORES as u32 * PER_LCORE) as usize,
        "nothing lost"
    );
    assert_eq!(
        seen, stamped,
        "every transaction is in the window it was stamped with"
    );
    let used: std::collections::BTreeSet<u32> = stamped.values().copied().collect();
    assert!(
        used.len() >= CUTOFFS as usize,
        "the cutoffs happened during traffic: windows {used:?}"
    );
    assert_eq!(recovered.late_entries(), 0);
}

#[test]
fn an_lcore_has_passed_a_flip_only_once_it_observed_the_new_epoch() {
    let board = EpochBoard::new(2, 1);
    assert_eq!(board.observe(0), 1);
    assert_eq!(board.observe(1), 1);
    assert!(!board.all_passed(1));
    assert_eq!(board.flip(), (1, 2));
    assert_eq!(board.current(), 2);
    board.observe(0);
    assert!(!board.all_passed(1), "lcore 1 may still stamp window 1");
    board.observe(1);
    assert!(board.all_passed(1));
}

#[test]
fn the_schedule_gives_the_next_cutoff_every_n_minutes_or_at_fixed_times_of_day() {
    let min = 60_000u64;
    let day = 1_440 * min;
    let base = 20_000 * day; // a UTC midnight
    let every: CutoffSchedule = "every 30m".parse().unwrap();
    assert_eq!(every.next_after(base), Some(base + 30 * min));
    assert_eq!(
        every.next_after(base + 29 * min + 59_999),
        Some(base + 30 * min)
    );
    assert_eq!(every.next_after(base + 30 * min), Some(base + 60 * min));
    let odd: CutoffSchedule = "every 700m".parse().unwrap();
    assert_eq!(
        odd.next_after(base + 1_401 * min),
        Some(base + day),
        "the day's last slot ends at midnight"
    );
    let at: CutoffSchedule = "at 18:00, 10:00,14:00".parse().unwrap();
    assert_eq!(
        at,
        CutoffSchedule::TimesOfDay {
            minutes: vec![600, 840, 1080]
        }
    );
    assert_eq!(at.next_after(base + 9 * 60 * min), Some(base + 600 * min));
    assert_eq!(at.next_after(base + 600 * min), Some(base + 840 * min));
    assert_eq!(
        at.next_after(base + 1_080 * min),
        Some(base + day + 600 * min)
    );
    assert_eq!(
        "command"
            .parse::<CutoffSchedule>()
            .unwrap()
            .next_after(base),
        None
    );
    assert!(matches!(
        "every 0m".parse::<CutoffSchedule>(),
        Err(ScheduleError::Syntax { .. })
    ));
    assert!(matches!(
        "at 24:00".parse::<CutoffSchedule>(),
        Err(ScheduleError::BadTime { .. })
    ));
    assert!(matches!(
        "at 9:00".parse::<CutoffSchedule>(),
        Err(ScheduleError::BadTime { .. })
    ));
    assert!(matches!(
        "hourly".parse::<CutoffSchedule>(),
        Err(ScheduleError::Syntax { .. })
    ));
}

#[test]
fn a_record_stamped_for_a_window_already_settling_is_booked_into_the_open_window_and_counted() {
    let mut l = ledger::Ledger::new();
    apply_all(
        &mut l,
        1,
        &[approved(key(ACQ, 1), ISS, EUR, 100), cutoff(1, 5)],
    );
    let run = ledger::settle(&l, 1).unwrap();
    apply_all(&mut l, 2, &run.journal_records().collect::<Vec<_>>());
    apply_all(&mut l, 1, &[approved(key(ACQ, 2), ISS, EUR, 40)]);
    assert_eq!(l.late_entries(), 1);
    assert_eq!(l.window(1).unwrap().entries.len(), 1);
    assert_eq!(l.window(2).unwrap().entries.len(), 1);
    assert_eq!(
        ledger::settle(&l, 1).unwrap().files,
        run.files,
        "the settled window's files do not change"
    );
}
