//! Reserve check + hold on the lcore, and one hot participant hit from two
//! lcores at once.
//!
//! `cargo bench -p ledger --bench reserve -- --warm-up-time 1 --measurement-time 3`
//!
//! Prints ns per message for: the escrow debit alone; the switch hook's
//! check + approved outcome (what the lcore does per money-moving message);
//! and the same on two threads hitting one account, against a mutex-guarded
//! account as the serialising baseline. "Does not serialise" means two
//! threads take about as long for N messages each as one thread for N.

use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use journal::money::{MoneyRecord, ReserveMovement};
use ledger::hooks::LcoreMoney;
use ledger::{
    AccountKey, CoarseClock, EscrowBoard, LcoreEscrow, Ledger, RecordMeta, Refiller, ReserveAccount,
};
use switch::pipeline::rules::Family;
use switch::pipeline::{MoneyHooks, MoneyRequest};
use switch::ParticipantIdx;

const HOT: AccountKey = AccountKey {
    participant: 1,
    currency: 978,
};

/// A board with one hot account funded far beyond any run, plus 999 other
/// accounts so the look-up is not a one-entry table.
fn board(lcores: usize) -> Arc<EscrowBoard> {
    let mut ledger = Ledger::new();
    for p in 1..=1_000u32 {
        let r = MoneyRecord::Deposit(ReserveMovement {
            participant: p,
            currency: 978,
            amount: u64::MAX / 4,
            reference: u64::from(p),
        });
        ledger.apply(RecordMeta::default(), &r).unwrap();
    }
    let board = Arc::new(EscrowBoard::new(lcores, 4_096).unwrap());
    Refiller::new(Arc::clone(&board)).refill(&ledger).unwrap();
    board
}

fn hooks(board: &Arc<EscrowBoard>, lcore: usize) -> LcoreMoney {
    LcoreMoney::new(
        board.lcore(lcore).unwrap(),
        Arc::new(CoarseClock::new(0)),
        60_000,
    )
}

const REQ: MoneyRequest = MoneyRequest {
    acquirer: ParticipantIdx(1),
    issuer: ParticipantIdx(2),
    family: Family::Authorisation,
    amount: 12_345,
    currency: 978,
};

#[inline]
fn message(h: &mut LcoreMoney) {
    black_box(h.check(black_box(&REQ)));
    MoneyHooks::outcome(h, &REQ, *b"00");
}

/// This thread's nanoseconds on a CPU and waiting for one (schedstat).
fn sched() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut it = s.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// What a parallel run took: wall time, and per thread its time on a CPU
/// and its time waiting for one.
struct Run {
    wall: Duration,
    cpu_ns: Vec<u64>,
    wait_ns: Vec<u64>,
}

/// `threads` threads doing `n` messages each, started together.
fn parallel(threads: usize, n: u64, work: impl Fn(usize, u64) + Sync) -> Run {
    let barrier = Barrier::new(threads + 1);
    let mut cpu_ns = vec![0; threads];
    let mut wait_ns = vec![0; threads];
    let start = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let (c0, w0) = sched();
                    work(t, n);
                    let (c1, w1) = sched();
                    (c1 - c0, w1 - w0)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for (t, h) in handles.into_iter().enumerate() {
            let (c, w) = h.join().unwrap();
            cpu_ns[t] = c;
            wait_ns[t] = w;
        }
        start
    });
    Run {
        wall: start.elapsed(),
        cpu_ns,
        wait_ns,
    }
}

impl Run {
    /// Mean on-CPU nanoseconds per message per thread.
    fn cpu_per_message(&self, n: u64) -> f64 {
        self.cpu_ns.iter().sum::<u64>() as f64 / self.cpu_ns.len() as f64 / n as f64
    }
    /// How much of the wall time both threads were running at once
    /// (1.0: fully overlapped; 0.0: they took turns).
    fn overlap(&self) -> f64 {
        let wall = self.wall.as_nanos() as f64;
        let busy: f64 = self.cpu_ns.iter().map(|c| *c as f64).sum();
        ((busy - wall) / wall).clamp(0.0, 1.0)
    }
}

fn escrow_loop(e: &mut LcoreEscrow, n: u64) {
    for _ in 0..n {
        if e.reserve(black_box(HOT), black_box(12_345)).is_err() {
            black_box(());
        }
    }
}

