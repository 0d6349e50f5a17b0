//! Worker lcore launch/join and typed rings between lcores.

use rte::{launch, Burst, Eal, Mbuf, Mempool, Ring, RingMode};

fn eal(tag: &str) -> Eal {
    let mut args = rte::test_eal_args(tag);
    args.push("-l".into());
    args.push("0-1".into());
    Eal::init(&args).expect("EAL with two lcores")
}

#[test]
fn closure_runs_on_a_worker_lcore_and_returns_its_value() {
    let eal = eal("launch");
    let worker = *eal.worker_lcores().first().expect("one worker lcore");
    assert_ne!(worker, eal.main_lcore());
    let h = launch(worker, rte::LcoreId::current).unwrap();
    assert_eq!(
        h.join().unwrap(),
        worker,
        "ran on the lcore it was launched on"
    );
    let h = launch(worker, || -> u32 { panic!("boom") }).unwrap();
    let err = h.join().unwrap_err().to_string();
    assert!(
        err.contains("boom"),
        "a panic comes back as an error: {err}"
    );
    let h2 = launch(worker, || 7).unwrap();
    assert_eq!(h2.join().unwrap(), 7, "the lcore is reusable after a panic");
}

#[test]
fn spsc_ring_hands_mbufs_between_lcores_in_order_without_leaks() {
    const N: u64 = 200_000;
    let eal = eal("ring");
    let pool = Mempool::create(&eal, "handoff", 4095, 64, 2176, -1).unwrap();
    let (mut tx, mut rx) = Ring::create::<Mbuf>(&eal, "handoff", 1024, RingMode::Spsc).unwrap();
    assert!(
        tx.try_clone().is_none(),
        "an SPSC producer cannot be cloned"
    );
    let worker = eal.worker_lcores()[0];
    let consumer = launch(worker, move || {
        let mut burst = Burst::new();
        let mut expect = 0u64;
        while expect < N {
            rx.dequeue_burst(&mut burst);
            for m in burst.drain() {
                let seq = u64::from_le_bytes(m.data()[..8].try_into().unwrap());
                if seq != expect {
                    return Err(format!("got {seq}, expected {expect}"));
                }
                expect += 1;
            }
        }
        Ok(expect)
    })
    .unwrap();
    let mut burst = Burst::new();
    let mut seq = 0u64;
    while seq < N || !burst.is_empty() {
        if burst.is_empty() {
            let n = (N - seq).min(32) as usize;
            pool.alloc_bulk(&mut burst, n).unwrap();
            for m in burst.as_mut_slice() {
                m.set_len(8).unwrap();
                m.data_mut().copy_from_slice(&seq.to_le_bytes());
                seq += 1;
            }
        }
        tx.enqueue_burst(&mut burst);
    }
    assert_eq!(consumer.join().unwrap(), Ok(N));
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn ring_of_boxes_and_dropping_a_full_ring_frees_its_items() {
    let eal = eal("boxes");
    let pool = Mempool::create(&eal, "boxes", 255, 0, 2176, -1).unwrap();
    let (mut p, mut c) = Ring::create::<Box<u64>>(&eal, "boxes", 4, RingMode::Mpsc).unwrap();
    let mut p2 = p.try_clone().expect("MPSC producers clone");
    for i in 0..4u64 {
        p.enqueue(Box::new(i)).unwrap();
    }
    assert_eq!(
        p2.enqueue(Box::new(99)).unwrap_err(),
        Box::new(99),
        "a full ring gives the item back"
    );
    assert_eq!(*c.dequeue().unwrap(), 0);
    assert_eq!(c.len(), 3);

    let (mut mp, mc) = Ring::create::<Mbuf>(&eal, "leftover", 16, RingMode::Spsc).unwrap();
    for _ in 0..10 {
        mp.enqueue(pool.alloc().unwrap()).unwrap();
    }
    assert_eq!(pool.in_use(), 10);
    drop(mp);
    drop(mc);
    assert_eq!(pool.in_use(), 0, "a dropped ring returns its mbufs");
}