/// One lcore alone, then two lcores on the same hot account.
fn two_lcores(n: u64) -> (f64, Run) {
    let b = board(2);
    let mut hs: Vec<Mutex<LcoreMoney>> = (0..2).map(|l| Mutex::new(hooks(&b, l))).collect();
    let one = {
        let h = hs[0].get_mut().unwrap();
        let (c0, _) = sched();
        for _ in 0..n {
            message(h);
        }
        (sched().0 - c0) as f64 / n as f64
    };
    // Each thread owns its lcore's hooks (the mutex is only the hand-over
    // into the thread, taken once, outside the loop).
    let hs = &hs;
    let two = parallel(2, n, |t, n| {
        let mut h = hs[t].lock().unwrap();
        for _ in 0..n {
            message(&mut h);
        }
    });
    (one, two)
}

/// The serialising baseline: one mutex-guarded account.
fn mutex_two(n: u64) -> (f64, Run) {
    let account = Mutex::new(ReserveAccount {
        reserve_balance: i128::MAX / 4,
        ..ReserveAccount::default()
    });
    let debit = |a: &Mutex<ReserveAccount>| {
        let mut g = a.lock().unwrap();
        if g.check_debit(black_box(12_345)).is_ok() {
            g.holds += 12_345;
        }
    };
    let (c0, _) = sched();
    for _ in 0..n {
        debit(&account);
    }
    let one = (sched().0 - c0) as f64 / n as f64;
    let two = parallel(2, n, |_, n| {
        for _ in 0..n {
            debit(&account);
        }
    });
    (one, two)
}

fn summary() {
    const N: u64 = 20_000_000;
    let b = board(1);
    let mut e = b.lcore(0).unwrap();
    let start = Instant::now();
    escrow_loop(&mut e, N);
    let escrow_ns = start.elapsed().as_nanos() as f64 / N as f64;
    let mut h = hooks(&board(1), 0);
    let start = Instant::now();
    for _ in 0..N {
        message(&mut h);
    }
    let hook_ns = start.elapsed().as_nanos() as f64 / N as f64;
    let (one, two) = two_lcores(N);
    let (m_one, m_two) = mutex_two(N / 4);
    println!("reserve: escrow debit alone             {escrow_ns:6.1} ns/op (wall)");
    println!(
        "reserve: check + hold (hook, 1 lcore)   {hook_ns:6.1} ns/op (wall)   target <= 50 ns: {}",
        if hook_ns <= 50.0 { "met" } else { "NOT met" }
    );
    println!(
        "reserve: one hot account from 2 lcores: {:6.1} ns on CPU per message per lcore vs {one:.1} alone (x{:.2}); threads overlapped {:.0}% of {:.2} s wall, waited {:.2} s for a CPU",
        two.cpu_per_message(N),
        two.cpu_per_message(N) / one,
        two.overlap() * 100.0,
        two.wall.as_secs_f64(),
        two.wait_ns.iter().sum::<u64>() as f64 / 1e9
    );
    println!(
        "reserve: mutex baseline from 2 threads: {:6.1} ns on CPU per message per thread vs {m_one:.1} alone (x{:.2}); overlapped {:.0}%",
        m_two.cpu_per_message(N / 4),
        m_two.cpu_per_message(N / 4) / m_one,
        m_two.overlap() * 100.0
    );
}

fn benches(c: &mut Criterion) {
    let b = board(2);
    let mut e = b.lcore(0).unwrap();
    c.bench_function("escrow_reserve_hot_account", |bch| {
        bch.iter(|| e.reserve(black_box(HOT), black_box(12_345)).is_ok())
    });
    let mut h = hooks(&b, 1);
    c.bench_function("check_and_hold_per_message", |bch| {
        bch.iter(|| message(&mut h))
    });
    c.bench_function("hot_account_two_lcores_per_message", |bch| {
        bch.iter_custom(|iters| {
            let b = board(2);
            let hs: Vec<Mutex<LcoreMoney>> = (0..2).map(|l| Mutex::new(hooks(&b, l))).collect();
            parallel(2, iters, |t, n| {
                let mut h = hs[t].lock().unwrap();
                for _ in 0..n {
                    message(&mut h);
                }
            })
            .wall
        })
    });
}

criterion_group!(group, benches);

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
    group();
    Criterion::default().configure_from_args().final_summary();
}
